package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/store"
)

// memStore is an in-memory Store, to tell the loop's own cost from SQLite's.
type memStore struct {
	mu   sync.Mutex
	id   int64
	msgs map[string][]store.Message
}

func (m *memStore) AppendMessage(ctx context.Context, msg store.Message) (store.Message, error) {
	out, err := m.AppendMessages(ctx, []store.Message{msg})
	if err != nil {
		return store.Message{}, err
	}
	return out[0], nil
}

func (m *memStore) AppendMessages(ctx context.Context, ms []store.Message) ([]store.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.msgs == nil {
		m.msgs = map[string][]store.Message{}
	}
	out := make([]store.Message, len(ms))
	for i, msg := range ms {
		m.id++
		msg.ID, msg.CreatedAt = m.id, time.Now()
		m.msgs[msg.SessionID] = append(m.msgs[msg.SessionID], msg)
		out[i] = msg
	}
	return out, nil
}

func (m *memStore) Messages(ctx context.Context, id string, f store.SessionFilter) ([]store.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]store.Message(nil), m.msgs[id]...), nil
}

// instantModel answers at once: a call of the no-op tool until the request holds callsPerTurn
// tool results, then a one-word answer.
func instantModel(tb testing.TB, callsPerTurn int) *httptest.Server {
	sse := func(chunks ...string) []byte {
		var b bytes.Buffer
		for _, c := range chunks {
			fmt.Fprintf(&b, "data: %s\n\n", c)
		}
		b.WriteString("data: [DONE]\n\n")
		return b.Bytes()
	}
	callReply := sse(roleChunk(), callDelta(0, "call_x", "noop", `{"a":1}`), finishChunk("tool_calls"))
	finalReply := sse(roleChunk(), textChunk("done"), finishChunk("stop"))
	toolRole := []byte(`"role":"tool"`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		if bytes.Count(body, toolRole) >= callsPerTurn {
			w.Write(finalReply)
		} else {
			w.Write(callReply)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkLoopOverhead measures what the loop costs per tool call, apart from the model's
// thinking and the tool's work: the model is a loopback server answering at once with one call
// of a no-op tool. Each op is one tool call: the request that asked for it (HTTP, SSE decoding,
// accumulation), committing the assistant and tool messages, running the call through the
// concurrency machinery, and sending the grown conversation back. Turns hold 10 calls and then
// a final answer, whose cost (and the user message's) is spread over the 10.
func BenchmarkLoopOverhead(b *testing.B) {
	const callsPerTurn = 10
	noop := Tool{Name: "noop", Call: func(ctx context.Context, args []byte) ([]byte, error) { return []byte(`{"ok":true}`), nil }}
	for _, bc := range []struct {
		name string
		st   func(b *testing.B) (Store, func() store.Session)
	}{
		{"sqlite", func(b *testing.B) (Store, func() store.Session) {
			db := openStore(b)
			return db, func() store.Session { return newSession(b, db) }
		}},
		{"memstore", func(b *testing.B) (Store, func() store.Session) {
			n := 0
			return &memStore{}, func() store.Session {
				n++
				return store.Session{ID: fmt.Sprint("s", n), Source: "cli", Model: "m"}
			}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			srv := instantModel(b, callsPerTurn)
			st, session := bc.st(b)
			a, err := New(Config{BaseURL: srv.URL + "/v1", Model: "m", MaxIterations: callsPerTurn + 1}, []Tool{noop}, st)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			calls := 0
			for calls < b.N {
				b.StopTimer()
				s := session()
				b.StartTimer()
				if _, err := a.Run(ctx, s, "go", nil); err != nil {
					b.Fatal(err)
				}
				calls += callsPerTurn
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(calls), "ns/toolcall")
		})
	}
}
