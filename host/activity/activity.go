// Package activity records what plugins do with their capabilities: every HTTP request, file
// opened, env or kv key used and command run, with denials and limit hits, attributed to the
// plugin, tool and session. The wasm host hands each event to a [Sink] on the call's hot path;
// a [Recorder] queues them (bounded: when the queue is full events are counted and dropped, never
// waited for) and writes them to the store in batches from one goroutine.
package activity

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/hermes-agent/hermes/store"
)

// Event is one capability use. See store.Activity for what each field holds.
type Event = store.Activity

// Outcomes of an event.
const (
	OK      = "ok"
	Denied  = "denied"
	Limit   = "limit"
	Failed  = "error"
	Dropped = "dropped"
)

// Sink receives events. Record must not block and must not keep e's strings beyond what it
// stores; the wasm host calls it from inside a plugin's call.
type Sink interface {
	Record(e Event)
}

type sessionKey struct{}

// WithSession returns ctx carrying the session a tool call belongs to.
func WithSession(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, sessionKey{}, id)
}

// SessionOf is the session WithSession put in ctx, or "".
func SessionOf(ctx context.Context) string {
	id, _ := ctx.Value(sessionKey{}).(string)
	return id
}

// Store is where a Recorder writes.
type Store interface {
	AppendActivity(ctx context.Context, events []store.Activity, keepPerPlugin int) error
}

// Defaults of a Recorder.
const (
	DefaultQueue = 4096 // events waiting to be written, across all plugins
	maxBatch     = 512  // events written in one transaction
)

// Recorder is a Sink that writes to a Store asynchronously. Safe for concurrent use.
type Recorder struct {
	st        Store
	keep      int
	logger    *slog.Logger
	queue     chan Event
	flushReq  chan chan struct{}
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	dropped map[string]int // per plugin, since the last write
}

var _ Sink = (*Recorder)(nil)

// NewRecorder starts a recorder keeping keepPerPlugin events per plugin (the store's default
// when <= 0), with room for queue events in flight (DefaultQueue when <= 0). Close it to write
// what is queued.
func NewRecorder(st Store, keepPerPlugin, queue int, logger *slog.Logger) *Recorder {
	if queue <= 0 {
		queue = DefaultQueue
	}
	if logger == nil {
		logger = slog.Default()
	}
	r := &Recorder{st: st, keep: keepPerPlugin, logger: logger, queue: make(chan Event, queue),
		flushReq: make(chan chan struct{}), stop: make(chan struct{}), done: make(chan struct{}), dropped: map[string]int{}}
	go r.loop()
	return r
}

// Record queues e. When the queue is full the event is counted and dropped: a plugin flooding
// calls costs a counter, not memory; the count is written as a "dropped" event.
func (r *Recorder) Record(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	select {
	case r.queue <- e:
	default:
		r.mu.Lock()
		r.dropped[e.Plugin]++
		r.mu.Unlock()
	}
}

// Flush waits until every event queued before it was called is written.
func (r *Recorder) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	select {
	case r.flushReq <- ch:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued and stops the recorder. Events recorded afterwards are lost.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() { close(r.stop) })
	<-r.done
	return nil
}

func (r *Recorder) loop() {
	defer close(r.done)
	batch := make([]Event, 0, maxBatch)
	for {
		select {
		case e := <-r.queue:
			batch = r.drain(append(batch[:0], e))
		case ch := <-r.flushReq:
			r.drain(batch[:0])
			close(ch)
		case <-r.stop:
			r.drain(batch[:0])
			return
		}
	}
}

// drain writes batch and whatever is queued, maxBatch events at a time, and returns the
// emptied batch for reuse.
func (r *Recorder) drain(batch []Event) []Event {
	for {
	fill:
		for len(batch) < maxBatch {
			select {
			case e := <-r.queue:
				batch = append(batch, e)
			default:
				break fill
			}
		}
		batch = append(batch, r.takeDropped()...)
		if len(batch) == 0 {
			return batch
		}
		if err := r.st.AppendActivity(context.Background(), batch, r.keep); err != nil {
			r.logger.Warn("activity not recorded", "events", len(batch), "err", err)
		}
		full := len(batch) >= maxBatch
		batch = batch[:0]
		if !full {
			return batch
		}
	}
}

func (r *Recorder) takeDropped() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.dropped) == 0 {
		return nil
	}
	names := make([]string, 0, len(r.dropped))
	for name := range r.dropped {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]Event, 0, len(names))
	for _, name := range names {
		out = append(out, Event{Time: time.Now(), Plugin: name, Kind: "activity", Op: "dropped", Outcome: Dropped,
			Detail: fmt.Sprintf("%d events not recorded: the plugin used its capabilities faster than they could be written", r.dropped[name])})
		delete(r.dropped, name)
	}
	return out
}
