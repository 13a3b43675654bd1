package wasm

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestKillSwitch(t *testing.T) {
	t.Run("a call past its deadline is ended", func(t *testing.T) {
		k := newKillSwitch()
		k.arm(context.Background(), time.Now().Add(-time.Millisecond))
		<-k.done // the timer fires at once
		if !k.thrown() || !errors.Is(k.reason, context.DeadlineExceeded) {
			t.Fatalf("thrown %v, reason %v", k.thrown(), k.reason)
		}
	})
	t.Run("a timer that fired as its call returned spares the next call", func(t *testing.T) {
		// The first call's timer is not made to fire for real: with a deadline already past it
		// could run before disarm, and rightly end that call. Its late run is k.expire().
		k := newKillSwitch()
		k.arm(context.Background(), time.Now().Add(time.Hour))
		k.disarm()
		k.arm(context.Background(), time.Now().Add(time.Hour))
		k.fire() // what the first call's timer does if it runs late, during the next call
		if k.thrown() {
			t.Fatal("the next call was ended by the previous call's deadline")
		}
	})
	t.Run("a caller's cancellation reaches only its own call", func(t *testing.T) {
		k := newKillSwitch()
		first := k.arm(context.Background(), time.Now().Add(time.Hour))
		k.disarm()
		second := k.arm(context.Background(), time.Now().Add(time.Hour))
		k.cancel(first, context.Canceled)
		if k.thrown() {
			t.Fatal("a finished call's cancellation ended the next call")
		}
		k.cancel(second, context.Canceled)
		if !k.thrown() || !errors.Is(k.reason, context.Canceled) {
			t.Fatalf("thrown %v, reason %v", k.thrown(), k.reason)
		}
	})
	t.Run("a caller who gives up in a call's first millisecond ends it at the millisecond", func(t *testing.T) {
		k := newKillSwitch()
		caller, cancel := context.WithCancel(context.Background())
		k.arm(caller, time.Now().Add(time.Hour))
		cancel()
		<-k.done // the timer's first firing finds the caller gone
		if !errors.Is(k.reason, context.Canceled) {
			t.Fatalf("reason %v, want canceled", k.reason)
		}
	})
	t.Run("a caller who gives up later in a long call ends it at once", func(t *testing.T) {
		k := newKillSwitch()
		caller, cancel := context.WithCancel(context.Background())
		k.arm(caller, time.Now().Add(time.Hour))
		k.fire() // the first firing (the timer's own may come too): the caller is watched from now on
		k.mu.Lock()
		watched := k.unwatch != nil
		k.mu.Unlock()
		if !watched {
			t.Fatal("a call past its first millisecond does not watch its caller")
		}
		cancel()
		<-k.done
		if !errors.Is(k.reason, context.Canceled) {
			t.Fatalf("reason %v, want canceled", k.reason)
		}
	})
	t.Run("a call that ended stops watching its caller", func(t *testing.T) {
		k := newKillSwitch()
		caller, cancel := context.WithCancel(context.Background())
		defer cancel()
		k.arm(caller, time.Now().Add(time.Hour))
		k.fire()
		k.disarm()
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.unwatch != nil || k.caller != context.Background() {
			t.Fatal("the ended call's caller is still watched or held")
		}
	})
	t.Run("no call running, nothing to end", func(t *testing.T) {
		k := newKillSwitch()
		k.fire()
		if k.thrown() {
			t.Fatal("thrown with no call running")
		}
	})
}

type probeKey struct{}

func TestCallCtx(t *testing.T) {
	in := &instance{kill: newKillSwitch()}
	c := &callCtx{in: in}
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), probeKey{}, "v"), time.Now().Add(time.Minute))
	defer cancel()
	own := time.Now().Add(time.Hour)
	call := in.kill.arm(parent, own)
	if c.Value(instanceKey{}) != in || c.Value(probeKey{}) != "v" {
		t.Fatal("values: want the instance and the caller's")
	}
	if d, _ := c.Deadline(); !d.Before(own) {
		t.Fatalf("deadline %v: want the caller's earlier one", d)
	}
	if c.Err() != nil {
		t.Fatalf("err %v before the switch is thrown", c.Err())
	}
	in.kill.disarm()
	if c.Value(probeKey{}) != nil || c.Value(instanceKey{}) != in {
		t.Fatal("between calls the context kept the last caller's values")
	}
	call = in.kill.arm(parent, own)
	in.kill.cancel(call, context.Canceled)
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after the switch was thrown")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Fatalf("err %v, want canceled", c.Err())
	}
}

// TestCallCtxOutlivesItsCall reads a call's context from another goroutine, as net/http's
// connection goroutines do after a host function returned, while the instance serves more
// calls: under -race, what a call changes must not be read unlocked.
func TestCallCtxOutlivesItsCall(t *testing.T) {
	in := &instance{kill: newKillSwitch()}
	c := &callCtx{in: in}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				if v := c.Value(probeKey{}); v != nil {
					if _, ok := v.(int); !ok {
						t.Errorf("value %v: neither nil (between calls) nor a caller's", v)
						return
					}
				}
				if _, ok := c.Deadline(); !ok {
					t.Error("no deadline")
					return
				}
				if err := c.Err(); err != nil {
					t.Errorf("err %v: no call was ended", err)
					return
				}
			}
		}
	}()
	for i := range 1000 {
		caller := context.WithValue(context.Background(), probeKey{}, i)
		in.kill.arm(caller, time.Now().Add(time.Hour))
		in.kill.disarm()
	}
	close(stop)
	<-done
}
