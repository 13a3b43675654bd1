package apiserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/sandbox/local"
	"github.com/hermes-agent/hermes/store"
)

const testKey = "sk-hermes-test-key-0123456789"

func TestAuth(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{cfg: Config{APIKey: testKey}})
	tests := []struct {
		name   string
		auth   string
		status int
	}{
		{"no header", "", http.StatusUnauthorized},
		{"wrong key", "Bearer sk-hermes-test-key-0123456780", http.StatusUnauthorized},
		{"prefix of the key", "Bearer sk-hermes-test", http.StatusUnauthorized},
		{"key with more after it", "Bearer " + testKey + "x", http.StatusUnauthorized},
		{"not bearer", "Basic " + testKey, http.StatusUnauthorized},
		{"bare key", testKey, http.StatusUnauthorized},
		{"right key", "Bearer " + testKey, http.StatusOK},
		{"scheme in lower case", "bearer " + testKey, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, req := range []struct{ method, path, body string }{
				{"GET", "/health", ""},
				{"GET", "/v1/models", ""},
				{"GET", "/v1/models/hermes", ""},
				{"POST", "/v1/chat/completions", chatBody(false, user("hello"))},
				{"GET", "/nope", ""},
			} {
				var headers []string
				if tt.auth != "" {
					headers = []string{"Authorization", tt.auth}
				}
				r := f.do(t, req.method, req.path, req.body, headers...)
				want := tt.status
				if want == http.StatusOK && req.path == "/nope" {
					want = http.StatusNotFound
				}
				if r.status != want {
					t.Fatalf("%s %s: status %d, want %d: %s", req.method, req.path, r.status, want, r.body)
				}
				if want == http.StatusUnauthorized {
					if r.header.Get(SessionHeader) != "" || strings.Contains(r.body, "hermes") || strings.Contains(r.body, "scripted") {
						t.Fatalf("a 401 said more than no: %v %s", r.header, r.body)
					}
				}
			}
		})
	}
	// Refused requests never reached the agent.
	sessions, err := f.db.ListSessions(context.Background(), store.SessionFilter{AllSources: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sessions) != 2 { // "right key" and "scheme in lower case"
		t.Fatalf("%d sessions, want 2", len(sessions))
	}
}

func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	f := newFixture(t, nil, fixtureOpts{cfg: Config{CORSOrigins: []string{app, "http://localhost:3000"}}})
	preflight := func(origin string) response {
		return f.do(t, http.MethodOptions, "/v1/chat/completions", "", "Origin", origin,
			"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type")
	}

	r := preflight(app)
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight from a listed origin: %d %v", r.status, r.header)
	}
	for _, origin := range []string{"https://evil.example.com", "https://app.example.com.evil.net", "http://app.example.com", "null"} {
		r := preflight(origin)
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: %d %v", origin, r.status, r.header)
		}
		// A request that needs no preflight is refused too: its side effect is the danger.
		r = f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("hello")), "Origin", origin)
		if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("POST from %s: %d %v", origin, r.status, r.header)
		}
	}
	r = f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("hello")), "Origin", app)
	if answer(t, r) != "echo: hello" || r.header.Get("Access-Control-Allow-Origin") != app ||
		!strings.Contains(r.header.Get("Access-Control-Expose-Headers"), SessionHeader) {
		t.Fatalf("POST from a listed origin: %v", r.header)
	}
	// Clients that are not browsers send no Origin and get no CORS headers.
	r = f.do(t, http.MethodGet, "/health", "")
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("GET without Origin: %d %v", r.status, r.header)
	}
	// A form post (text/plain needs no preflight) is refused before anything runs.
	r = f.do(t, http.MethodPost, "/v1/chat/completions", "", "Content-Type", "text/plain")
	if r.status != http.StatusUnsupportedMediaType {
		t.Fatalf("text/plain POST: %d", r.status)
	}

	// No wildcard unless written.
	star := newFixture(t, nil, fixtureOpts{cfg: Config{CORSOrigins: []string{"*"}}})
	r = star.do(t, http.MethodGet, "/health", "", "Origin", "https://anything.example")
	if r.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("with *: %v", r.header)
	}
	none := newFixture(t, nil, fixtureOpts{})
	r = none.do(t, http.MethodOptions, "/health", "", "Origin", app, "Access-Control-Request-Method", "GET")
	if r.status != http.StatusForbidden || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("no origins configured: %d %v", r.status, r.header)
	}
}

func TestParseOrigins(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		any     bool
		wantErr string
	}{
		{"", nil, false, ""},
		{" https://A.example.com , http://localhost:3000/ ", []string{"https://a.example.com", "http://localhost:3000"}, false, ""},
		{"*", nil, true, ""},
		{"app.example.com", nil, false, `"app.example.com" is not an origin`},
		{"https://app.example.com/path", nil, false, "is not an origin"},
		{"ftp://x.example", nil, false, "is not an origin"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, any, err := ParseOrigins(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || any != tt.any || strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("got %v %v %v", got, any, err)
			}
		})
	}
}

func TestBindRule(t *testing.T) {
	tests := []struct {
		host    string
		key     bool
		refused bool
	}{
		{"127.0.0.1", false, false},
		{"127.8.9.10", false, false},
		{"::1", false, false},
		{"[::1]", false, false},
		{"localhost", false, false},
		{"LOCALHOST", false, false},
		{"0.0.0.0", false, true},
		{"::", false, true},
		{"", false, true},
		{"192.168.1.5", false, true},
		{"myhost.example", false, true},
		{"localhost.evil.example", false, true},
		{"0.0.0.0", true, false},
		{"192.168.1.5", true, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s key=%v", tt.host, tt.key), func(t *testing.T) {
			err := CheckBind(tt.host, tt.key)
			if (err != nil) != tt.refused {
				t.Fatalf("CheckBind(%q, %v) = %v", tt.host, tt.key, err)
			}
			if err != nil && (!errors.Is(err, ErrPublicWithoutKey) || !strings.Contains(err.Error(), "API_SERVER_KEY") || !strings.Contains(err.Error(), "127.0.0.1")) {
				t.Fatalf("the refusal does not say why and what to do: %v", err)
			}
		})
	}
}

// TestHostHeader: without a key, a request whose Host is not a loopback name (a DNS-rebinding
// page) is refused.
func TestHostHeader(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{})
	req, _ := http.NewRequest(http.MethodGet, f.url+"/v1/models", nil)
	req.Host = "rebind.evil.example:8642"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("status %d", res.StatusCode)
	}
	req.Host = "localhost:8642"
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("localhost: status %d", res.StatusCode)
	}
	// With a key the Host does not matter: the key is the protection.
	keyed := newFixture(t, nil, fixtureOpts{cfg: Config{APIKey: testKey}})
	req, _ = http.NewRequest(http.MethodGet, keyed.url+"/v1/models", nil)
	req.Host = "api.example.com"
	req.Header.Set("Authorization", "Bearer "+testKey)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("with a key: status %d", res.StatusCode)
	}
}

func TestRequestValidation(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{cfg: Config{MaxBodyBytes: 4096}})
	tests := []struct {
		name    string
		body    string
		status  int
		mention string
	}{
		{"body too large", chatBody(false, user(strings.Repeat("x", 5000))), http.StatusRequestEntityTooLarge, "api.max_body_bytes"},
		{"not JSON", `{"messages":`, http.StatusBadRequest, "not a chat-completions JSON object"},
		{"no messages", `{"model":"hermes","messages":[]}`, http.StatusBadRequest, "messages is empty"},
		{"last is not user", chatBody(false, user("hi"), map[string]any{"role": "assistant", "content": "hello"}), http.StatusBadRequest, "end with the user message"},
		{"unknown role", chatBody(false, map[string]any{"role": "wizard", "content": "x"}, user("hi")), http.StatusBadRequest, `role "wizard"`},
		{"image part", chatBody(false, map[string]any{"role": "user", "content": []any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": "x"}}}}), http.StatusBadRequest, "text only"},
		{"empty user message", chatBody(false, user("  ")), http.StatusBadRequest, "empty"},
		{"unknown model", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, http.StatusNotFound, `use "hermes"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.do(t, http.MethodPost, "/v1/chat/completions", tt.body)
			var e apiError
			if json.Unmarshal([]byte(r.body), &e) != nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Fatalf("not an OpenAI error body: %s", r.body)
			}
			if r.status != tt.status || !strings.Contains(e.Error.Message, tt.mention) {
				t.Fatalf("status %d, want %d mentioning %q: %s", r.status, tt.status, tt.mention, e.Error.Message)
			}
		})
	}
	// The configured model's own name and text parts are accepted.
	r := f.do(t, http.MethodPost, "/v1/chat/completions", `{"model":"scripted","messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`)
	if got := answer(t, r); got != "echo: a\nb" {
		t.Fatalf("answer %q", got)
	}
	if r := f.do(t, http.MethodDelete, "/v1/chat/completions", ""); r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "POST" {
		t.Fatalf("DELETE: %d %v", r.status, r.header)
	}
	sessions, _ := f.db.ListSessions(context.Background(), store.SessionFilter{Source: Source})
	if len(sessions) != 1 {
		t.Fatalf("refused requests created sessions: %d", len(sessions))
	}
}

// TestToolCallThroughPlugin uses OpenAI's own Go client: the model asks for textstats.count,
// hermes runs the real WASM plugin, and the client gets the answer only.
func TestToolCallThroughPlugin(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{cfg: Config{APIKey: testKey}})
	client := openai.NewClient(option.WithBaseURL(f.url+"/v1"), option.WithAPIKey(testKey), option.WithMaxRetries(0))
	var header http.Header
	res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "hermes",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count: one two three")},
	}, option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		resp, err := next(r)
		if resp != nil {
			header = resp.Header
		}
		return resp, err
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Choices) != 1 || !strings.Contains(res.Choices[0].Message.Content, `"words":3`) || len(res.Choices[0].Message.ToolCalls) != 0 {
		t.Fatalf("reply: %+v", res)
	}
	id := header.Get(SessionHeader)
	if got := roles(t, f.db, id); got != "user assistant+call tool assistant" {
		t.Fatalf("stored: %s", got)
	}
	s, err := f.db.GetSession(context.Background(), id, store.SessionFilter{Source: Source})
	if err != nil || s.Source != "api" || s.Title != "count: one two three" {
		t.Fatalf("session %+v %v", s, err)
	}
	// Isolated from the CLI: its filter does not see it.
	if _, err := f.db.GetSession(context.Background(), id, store.SessionFilter{Source: "cli"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the CLI sees the API session: %v", err)
	}
}

func TestStreaming(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{})
	// OpenAI's client reads the stream.
	client := openai.NewClient(option.WithBaseURL(f.url+"/v1"), option.WithMaxRetries(0))
	stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "hermes",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("count: a b")},
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if chunks < 3 || len(acc.Choices) != 1 || acc.Choices[0].Message.Content != `The tool says: {"bytes":3,"lines":1,"words":2}` ||
		acc.Choices[0].FinishReason != "stop" {
		t.Fatalf("%d chunks, accumulated %+v", chunks, acc.Choices)
	}

	// The wire itself: event-stream, role first, the tool as a comment, [DONE] last.
	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/chat/completions", strings.NewReader(chatBody(true, user("count: x"))))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" || res.Header.Get(SessionHeader) == "" {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	var lines []string
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) < 4 || !strings.Contains(lines[0], `"role":"assistant"`) || lines[1] != ": tool textstats.count" ||
		lines[len(lines)-1] != "data: [DONE]" || !strings.Contains(lines[len(lines)-2], `"finish_reason":"stop"`) {
		t.Fatalf("stream:\n%s", strings.Join(lines, "\n"))
	}
	if got := roles(t, f.db, res.Header.Get(SessionHeader)); got != "user assistant+call tool assistant" {
		t.Fatalf("stored: %s", got)
	}
}

// TestHistoryAndContinuation: a client's earlier messages are stored with the session; the
// session header continues an API session, and only an API session.
func TestHistoryAndContinuation(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{})
	r := f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false,
		map[string]any{"role": "system", "content": "be brief"},
		user("first"),
		map[string]any{"role": "assistant", "content": "echo: first"},
		user("second")))
	if answer(t, r) != "echo: second" {
		t.Fatal(r.body)
	}
	id := r.header.Get(SessionHeader)
	if got := roles(t, f.db, id); got != "system user assistant user assistant" {
		t.Fatalf("stored: %s", got)
	}
	r = f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("third")), SessionHeader, id)
	if answer(t, r) != "echo: third" || r.header.Get(SessionHeader) != id {
		t.Fatalf("continue: %v %s", r.header, r.body)
	}
	if got := roles(t, f.db, id); got != "system user assistant user assistant user assistant" {
		t.Fatalf("stored after continuing: %s", got)
	}
	// History and the header together are ambiguous.
	r = f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("again"), user("fourth")), SessionHeader, id)
	if r.status != http.StatusBadRequest {
		t.Fatalf("history with the header: %d %s", r.status, r.body)
	}
	// A CLI session cannot be continued from the API.
	cli, err := f.db.CreateSession(context.Background(), "cli", "default", "scripted", "private")
	if err != nil {
		t.Fatal(err)
	}
	r = f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("hi")), SessionHeader, cli.ID)
	if r.status != http.StatusNotFound {
		t.Fatalf("continuing a CLI session: %d %s", r.status, r.body)
	}
	if ms, _ := f.db.Messages(context.Background(), cli.ID, store.SessionFilter{Source: "cli"}); len(ms) != 0 {
		t.Fatalf("the CLI session was written to: %v", ms)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{cfg: Config{MaxConcurrentRuns: 2}})
	held := []<-chan response{
		f.async(http.MethodPost, "/v1/chat/completions", chatBody(false, user("hold"))),
		f.async(http.MethodPost, "/v1/chat/completions", chatBody(false, user("hold"))),
	}
	f.model.waitEntered(t, "hold")
	f.model.waitEntered(t, "hold")
	r := f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("one more")))
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "api.max_concurrent_runs") {
		t.Fatalf("third run: %d %v %s", r.status, r.header, r.body)
	}
	// Cheap endpoints are not runs.
	if r := f.do(t, http.MethodGet, "/health", ""); r.status != http.StatusOK {
		t.Fatalf("health while busy: %d", r.status)
	}
	f.model.releaseAll()
	for _, result := range held {
		if got := answer(t, <-result); got != "holding released" {
			t.Fatalf("held run: %q", got)
		}
	}
	if got := answer(t, f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("after")))); got != "echo: after" {
		t.Fatalf("after the burst: %q", got)
	}
}

func TestRequestTimeout(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{cfg: Config{RequestTimeout: 300 * time.Millisecond}})
	r := f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("hold")))
	if r.status != http.StatusGatewayTimeout || !strings.Contains(r.body, "api.request_timeout") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// What was said is kept, a reply cut short marked as such.
	ms, err := f.db.Messages(context.Background(), r.header.Get(SessionHeader), store.SessionFilter{Source: Source})
	if err != nil || len(ms) == 0 || ms[0].Content != "hold" {
		t.Fatalf("stored %+v %v", ms, err)
	}
	for _, m := range ms[1:] {
		if !strings.HasSuffix(m.Content, "[interrupted]") {
			t.Fatalf("stored %+v", ms)
		}
	}
}

// TestDangerousCommands: a dangerous command reached from the API is never asked about; the
// policy alone decides.
func TestDangerousCommands(t *testing.T) {
	const cmd = "rm -rf ./victim"
	tests := []struct {
		policy  CommandPolicy
		approve bool // approved "always" beforehand
		runs    bool
	}{
		{PolicyDeny, false, false},
		{PolicyDeny, true, false},
		{PolicyApproved, false, false},
		{PolicyApproved, true, true},
		{PolicyUnsafeAllow, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s approved=%v", tt.policy, tt.approve), func(t *testing.T) {
			db := openDB(t)
			work := t.TempDir()
			victim := filepath.Join(work, "victim")
			if err := os.MkdirAll(victim, 0o755); err != nil {
				t.Fatal(err)
			}
			rules := classify.Rules{Home: t.TempDir()}
			if tt.approve {
				v := classify.Classify(cmd, rules)
				if v.Class != classify.Dangerous {
					t.Fatalf("%q is %s, the test needs a dangerous command", cmd, v.Class)
				}
				if _, err := db.AddApproval(context.Background(), v.Shape, "test"); err != nil {
					t.Fatal(err)
				}
			}
			backend := local.New(local.Config{Workdir: work}, Gate(tt.policy, rules, db))
			f := newFixture(t, db, fixtureOpts{terminal: backend})
			r := f.do(t, http.MethodPost, "/v1/chat/completions", chatBody(false, user("run: "+cmd)))
			got := answer(t, r)
			_, statErr := os.Stat(victim)
			ran := errors.Is(statErr, os.ErrNotExist)
			if ran != tt.runs {
				t.Fatalf("ran=%v, want %v; the model read: %s", ran, tt.runs, got)
			}
			if !tt.runs && (!strings.Contains(got, "denied") || !strings.Contains(got, "API session "+r.header.Get(SessionHeader))) {
				t.Fatalf("the refusal does not say why: %s", got)
			}
		})
	}
}

// TestShutdownLetsRunsFinish: after the server's context ends it takes no new connection, and
// a run in progress finishes within the grace period with its full answer.
func TestShutdownLetsRunsFinish(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{cfg: Config{ShutdownTimeout: 5 * time.Minute}})
	result := f.async(http.MethodPost, "/v1/chat/completions", chatBody(false, user("hold")))
	f.model.waitEntered(t, "hold")
	f.stop()
	// The listener closes at once; the run goes on.
	for {
		conn, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
		if err != nil {
			break
		}
		conn.Close()
		time.Sleep(10 * time.Millisecond) // polling for the listener to close, not measuring
	}
	select {
	case r := <-result:
		t.Fatalf("the run ended before it was released: %d %s", r.status, r.body)
	default:
	}
	f.model.releaseAll()
	r := <-result
	if got := answer(t, r); got != "holding released" {
		t.Fatalf("answer %q", got)
	}
	if err := f.shutdown(t); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if got := roles(t, f.db, r.header.Get(SessionHeader)); got != "user assistant" {
		t.Fatalf("stored: %s", got)
	}
}

// TestShutdownCancelsRuns: runs still going when the grace period ends are cancelled, their
// clients told so, what they said saved with every tool call answered, and Serve returns only
// after them, so the store can be closed.
func TestShutdownCancelsRuns(t *testing.T) {
	db := openDB(t)
	f := newFixture(t, db, fixtureOpts{cfg: Config{ShutdownTimeout: time.Millisecond}})
	plain := f.async(http.MethodPost, "/v1/chat/completions", chatBody(false, user("hold plain")))
	f.model.waitEntered(t, "hold plain")

	req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/chat/completions", strings.NewReader(chatBody(true, user("hold streamed"))))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	f.model.waitEntered(t, "hold streamed")

	if err := f.shutdown(t); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	r := <-plain
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "shutting down") || !strings.Contains(r.body, r.header.Get(SessionHeader)) {
		t.Fatalf("cancelled plain run: %d %s", r.status, r.body)
	}
	var body strings.Builder
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		body.WriteString(sc.Text() + "\n")
	}
	if !strings.Contains(body.String(), `"code":"shutting_down"`) || strings.Contains(body.String(), "[DONE]") {
		t.Fatalf("cancelled stream:\n%s", body.String())
	}
	for _, id := range []string{r.header.Get(SessionHeader), res.Header.Get(SessionHeader)} {
		if got := roles(t, db, id); got != "user assistant" {
			t.Fatalf("session %s stored: %s", id, got)
		}
		consistent(t, db, id)
	}
	// Nothing is left running: the store closes cleanly.
	if err := db.Close(); err != nil {
		t.Fatalf("close the store after Serve returned: %v", err)
	}
}

// TestShutdownMidToolRound cancels a run between a tool call and the model's answer to it: the
// tool result is in the store before the run ends.
func TestShutdownMidToolRound(t *testing.T) {
	db := openDB(t)
	f := newFixture(t, db, fixtureOpts{cfg: Config{ShutdownTimeout: time.Millisecond}})
	result := f.async(http.MethodPost, "/v1/chat/completions", chatBody(false, user("count: hold me")))
	f.model.waitEntered(t, "count: hold me")
	// The second model request carries the tool result; the model holds its answer.
	f.model.waitEntered(t, `{"bytes"`)
	if err := f.shutdown(t); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	r := <-result
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("%d %s", r.status, r.body)
	}
	id := r.header.Get(SessionHeader)
	consistent(t, db, id)
	ms, _ := db.Messages(context.Background(), id, store.SessionFilter{Source: Source})
	if got := roles(t, db, id); got != "user assistant+call tool assistant" || !strings.Contains(ms[2].Content, `"words":2`) ||
		ms[3].Content != "holding \n[interrupted]" {
		t.Fatalf("stored: %s %+v", got, ms)
	}
}

// TestConcurrentBurst: many clients at once, each a tool call through the plugin; every
// answer is its own and nothing is lost in the store.
func TestConcurrentBurst(t *testing.T) {
	const n = 32
	f := newFixture(t, nil, fixtureOpts{cfg: Config{MaxConcurrentRuns: n}})
	pending := make([]<-chan response, n)
	for i := range n {
		words := strings.TrimSpace(strings.Repeat("w ", i+1))
		pending[i] = f.async(http.MethodPost, "/v1/chat/completions", chatBody(i%2 == 0, user("count: "+words)))
	}
	seen := map[string]bool{}
	for i, result := range pending {
		r := <-result
		if r.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
		id := r.header.Get(SessionHeader)
		if seen[id] {
			t.Fatalf("session %s answered twice", id)
		}
		seen[id] = true
		want := fmt.Sprintf(`"words":%d}`, i+1)
		var text string
		if i%2 == 0 {
			text = streamedText(t, r)
		} else {
			text = answer(t, r)
		}
		if !strings.Contains(text, want) {
			t.Fatalf("request %d got another's answer: %s", i, text)
		}
		if got := roles(t, f.db, id); got != "user assistant+call tool assistant" {
			t.Fatalf("request %d stored: %s", i, got)
		}
		ms, _ := f.db.Messages(context.Background(), id, store.SessionFilter{Source: Source})
		if !strings.Contains(ms[2].Content, want) {
			t.Fatalf("request %d: stored tool result %q", i, ms[2].Content)
		}
	}
	sessions, err := f.db.ListSessions(context.Background(), store.SessionFilter{Source: Source})
	if err != nil || len(sessions) != n {
		t.Fatalf("%d sessions stored, want %d (%v)", len(sessions), n, err)
	}
}
