package wasm

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context of one call into an instance: the caller's values and cancellation,
// the plugin's deadline, and the instance itself (for the host functions). It replaces
// context.WithTimeout + context.WithValue on every call (five allocations and a timer) with
// one small allocation.
//
// A callCtx is immutable once made, so whatever a host function handed it to may keep reading
// it after the call returned (net/http's connection goroutines do). What it shares with later
// calls is the instance's kill switch: its Done channel is the instance's, closed only when a
// deadline or the caller's cancellation ends a call — and an instance whose call was ended that
// way is discarded, never called again, so the channel never needs to be made anew.
type callCtx struct {
	parent   context.Context
	in       *instance
	deadline time.Time
}

var _ context.Context = (*callCtx)(nil)

func (c *callCtx) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *callCtx) Done() <-chan struct{} { return c.in.kill.done }

// Err is nil until the instance's kill switch is thrown, then why it was: a call that ran past
// its deadline (context.DeadlineExceeded) or whose caller gave up (the caller's error).
func (c *callCtx) Err() error {
	select {
	case <-c.in.kill.done:
		return c.in.kill.reason
	default:
		return nil
	}
}

func (c *callCtx) Value(key any) any {
	if key == (instanceKey{}) {
		return c.in
	}
	return c.parent.Value(key)
}

// killSwitch ends the call an instance is running, for good: wazero (CloseOnContextDone) watches
// the call's Done channel and stops the guest at its next function entry or loop back-edge,
// and host functions' outside work (network, store, sandbox) sees the context ended.
type killSwitch struct {
	done  chan struct{}
	timer *time.Timer // fires at the running call's deadline; made once, Reset per call

	mu       sync.Mutex
	call     uint64    // which call is running (counts up), 0 when none
	calls    uint64    // calls started so far
	deadline time.Time // the running call's
	reason   error     // set before done is closed
}

func newKillSwitch() *killSwitch {
	k := &killSwitch{done: make(chan struct{})}
	k.timer = time.AfterFunc(time.Hour, k.expire)
	k.timer.Stop()
	return k
}

// arm starts a call that must end by deadline and returns its number; disarm ends it.
func (k *killSwitch) arm(deadline time.Time) uint64 {
	k.mu.Lock()
	k.calls++
	k.call, k.deadline = k.calls, deadline
	k.mu.Unlock()
	k.timer.Reset(time.Until(deadline))
	return k.calls
}

func (k *killSwitch) disarm() {
	k.timer.Stop()
	k.mu.Lock()
	k.call = 0
	k.mu.Unlock()
}

// expire is the timer's: it throws the switch if the running call is past its deadline. (A
// timer that fired as its call returned may run during the next call; that call is not late.)
func (k *killSwitch) expire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.call != 0 && !time.Now().Before(k.deadline) {
		k.throwLocked(context.DeadlineExceeded)
	}
}

// cancel throws the switch for call, if it is still the one running: its caller gave up.
func (k *killSwitch) cancel(call uint64, reason error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.call == call {
		k.throwLocked(reason)
	}
}

func (k *killSwitch) throwLocked(reason error) {
	if k.reason != nil {
		return
	}
	k.reason = reason
	close(k.done)
}

// thrown reports whether a call of this instance was ended by its deadline or its caller.
func (k *killSwitch) thrown() bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}
