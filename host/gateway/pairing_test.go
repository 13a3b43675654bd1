package gateway

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPairingFailures(t *testing.T) {
	now := time.Now()
	t.Run("a user's tries stop at the limit until the window passes", func(t *testing.T) {
		var f pairingFailures
		for i := range MaxPairingFailures {
			if !f.attempt("u", now) {
				t.Fatalf("try %d refused", i+1)
			}
		}
		if f.attempt("u", now) {
			t.Fatal("a try past the limit was allowed")
		}
		if !f.attempt("other", now) {
			t.Fatal("another user was refused")
		}
		if !f.attempt("u", now.Add(PairingWindow)) {
			t.Fatal("refused after the window passed")
		}
	})
	t.Run("a right code forgets the user's failures", func(t *testing.T) {
		var f pairingFailures
		f.attempt("u", now)
		f.forget("u")
		if len(f.users) != 0 {
			t.Fatalf("still remembered: %v", f.users)
		}
	})
	t.Run("codes sent at once are counted before any is tried", func(t *testing.T) {
		var f pairingFailures
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if f.attempt("u", now) {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != MaxPairingFailures {
			t.Fatalf("%d of 100 concurrent tries allowed, want %d", allowed.Load(), MaxPairingFailures)
		}
	})
	t.Run("a table full of recent failures refuses strangers it does not know", func(t *testing.T) {
		var f pairingFailures
		for i := range maxTrackedStrangers {
			if !f.attempt(fmt.Sprint("flood", i), now) {
				t.Fatalf("flood user %d refused before the table was full", i)
			}
		}
		if f.attempt("newcomer", now) {
			t.Fatal("a stranger was allowed a try nobody would count")
		}
		if !f.attempt("flood0", now) {
			t.Fatal("a remembered user under its limit was refused")
		}
		later := now.Add(PairingWindow)
		if !f.attempt("newcomer", later) {
			t.Fatal("refused after the flood's failures aged out")
		}
		if len(f.users) != 1 {
			t.Fatalf("%d users remembered after the window, want only the newcomer", len(f.users))
		}
	})
	t.Run("bounded however many users fail", func(t *testing.T) {
		var f pairingFailures
		for i := range 4 * maxTrackedStrangers {
			at := now.Add(time.Duration(i) * time.Second)
			for range MaxPairingFailures + 3 {
				f.attempt(fmt.Sprint("u", i), at)
			}
			if len(f.users) > maxTrackedStrangers {
				t.Fatalf("%d users remembered, bound %d", len(f.users), maxTrackedStrangers)
			}
			if n := len(f.users[fmt.Sprint("u", i)]); n > MaxPairingFailures {
				t.Fatalf("%d failures remembered for one user, bound %d", n, MaxPairingFailures)
			}
		}
	})
}
