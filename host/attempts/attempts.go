// Package attempts limits the failed attempts a key may make in a window (a client guessing
// the dashboard's password, a chat user guessing a pairing code), so that guessing costs the
// guesser and never locks out anyone else, in memory that stays bounded however many keys a
// flood comes from.
//
// A key may make max attempts in a window that starts at its first; from then until the window
// ends it is refused. An attempt is counted when it is tried, before anyone knows whether it
// is right, and forgotten when it was (Forget): attempts made at once (concurrent requests,
// messages an adapter hands over concurrently) cannot all pass the check before any is counted.
package attempts

import (
	"container/list"
	"sync"
	"time"
)

// WhenFull is what a Limiter whose table holds entries open windows does with a key it does
// not hold.
type WhenFull int

const (
	// DropOldest drops the oldest window to make room: a flood never locks another key out.
	DropOldest WhenFull = iota
	// RefuseNew refuses the key until a window ends: a flood buys no attempts nobody counts.
	RefuseNew
)

// Limiter is safe for concurrent use.
type Limiter struct {
	max     int
	window  time.Duration
	entries int
	full    WhenFull

	mu    sync.Mutex
	byKey map[string]*list.Element // of *window
	order *list.List               // oldest window first: every window is as long, and starts at push
}

type window struct {
	key   string
	start time.Time
	count int
}

// New returns a Limiter of max attempts per window for at most entries keys at once.
func New(max int, window time.Duration, entries int, full WhenFull) *Limiter {
	return &Limiter{max: max, window: window, entries: entries, full: full, byKey: map[string]*list.Element{}, order: list.New()}
}

// Try counts an attempt of key at now, unless key is refused. ok says the attempt may go
// ahead, and counts as failed until Forget; left is how many more key may make in its window
// after this one. When it is refused, wait is how long it still is.
func (l *Limiter) Try(key string, now time.Time) (ok bool, left int, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	if e, held := l.byKey[key]; held {
		w := e.Value.(*window)
		if w.count >= l.max {
			return false, 0, w.start.Add(l.window).Sub(now)
		}
		w.count++
		return true, l.max - w.count, 0
	}
	for l.order.Len() >= l.entries {
		oldest := l.order.Front()
		if l.full == RefuseNew {
			return false, 0, oldest.Value.(*window).start.Add(l.window).Sub(now)
		}
		l.order.Remove(oldest)
		delete(l.byKey, oldest.Value.(*window).key)
	}
	l.byKey[key] = l.order.PushBack(&window{key: key, start: now, count: 1})
	return true, l.max - 1, 0
}

// Forget clears key's attempts: the last one was right.
func (l *Limiter) Forget(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.byKey[key]; ok {
		l.order.Remove(e)
		delete(l.byKey, key)
	}
}

// Tracked is how many keys the table holds.
func (l *Limiter) Tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byKey)
}

// sweep drops the keys whose window has ended; the caller holds mu.
func (l *Limiter) sweep(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		w := e.Value.(*window)
		if now.Sub(w.start) < l.window {
			return
		}
		l.order.Remove(e)
		delete(l.byKey, w.key)
	}
}
