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
		k.arm(time.Now().Add(-time.Millisecond))
		<-k.done // the timer fires at once
		if !k.thrown() || !errors.Is(k.reason, context.DeadlineExceeded) {
			t.Fatalf("thrown %v, reason %v", k.thrown(), k.reason)
		}
	})
	t.Run("a timer that fired as its call returned spares the next call", func(t *testing.T) {
		// The first call's timer is not made to fire for real: with a deadline already past it
		// could run before disarm, and rightly end that call. Its late run is k.expire().
		k := newKillSwitch()
		k.arm(time.Now().Add(time.Hour))
		k.disarm()
		k.arm(time.Now().Add(time.Hour))
		k.expire() // what the first call's timer does if it runs late, during the next call
		if k.thrown() {
			t.Fatal("the next call was ended by the previous call's deadline")
		}
	})
	t.Run("a caller's cancellation reaches only its own call", func(t *testing.T) {
		k := newKillSwitch()
		first := k.arm(time.Now().Add(time.Hour))
		k.disarm()
		second := k.arm(time.Now().Add(time.Hour))
		k.cancel(first, context.Canceled)
		if k.thrown() {
			t.Fatal("a finished call's cancellation ended the next call")
		}
		k.cancel(second, context.Canceled)
		if !k.thrown() || !errors.Is(k.reason, context.Canceled) {
			t.Fatalf("thrown %v, reason %v", k.thrown(), k.reason)
		}
	})
	t.Run("no call running, nothing to end", func(t *testing.T) {
		k := newKillSwitch()
		k.expire()
		if k.thrown() {
			t.Fatal("thrown with no call running")
		}
	})
}

type probeKey struct{}

func TestCallCtx(t *testing.T) {
	in := &instance{kill: newKillSwitch()}
	parent, cancel := context.WithDeadline(context.WithValue(context.Background(), probeKey{}, "v"), time.Now().Add(time.Minute))
	defer cancel()
	own := time.Now().Add(time.Hour)
	c := &callCtx{parent: parent, in: in, deadline: own}
	if c.Value(instanceKey{}) != in || c.Value(probeKey{}) != "v" {
		t.Fatal("values: want the instance and the caller's")
	}
	if d, _ := c.Deadline(); !d.Before(own) {
		t.Fatalf("deadline %v: want the caller's earlier one", d)
	}
	if c.Err() != nil {
		t.Fatalf("err %v before the switch is thrown", c.Err())
	}
	call := in.kill.arm(own)
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
