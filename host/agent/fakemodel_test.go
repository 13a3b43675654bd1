package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/store"
)

// A scripted OpenAI-compatible server: each POST /v1/chat/completions is answered by the next
// step of the script, after the step's check has looked at the request.

type reqToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type reqMessage struct {
	Role       string        `json:"role"`
	Content    any           `json:"content"`
	ToolCalls  []reqToolCall `json:"tool_calls"`
	ToolCallID string        `json:"tool_call_id"`
}

func (m reqMessage) text() string {
	s, _ := m.Content.(string)
	return s
}

type reqTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	} `json:"function"`
}

type chatRequest struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Messages []reqMessage `json:"messages"`
	Tools    []reqTool    `json:"tools"`
	at       time.Time
	auth     string
}

func (r chatRequest) toolNames() []string {
	var out []string
	for _, t := range r.Tools {
		out = append(out, t.Function.Name)
	}
	return out
}

func (r chatRequest) last() reqMessage { return r.Messages[len(r.Messages)-1] }

type step struct {
	check   func(t *testing.T, req chatRequest)
	status  int               // non-200: answered with body
	header  map[string]string // extra response headers
	body    string            // for a non-200 status, or a JSON answer with json set
	json    bool              // answer body as application/json
	chunks  []string          // SSE data payloads
	noDone  bool              // end without "data: [DONE]"
	cut     bool              // abort the connection after the chunks
	hold    bool              // after the chunks, wait for the client to go away
	gap     time.Duration     // between chunks
	started chan struct{}     // closed when the step starts answering
}

type fakeModel struct {
	t     *testing.T
	mu    sync.Mutex
	steps []step
	reqs  []chatRequest
	srv   *httptest.Server
}

func newFakeModel(t *testing.T, steps ...step) *fakeModel {
	f := &fakeModel{t: t, steps: steps}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeModel) url() string { return f.srv.URL + "/v1" }

func (f *fakeModel) requests() []chatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chatRequest(nil), f.reqs...)
}

func (f *fakeModel) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		f.t.Errorf("request body is not JSON: %v\n%s", err, body)
	}
	req.at = time.Now()
	req.auth = r.Header.Get("Authorization")
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, req)
	var s step
	ok := n < len(f.steps)
	if ok {
		s = f.steps[n]
	}
	f.mu.Unlock()
	if !ok {
		f.t.Errorf("request %d: the script has only %d steps", n+1, len(f.steps))
		http.Error(w, `{"error":{"message":"script exhausted"}}`, http.StatusBadRequest)
		return
	}
	if s.check != nil {
		s.check(f.t, req)
	}
	if s.started != nil {
		close(s.started)
	}
	for k, v := range s.header {
		w.Header().Set(k, v)
	}
	if s.status != 0 && s.status != http.StatusOK {
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(s.status)
		io.WriteString(w, s.body)
		return
	}
	if s.json {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, s.body)
		return
	}
	if !req.Stream {
		f.t.Errorf("request %d is not streaming", n+1)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/event-stream")
	}
	w.Header().Set("Cache-Control", "no-cache")
	fl := w.(http.Flusher)
	for i, c := range s.chunks {
		if i > 0 && s.gap > 0 {
			time.Sleep(s.gap)
		}
		fmt.Fprintf(w, "data: %s\n\n", c)
		fl.Flush()
	}
	switch {
	case s.cut:
		panic(http.ErrAbortHandler) // closes the connection mid-stream
	case s.hold:
		<-r.Context().Done()
		return
	case !s.noDone:
		io.WriteString(w, "data: [DONE]\n\n")
		fl.Flush()
	}
}

// Chunk builders.

func chunkJSON(choices ...map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "test-model", "choices": choices,
	})
	return string(b)
}

func deltaChoice(delta map[string]any, finish any) map[string]any {
	return map[string]any{"index": 0, "delta": delta, "finish_reason": finish}
}

func roleChunk() string {
	return chunkJSON(deltaChoice(map[string]any{"role": "assistant", "content": ""}, nil))
}
func textChunk(s string) string {
	return chunkJSON(deltaChoice(map[string]any{"content": s}, nil))
}

// usageChunk is the last chunk a server sends when asked for usage: no choices, the counts.
func usageChunk(prompt, completion int) string {
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "test-model", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
	})
	return string(b)
}

func (s step) withUsage(prompt, completion int) step {
	s.chunks = append(s.chunks, usageChunk(prompt, completion))
	return s
}

func finishChunk(reason string) string { return chunkJSON(deltaChoice(map[string]any{}, reason)) }

func callDelta(index int, id, name, args string) string {
	tc := map[string]any{"index": index, "function": map[string]any{"arguments": args}}
	if id != "" {
		tc["id"] = id
		tc["type"] = "function"
		tc["function"].(map[string]any)["name"] = name
	}
	return chunkJSON(deltaChoice(map[string]any{"tool_calls": []any{tc}}, nil))
}

// answer streams text in pieces of a few characters, then stops.
func answer(text string) step {
	chunks := []string{roleChunk()}
	for len(text) > 0 {
		n := min(len(text), 5)
		chunks = append(chunks, textChunk(text[:n]))
		text = text[n:]
	}
	return step{chunks: append(chunks, finishChunk("stop"))}
}

type call struct{ id, name, args string }

// callTools streams tool calls the usual way: id and name first, the arguments in two pieces.
func callTools(calls ...call) step {
	chunks := []string{roleChunk()}
	for i, c := range calls {
		half := len(c.args) / 2
		chunks = append(chunks, callDelta(i, c.id, c.name, c.args[:half]), callDelta(i, "", "", c.args[half:]))
	}
	return step{chunks: append(chunks, finishChunk("tool_calls"))}
}

func (s step) checking(check func(t *testing.T, req chatRequest)) step {
	s.check = check
	return s
}

// Fixtures.

func openStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSession(t testing.TB, db *store.DB) store.Session {
	t.Helper()
	s, err := db.CreateSession(context.Background(), "cli", "default", "test-model", "test")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func messages(t testing.TB, db *store.DB, s store.Session) []store.Message {
	t.Helper()
	ms, err := db.Messages(context.Background(), s.ID, store.SessionFilter{Source: s.Source})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// roles summarises messages as "user assistant+call tool assistant".
func roles(ms []store.Message) string {
	var parts []string
	for _, m := range ms {
		r := m.Role
		if len(m.ToolCalls) > 0 {
			r += fmt.Sprintf("+%dcall", len(m.ToolCalls))
		}
		parts = append(parts, r)
	}
	return strings.Join(parts, " ")
}

type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) kinds() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Kind == EventText && len(out) > 0 && out[len(out)-1] == EventText {
			continue
		}
		out = append(out, ev.Kind)
	}
	return strings.Join(out, " ")
}

func (e *events) text() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		if ev.Kind == EventText {
			b.WriteString(ev.Text)
		}
	}
	return b.String()
}

func (e *events) of(kind string) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.all {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// fixedTool returns a tool answering result (or failing with err).
func fixedTool(name, result string, err error) Tool {
	return Tool{
		Name: name, Description: "test tool " + name,
		Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}}}`),
		Call: func(ctx context.Context, args []byte) ([]byte, error) {
			if err != nil {
				return nil, err
			}
			return []byte(result), nil
		},
	}
}

func newAgent(t testing.TB, f *fakeModel, cfg Config, db Store, tools ...Tool) *Agent {
	t.Helper()
	cfg.BaseURL = f.url()
	if cfg.Model == "" {
		cfg.Model = "test-model"
	}
	if cfg.BaseBackoff == 0 {
		cfg.BaseBackoff = time.Millisecond
	}
	a, err := New(cfg, tools, db)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
