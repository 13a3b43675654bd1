package wasm

import (
	"context"
	"sync"
	"time"
)

// callCtx is the context of an instance's calls: the running call's caller (its values and
// cancellation), the plugin's deadline, and the instance itself (for the host functions). Each
// instance has one, made with it, so a call allocates no context: context.WithTimeout +
// context.WithValue per call were five allocations and a timer, a fresh small context one.
//
// Whatever a host function handed the context to may keep reading it after the call returned
// (net/http's connection goroutines do), while the next call starts: so what changes per call,
// the caller and the deadline, is kept in the kill switch under its lock, never in fields read
// without it. Between calls the context carries the instance's values only. Its Done channel is
// the instance's kill switch, closed only when a deadline or the caller's cancellation ends a
// call — and an instance whose call was ended that way is discarded, never called again, so the
// channel never needs to be made anew.
type callCtx struct {
	in *instance
}

var _ context.Context = (*callCtx)(nil)

func (c *callCtx) Deadline() (time.Time, bool) {
	caller, deadline := c.in.kill.running()
	if d, ok := caller.Deadline(); ok && d.Before(deadline) {
		return d, true
	}
	return deadline, true
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
	caller, _ := c.in.kill.running()
	return caller.Value(key)
}

// killSwitch ends the call an instance is running, for good: wazero (CloseOnContextDone) watches
// the call's Done channel and stops the guest at its next function entry or loop back-edge,
// and host functions' outside work (network, store, sandbox) sees the context ended.
//
// One timer, made with the instance, serves every call: it fires at the call's deadline, or
// first after watchCallerAfter when the caller can give up. Only a call still running then
// watches its caller's context (context.AfterFunc, three allocations); nearly all calls end
// sooner, having checked their caller once, at their start, and allocated nothing for it. A
// caller who gives up during a call's first millisecond ends it at the millisecond.
type killSwitch struct {
	done  chan struct{}
	timer *time.Timer // made once, Reset per call

	mu       sync.Mutex
	call     uint64          // which call is running (counts up), 0 when none
	calls    uint64          // calls started so far
	caller   context.Context // the running call's; context.Background() between calls
	deadline time.Time       // the running call's (the last one's between calls)
	unwatch  func() bool     // stops watching the running call's caller, once it is watched
	reason   error           // set before done is closed
}

// watchCallerAfter is how long a call runs before its caller's context is watched.
const watchCallerAfter = time.Millisecond

func newKillSwitch() *killSwitch {
	k := &killSwitch{done: make(chan struct{}), caller: context.Background()}
	k.timer = time.AfterFunc(time.Hour, k.fire)
	k.timer.Stop()
	return k
}

// arm starts caller's call, which must end by deadline, and returns its number; disarm ends it.
func (k *killSwitch) arm(caller context.Context, deadline time.Time) uint64 {
	k.mu.Lock()
	k.calls++
	k.call, k.caller, k.deadline = k.calls, caller, deadline
	k.mu.Unlock()
	wait := time.Until(deadline)
	if caller.Done() != nil {
		wait = min(wait, watchCallerAfter)
	}
	k.timer.Reset(wait)
	return k.calls
}

func (k *killSwitch) disarm() {
	k.timer.Stop()
	k.mu.Lock()
	unwatch := k.unwatch
	k.call, k.caller, k.unwatch = 0, context.Background(), nil
	k.mu.Unlock()
	if unwatch != nil {
		unwatch()
	}
}

// running returns the running call's caller and deadline.
func (k *killSwitch) running() (context.Context, time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.caller, k.deadline
}

// fire is the timer's: it throws the switch if the running call is past its deadline or its
// caller gave up, and otherwise watches the caller for the rest of the call and waits for the
// deadline. (A timer that fired as its call returned may run during the next call; that call
// is checked as its own, which it would have been at its own first millisecond.)
func (k *killSwitch) fire() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.call == 0 {
		return
	}
	if !time.Now().Before(k.deadline) {
		k.throwLocked(context.DeadlineExceeded)
		return
	}
	if err := k.caller.Err(); err != nil {
		k.throwLocked(err)
		return
	}
	if k.unwatch == nil && k.caller.Done() != nil {
		call, caller := k.call, k.caller
		k.unwatch = context.AfterFunc(caller, func() { k.cancel(call, caller.Err()) })
	}
	k.timer.Reset(time.Until(k.deadline))
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
