package wasm

import (
	"context"
	"sync"
	"time"
)

// callContext is the context.Context a call runs under: the caller's values and cancellation,
// the plugin's timeout, and the instance, which host functions find in it (instanceKey).
//
// Each instance has one, reused by every call, because context.WithTimeout and WithValue
// cost six allocations a call and a timer started and stopped each time, which was half of
// hermes' own cost of a warm call. It can be reused because it is ended at most once: a
// call that runs out of time or is canceled ends the context (its done channel closes, and
// wazero, which watches it, stops the guest), and an instance whose context was ended is
// never used again (see live).
type callContext struct {
	in    *instance
	done  chan struct{}
	timer *time.Timer // ends the context when the plugin's timeout passes; reset by every call

	// Per call, set by start before the guest runs and read by host functions on the call's
	// goroutine.
	parent     context.Context
	deadline   time.Time
	stopParent func() bool // stops watching parent's cancellation; nil if it cannot be canceled

	mu  sync.Mutex
	err error // why the context ended: context.DeadlineExceeded or the parent's error
}

var _ context.Context = (*callContext)(nil)

func newCallContext(in *instance) *callContext {
	return &callContext{in: in, done: make(chan struct{}), parent: context.Background()}
}

// start begins a call under parent that may run for timeout.
func (c *callContext) start(parent context.Context, timeout time.Duration) {
	c.parent = parent
	c.deadline = time.Now().Add(timeout)
	if c.timer == nil {
		c.timer = time.AfterFunc(timeout, func() { c.end(context.DeadlineExceeded) })
	} else {
		c.timer.Reset(timeout)
	}
	if parent.Done() != nil {
		c.stopParent = context.AfterFunc(parent, func() { c.end(parent.Err()) })
	}
}

// finish ends the call's watch on time and on its parent.
func (c *callContext) finish() {
	c.timer.Stop()
	if c.stopParent != nil {
		c.stopParent()
		c.stopParent = nil
	}
	c.parent = context.Background() // do not keep the caller's context alive
}

// end ends the context with err, once; later ends are ignored.
func (c *callContext) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// live reports whether the context has not been ended: a timer or a cancellation that fired
// as a call returned leaves the context ended, and the instance must then be discarded.
func (c *callContext) live() bool { return c.Err() == nil }

func (c *callContext) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *callContext) Done() <-chan struct{} { return c.done }

func (c *callContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *callContext) Value(key any) any {
	if _, ok := key.(instanceKey); ok {
		return c.in
	}
	return c.parent.Value(key)
}
