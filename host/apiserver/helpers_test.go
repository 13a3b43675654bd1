package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/hermes-agent/hermes/host/agent/modeltest"
	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/store"
)

// scriptedModel is an OpenAI-compatible chat-completions server on 127.0.0.1 playing the
// model: "count: TEXT" asks for textstats.count on TEXT, "run: CMD" asks for the terminal,
// "hold" waits until released (or the request goes away); a tool result is answered with
// "The tool says: RESULT"; anything else is echoed. Every reply reports usage of
// scriptedPromptTokens and scriptedCompletionTokens.
type scriptedModel struct {
	*httptest.Server
	entered chan string   // the last message's text, as each request arrives
	release chan struct{} // closed: held requests answer

	mu       sync.Mutex
	requests int
}

func newScriptedModel(t testing.TB) *scriptedModel {
	m := &scriptedModel{entered: make(chan string, 1024), release: make(chan struct{})}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(func() {
		m.releaseAll()
		m.Close()
	})
	return m
}

func (m *scriptedModel) releaseAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	select {
	case <-m.release:
	default:
		close(m.release)
	}
}

func (m *scriptedModel) serve(w http.ResponseWriter, r *http.Request) {
	msgs, ok := modeltest.ReadRequest(w, r)
	if !ok {
		return
	}
	m.mu.Lock()
	m.requests++
	m.mu.Unlock()
	last := msgs[len(msgs)-1]
	text := last.Text()
	var firstUser string
	for _, msg := range msgs {
		if s, _ := msg.Content.(string); msg.Role == "user" && firstUser == "" {
			firstUser = s
		}
	}
	m.entered <- text

	stream := modeltest.NewStream(w)
	chunk, say, callTool := stream.Chunk, stream.Say, stream.CallTool
	hold := func() {
		chunk(map[string]any{"role": "assistant", "content": "holding "}, nil)
		select {
		case <-m.release:
			say("released")
		case <-r.Context().Done():
		}
	}
	switch {
	case last.Role == "tool" && strings.HasPrefix(firstUser, "count: hold"):
		hold()
	case last.Role == "tool":
		say("The tool ", "says: ", text)
	case strings.HasPrefix(text, "count: "):
		callTool("textstats__count", map[string]string{"text": strings.TrimPrefix(text, "count: ")})
	case strings.HasPrefix(text, "run: "):
		callTool("terminal", map[string]string{"command": strings.TrimPrefix(text, "run: ")})
	case strings.HasPrefix(text, "hold"):
		hold()
	default:
		say("echo: ", text)
	}
	stream.Usage(scriptedPromptTokens, scriptedCompletionTokens)
	stream.Done()
}

// The token counts the scripted model reports for each request.
const (
	scriptedPromptTokens     = 11
	scriptedCompletionTokens = 3
)

// waitEntered waits for the model to receive a request whose last message starts with prefix.
func (m *scriptedModel) waitEntered(t testing.TB, prefix string) {
	t.Helper()
	modeltest.WaitEntered(t, m.entered, prefix)
}

// fixture is a real store, a real registry with the textstats plugin (C, sdk/c/example), a real
// agent talking to the scripted model, and the API server on 127.0.0.1.
type fixture struct {
	db    *store.DB
	model *scriptedModel
	srv   *Server
	url   string
	stop  context.CancelFunc
	done  chan error
}

type fixtureOpts struct {
	cfg      Config
	terminal sandbox.Backend // nil: no terminal tool
}

func openDB(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newFixture(t testing.TB, db *store.DB, o fixtureOpts) *fixture {
	t.Helper()
	if db == nil {
		db = openDB(t)
	}
	ctx := context.Background()
	// The store may be shared by fixtures (one database, two servers): add the plugin once.
	h := registrytest.New(t, registrytest.Options{DB: db, Logger: quietLogger()})
	reg := h.Registry
	if _, err := reg.Get(ctx, "textstats"); err != nil {
		h.Add(t, "sdk/c/example")
	}
	tools, err := agent.PluginTools(reg, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o.terminal != nil {
		tools = append(tools, agent.TerminalTool(o.terminal, nil, 30*time.Second))
	}
	model := newScriptedModel(t)
	a, err := agent.New(agent.Config{BaseURL: model.URL + "/v1", Model: "scripted", BaseBackoff: time.Millisecond, MaxRetries: -1}, tools, db)
	if err != nil {
		t.Fatal(err)
	}
	sc := o.cfg
	sc.Model = "scripted"
	sc.Profile = "default"
	if sc.Logger == nil {
		sc.Logger = quietLogger()
	}
	srv, err := New(sc, a, db)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	f := &fixture{db: db, model: model, srv: srv, url: "http://" + ln.Addr().String(), stop: stop, done: make(chan error, 1)}
	go func() { f.done <- srv.Serve(serveCtx, ln) }()
	t.Cleanup(func() {
		stop()
		model.releaseAll()
		<-f.done
	})
	return f
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// shutdown ends Serve and returns its error.
func (f *fixture) shutdown(t testing.TB) error {
	t.Helper()
	f.stop()
	select {
	case err := <-f.done:
		f.done <- err // for the cleanup
		return err
	case <-time.After(2 * time.Minute):
		t.Fatal("Serve did not return after its context ended")
		return nil
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request; headers are pairs of name and value.
func (f *fixture) do(t testing.TB, method, path, body string, headers ...string) response {
	t.Helper()
	r, err := f.try(method, path, body, headers...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return r
}

// try is do for other goroutines than the test's: it reports a failed exchange instead of
// ending the test from the wrong goroutine.
func (f *fixture) try(method, path, body string, headers ...string) (response, error) {
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("read the response: %w", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}, nil
}

// async sends a request from another goroutine; a failed exchange becomes a response with
// status 0 and the error as its body.
func (f *fixture) async(method, path, body string, headers ...string) <-chan response {
	out := make(chan response, 1)
	go func() {
		r, err := f.try(method, path, body, headers...)
		if err != nil {
			r = response{body: err.Error()}
		}
		out <- r
	}()
	return out
}

func chatBody(stream bool, messages ...map[string]any) string {
	b, _ := json.Marshal(map[string]any{"model": "hermes", "stream": stream, "messages": messages})
	return string(b)
}

func user(text string) map[string]any { return map[string]any{"role": "user", "content": text} }

// answer decodes a non-streamed completion's content.
func answer(t testing.TB, r response) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var c struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(r.body), &c); err != nil || len(c.Choices) != 1 || c.Object != "chat.completion" ||
		c.Choices[0].Message.Role != "assistant" || c.Choices[0].FinishReason != "stop" {
		t.Fatalf("not a chat completion (%v): %s", err, r.body)
	}
	return c.Choices[0].Message.Content
}

// roles summarises a session's messages as "user assistant+call tool assistant".
func roles(t testing.TB, db *store.DB, sessionID string) string {
	t.Helper()
	ms, err := db.Messages(context.Background(), sessionID, store.SessionFilter{Source: Source})
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, m := range ms {
		r := m.Role
		if len(m.ToolCalls) > 0 {
			r += "+call"
		}
		parts = append(parts, r)
	}
	return strings.Join(parts, " ")
}

// consistent checks that every tool call of a session has exactly one result.
func consistent(t testing.TB, db *store.DB, sessionID string) {
	t.Helper()
	ms, err := db.Messages(context.Background(), sessionID, store.SessionFilter{Source: Source})
	if err != nil {
		t.Fatal(err)
	}
	calls, results := map[string]int{}, map[string]int{}
	for _, m := range ms {
		for _, c := range m.ToolCalls {
			calls[c.ID]++
		}
		if m.Role == store.RoleTool {
			results[m.ToolCallID]++
		}
	}
	for id := range calls {
		if results[id] != 1 {
			t.Errorf("session %s: tool call %s has %d results", sessionID, id, results[id])
		}
	}
	for id := range results {
		if calls[id] == 0 {
			t.Errorf("session %s: tool result for unknown call %s", sessionID, id)
		}
	}
}

// streamedText is the content of a streamed completion.
func streamedText(t testing.TB, r response) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var b strings.Builder
	for _, line := range strings.Split(r.body, "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil || len(c.Choices) != 1 {
			t.Fatalf("not a chunk (%v): %s", err, data)
		}
		b.WriteString(c.Choices[0].Delta.Content)
	}
	return b.String()
}
