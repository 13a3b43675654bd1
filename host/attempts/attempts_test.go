package attempts

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)

func TestTriesStopAtTheLimitUntilTheWindowEnds(t *testing.T) {
	l := New(5, time.Minute, 16, DropOldest)
	for i := range 5 {
		ok, left, _ := l.Try("u", t0)
		if !ok || left != 4-i {
			t.Fatalf("try %d: ok %v, left %d", i+1, ok, left)
		}
	}
	if ok, _, wait := l.Try("u", t0.Add(time.Second)); ok || wait != 59*time.Second {
		t.Fatalf("a try past the limit: ok %v, wait %v; want refused for 59s", ok, wait)
	}
	if ok, _, _ := l.Try("other", t0); !ok {
		t.Fatal("another key was refused")
	}
	if ok, _, _ := l.Try("u", t0.Add(time.Minute)); !ok {
		t.Fatal("refused once the window ended")
	}
}

func TestForgetClearsAKey(t *testing.T) {
	l := New(5, time.Minute, 16, DropOldest)
	l.Try("u", t0)
	l.Forget("u")
	if n := l.Tracked(); n != 0 {
		t.Fatalf("%d keys tracked after Forget", n)
	}
}

// Attempts made at once are counted as they are tried, so no more than max pass.
func TestConcurrentTriesAreCounted(t *testing.T) {
	l := New(5, time.Minute, 16, RefuseNew)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if ok, _, _ := l.Try("u", t0); ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 5 {
		t.Fatalf("%d of 100 concurrent tries allowed, want 5", allowed.Load())
	}
}

// DropOldest: a flood of keys drops the oldest windows and never holds more than the table's
// size; once every window ended the table is empty.
func TestDropOldestStaysBounded(t *testing.T) {
	const entries = 4096
	l := New(10, time.Minute, entries, DropOldest)
	at := t0
	for i := range 3 * entries {
		l.Try("client-"+strconv.Itoa(i), at)
		at = at.Add(time.Microsecond)
	}
	if n, m := l.Tracked(), l.order.Len(); n != entries || m != entries {
		t.Errorf("after %d keys: %d in the map, %d in the list, want %d", 3*entries, n, m, entries)
	}
	if _, ok := l.byKey["client-0"]; ok {
		t.Error("the oldest key was kept and a newer one dropped")
	}
	if _, ok := l.byKey["client-"+strconv.Itoa(3*entries-1)]; !ok {
		t.Error("the newest key was dropped")
	}
	l.Try("anyone", at.Add(time.Minute))
	if n := l.Tracked(); n != 1 {
		t.Errorf("once every window ended the limiter still tracks %d keys besides the new one", n-1)
	}
}

// RefuseNew: a table full of open windows refuses keys it does not hold, while a held key
// under its limit may go on; once the windows end there is room again.
func TestRefuseNewFailsClosed(t *testing.T) {
	const entries = 4096
	l := New(5, 10*time.Minute, entries, RefuseNew)
	for i := range entries {
		if ok, _, _ := l.Try(fmt.Sprint("flood", i), t0); !ok {
			t.Fatalf("flood key %d refused before the table was full", i)
		}
	}
	if ok, _, wait := l.Try("newcomer", t0.Add(time.Minute)); ok || wait != 9*time.Minute {
		t.Fatalf("a new key in a full table: ok %v, wait %v; want refused until the oldest window ends", ok, wait)
	}
	if ok, _, _ := l.Try("flood0", t0); !ok {
		t.Fatal("a held key under its limit was refused")
	}
	if ok, _, _ := l.Try("newcomer", t0.Add(10*time.Minute)); !ok {
		t.Fatal("refused after the flood's windows ended")
	}
	if n := l.Tracked(); n != 1 {
		t.Fatalf("%d keys tracked after the windows ended, want only the newcomer", n)
	}
}
