package agent

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/sandbox/local"
	"github.com/hermes-agent/hermes/store"
)

func TestMultiStepConversationAndResume(t *testing.T) {
	var calls []string
	var mu sync.Mutex
	notes := Tool{
		Name: ToolName("notes.add"), Description: "Add a note",
		Parameters: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`),
		Call: func(ctx context.Context, args []byte) ([]byte, error) {
			var in struct{ Text string }
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, in.Text)
			return json.Marshal(map[string]any{"saved": in.Text, "count": len(calls)})
		},
	}
	f := newFakeModel(t,
		callTools(call{"call_1", "notes__add", `{"text":"milk"}`}).checking(func(t *testing.T, req chatRequest) {
			if req.Model != "test-model" || len(req.Messages) != 2 || req.Messages[0].Role != "system" ||
				req.Messages[1].Role != "user" || req.Messages[1].text() != "remember milk and eggs" {
				t.Errorf("first request: %+v", req.Messages)
			}
			if got := req.toolNames(); !slices.Equal(got, []string{"notes__add"}) {
				t.Errorf("tools offered: %v", got)
			}
			if tl := req.Tools[0]; tl.Type != "function" || tl.Function.Description != "Add a note" || !strings.Contains(string(tl.Function.Parameters), `"required":["text"]`) {
				t.Errorf("tool definition: %+v", tl)
			}
			if req.auth != "Bearer sk-test" {
				t.Errorf("authorization %q", req.auth)
			}
		}),
		callTools(call{"call_2", "notes__add", `{"text":"eggs"}`}).checking(func(t *testing.T, req chatRequest) {
			ms := req.Messages
			if len(ms) != 4 || ms[2].Role != "assistant" || len(ms[2].ToolCalls) != 1 || ms[2].ToolCalls[0].ID != "call_1" ||
				ms[2].ToolCalls[0].Function.Name != "notes__add" || ms[2].ToolCalls[0].Function.Arguments != `{"text":"milk"}` {
				t.Errorf("second request: %+v", ms)
				return
			}
			if ms[3].Role != "tool" || ms[3].ToolCallID != "call_1" || ms[3].text() != `{"count":1,"saved":"milk"}` {
				t.Errorf("tool result sent back: %+v", ms[3])
			}
		}),
		answer("Noted: milk and eggs."),
		// The next turn resumes the session: everything said so far is sent again.
		answer("You asked me to remember milk and eggs.").checking(func(t *testing.T, req chatRequest) {
			var got []string
			for _, m := range req.Messages {
				got = append(got, m.Role)
			}
			want := []string{"system", "user", "assistant", "tool", "assistant", "tool", "assistant", "user"}
			if !slices.Equal(got, want) {
				t.Errorf("resumed request roles %v, want %v", got, want)
			}
			if req.Messages[6].text() != "Noted: milk and eggs." || req.last().text() != "what did I say?" {
				t.Errorf("resumed request: %+v", req.Messages)
			}
		}),
	)
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{APIKey: "sk-test", SystemPrompt: "You are hermes."}, db, notes)
	var ev events
	final, err := a.Run(context.Background(), s, "remember milk and eggs", ev.add)
	if err != nil {
		t.Fatal(err)
	}
	if final != "Noted: milk and eggs." || ev.text() != final {
		t.Errorf("final %q, streamed %q", final, ev.text())
	}
	if got := ev.kinds(); got != "tool_start tool_end tool_start tool_end text" {
		t.Errorf("events: %s", got)
	}
	if !slices.Equal(calls, []string{"milk", "eggs"}) {
		t.Errorf("tool calls: %v", calls)
	}
	ms := messages(t, db, s)
	if got := roles(ms); got != "user assistant+1call tool assistant+1call tool assistant" {
		t.Fatalf("stored: %s", got)
	}
	if ms[2].ToolCallID != "call_1" || ms[2].Name != "notes__add" || ms[2].Content != `{"count":1,"saved":"milk"}` {
		t.Errorf("stored tool message: %+v", ms[2])
	}
	if tc := ms[3].ToolCalls[0]; tc.ID != "call_2" || tc.Name != "notes__add" || tc.Arguments != `{"text":"eggs"}` {
		t.Errorf("stored tool call: %+v", tc)
	}

	final, err = a.Run(context.Background(), s, "what did I say?", nil)
	if err != nil || final != "You asked me to remember milk and eggs." {
		t.Fatalf("second turn: %q, %v", final, err)
	}
	if n := len(messages(t, db, s)); n != 8 {
		t.Errorf("%d messages after two turns, want 8", n)
	}
}

func TestRealPlugin(t *testing.T) {
	h := registrytest.New(t, registrytest.Options{Plugins: []string{"sdk/c/example"}})
	reg, db := h.Registry, h.DB
	tools, err := PluginTools(reg, context.Background())
	if err != nil {
		t.Fatal(err)
	}

	f := newFakeModel(t,
		callTools(
			call{"c1", "textstats__count", `{"text":"hello wasm world\nsecond line\n"}`},
			call{"c2", "textstats__count", `{"txt":"wrong field"}`},
		).checking(func(t *testing.T, req chatRequest) {
			got := req.toolNames()
			if !slices.Equal(got, []string{"textstats__count", "textstats__echo"}) {
				t.Errorf("tools offered: %v", got)
			}
			if !strings.Contains(string(req.Tools[0].Function.Parameters), `"required":["text"]`) {
				t.Errorf("count's parameters: %s", req.Tools[0].Function.Parameters)
			}
		}),
		answer("5 words.").checking(func(t *testing.T, req chatRequest) {
			ms := req.Messages
			if ms[2].text() != `{"bytes":29,"lines":2,"words":5}` {
				t.Errorf("count result sent back: %q", ms[2].text())
			}
			if !strings.HasPrefix(ms[3].text(), "error: invalid_arguments: ") {
				t.Errorf("schema failure sent back: %q", ms[3].text())
			}
		}),
	)
	s := newSession(t, db)
	a := newAgent(t, f, Config{}, db, tools...)
	final, err := a.Run(context.Background(), s, "count the words", nil)
	if err != nil || final != "5 words." {
		t.Fatalf("%q, %v", final, err)
	}
}

// terminalBackend is the local backend with HOME and the workspace in temporary directories
// and an approval gate that can ask no one.
func terminalBackend(t *testing.T) (*local.Backend, string) {
	home := t.TempDir()
	work := t.TempDir()
	gate := approval.NewGate(classify.Rules{Home: home}, approval.NoPrompt{Reason: "test"}, nil)
	b := local.New(local.Config{Workdir: work, BaseEnv: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}}, gate)
	t.Cleanup(func() { b.Close() })
	return b, home
}

func TestTerminalTool(t *testing.T) {
	b, home := terminalBackend(t)
	keep := filepath.Join(home, "keep")
	os.WriteFile(keep, []byte("x"), 0o600)
	f := newFakeModel(t,
		callTools(
			call{"c1", "terminal", `{"command":"echo hello $GREETING"}`},
			call{"c2", "terminal", `{"command":"rm -rf ~"}`},
			call{"c3", "terminal", `{"command":"sleep 5; echo late","timeout_seconds":1}`},
		).checking(func(t *testing.T, req chatRequest) {
			if got := req.toolNames(); !slices.Equal(got, []string{"terminal"}) {
				t.Errorf("tools: %v", got)
			}
		}),
		answer("done").checking(func(t *testing.T, req chatRequest) {
			ms := req.Messages
			if ms[2].text() != `{"exit_code":0,"output":"hello there\n"}` {
				t.Errorf("echo result: %q", ms[2].text())
			}
			if got := ms[3].text(); !strings.HasPrefix(got, "error: denied: refused: ") {
				t.Errorf("rm -rf ~ result: %q", got)
			}
			if got := ms[4].text(); got != `{"exit_code":124,"output":"","timed_out":true}` {
				t.Errorf("timeout result: %q", got)
			}
		}),
	)
	db := openStore(t)
	a := newAgent(t, f, Config{}, db, TerminalTool(b, map[string]string{"GREETING": "there"}, 30*time.Second))
	start := time.Now()
	if _, err := a.Run(context.Background(), newSession(t, db), "go", nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("took %s: timeout_seconds was not applied", d)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("home was touched: %v", err)
	}
}

// TestUsageEvents: each model request asks for usage, and the counts a server reports come back
// as one usage event per request; a request without counts gives none.
func TestUsageEvents(t *testing.T) {
	asks := func(t *testing.T, req chatRequest) {
		if req.StreamOptions == nil || !req.StreamOptions.IncludeUsage {
			t.Errorf("request without stream_options.include_usage: %+v", req.StreamOptions)
		}
	}
	echo := Tool{Name: "echo", Call: func(ctx context.Context, args []byte) ([]byte, error) { return args, nil }}
	f := newFakeModel(t,
		callTools(call{"c1", "echo", `{}`}).withUsage(100, 7).checking(asks),
		callTools(call{"c2", "echo", `{}`}).checking(asks), // this server counted nothing this time
		answer("done").withUsage(130, 5).checking(asks),
	)
	db := openStore(t)
	a := newAgent(t, f, Config{}, db, echo)
	var got []Usage
	final, err := a.Run(context.Background(), newSession(t, db), "go", func(ev Event) {
		if ev.Kind == EventUsage {
			got = append(got, ev.Usage)
		}
	})
	if err != nil || final != "done" {
		t.Fatalf("%q %v", final, err)
	}
	want := []Usage{{100, 7, 107}, {130, 5, 135}}
	if !slices.Equal(got, want) {
		t.Fatalf("usage events %+v, want %+v", got, want)
	}
	if sum := got[0].Add(got[1]); sum != (Usage{230, 12, 242}) {
		t.Fatalf("sum %+v", sum)
	}
}

func TestParallelToolsOverlapAndKeepOrder(t *testing.T) {
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	spans := map[string]span{}
	sleeper := func(name string, d time.Duration) Tool {
		return Tool{Name: name, Call: func(ctx context.Context, args []byte) ([]byte, error) {
			s := span{start: time.Now()}
			time.Sleep(d)
			s.end = time.Now()
			mu.Lock()
			spans[name] = s
			mu.Unlock()
			return []byte(`"` + name + ` done"`), nil
		}}
	}
	for _, tc := range []struct {
		parallel int
		overlap  bool
	}{{4, true}, {1, false}} {
		clear(spans)
		f := newFakeModel(t,
			callTools(call{"a", "slow", `{}`}, call{"b", "fast", `{}`}),
			answer("ok").checking(func(t *testing.T, req chatRequest) {
				ms := req.Messages
				if ms[2].ToolCallID != "a" || ms[2].text() != `"slow done"` || ms[3].ToolCallID != "b" || ms[3].text() != `"fast done"` {
					t.Errorf("results out of call order: %+v", ms[2:])
				}
			}),
		)
		db := openStore(t)
		s := newSession(t, db)
		a := newAgent(t, f, Config{MaxParallel: tc.parallel}, db, sleeper("slow", 300*time.Millisecond), sleeper("fast", 50*time.Millisecond))
		var ev events
		if _, err := a.Run(context.Background(), s, "go", ev.add); err != nil {
			t.Fatal(err)
		}
		slow, fast := spans["slow"], spans["fast"]
		overlapped := fast.start.Before(slow.end)
		if overlapped != tc.overlap {
			t.Errorf("MaxParallel %d: overlap %v (slow %v–%v, fast %v–%v)", tc.parallel, overlapped,
				slow.start.Format(".000"), slow.end.Format(".000"), fast.start.Format(".000"), fast.end.Format(".000"))
		}
		if tc.overlap && !fast.end.Before(slow.end) {
			t.Errorf("the fast call did not finish first")
		}
		if got := roles(messages(t, db, s)); got != "user assistant+2call tool tool assistant" {
			t.Errorf("stored: %s", got)
		}
		ms := messages(t, db, s)
		if ms[2].ToolCallID != "a" || ms[3].ToolCallID != "b" {
			t.Errorf("stored out of order: %s %s", ms[2].ToolCallID, ms[3].ToolCallID)
		}
		var order []string
		for _, e := range ev.all {
			if e.Kind == EventToolStart || e.Kind == EventToolEnd {
				order = append(order, e.Kind+":"+e.Tool)
			}
		}
		want := []string{"tool_start:slow", "tool_start:fast", "tool_end:slow", "tool_end:fast"}
		if tc.parallel == 1 {
			// Starts and ends each in call order; how they interleave is up to the scheduler.
			slices.SortStableFunc(order, func(x, y string) int { return strings.Compare(x[:8], y[:8]) })
			want = []string{"tool_end:slow", "tool_end:fast", "tool_start:slow", "tool_start:fast"}
		}
		if !slices.Equal(order, want) {
			t.Errorf("MaxParallel %d: events %v, want %v", tc.parallel, order, want)
		}
	}
}

func TestFailingToolsBecomeResults(t *testing.T) {
	panicky := Tool{Name: "panicky", Call: func(ctx context.Context, args []byte) ([]byte, error) { panic("oops") }}
	f := newFakeModel(t,
		callTools(call{"c1", "abi", `{}`}, call{"c2", "plain", `{}`}, call{"c3", "panicky", `{}`}),
		answer("sorry").checking(func(t *testing.T, req chatRequest) {
			ms := req.Messages
			want := []string{
				"error: tool_error: disk full",
				"error: tool_error: boom",
				"error: trap: the tool panicked: oops",
			}
			for i, w := range want {
				if got := ms[2+i].text(); got != w {
					t.Errorf("result %d: %q, want %q", i, got, w)
				}
			}
		}),
	)
	db := openStore(t)
	a := newAgent(t, f, Config{}, db,
		fixedTool("abi", "", &abi.Error{Code: abi.CodeToolError, Plugin: "p", Tool: "abi", Message: "disk full"}),
		fixedTool("plain", "", errors.New("boom")),
		panicky)
	var ev events
	if final, err := a.Run(context.Background(), newSession(t, db), "go", ev.add); err != nil || final != "sorry" {
		t.Fatalf("%q, %v", final, err)
	}
	ends := ev.of(EventToolEnd)
	if len(ends) != 3 || abi.CodeOf(ends[0].Err) != abi.CodeToolError || ends[1].Err == nil || ends[2].Err == nil {
		t.Errorf("tool_end events: %+v", ends)
	}
}

func TestBadArgumentsAndUnknownTools(t *testing.T) {
	var ran atomic.Int32
	echo := Tool{Name: "echo", Call: func(ctx context.Context, args []byte) ([]byte, error) {
		ran.Add(1)
		return args, nil
	}}
	f := newFakeModel(t,
		callTools(
			call{"c1", "echo", `{"text": "unterminated`},
			call{"c2", "echo", `["not", "an", "object"]`},
			call{"c3", "no_such_tool", `{}`},
			call{"c4", "echo", ``}, // empty arguments are {}
		),
		answer("ok").checking(func(t *testing.T, req chatRequest) {
			ms := req.Messages
			for i, prefix := range []string{
				"error: invalid_arguments: the arguments are not valid JSON",
				"error: invalid_arguments: the arguments must be a JSON object",
				`error: not_found: no tool is named "no_such_tool"; the tools are: echo`,
			} {
				if got := ms[2+i].text(); !strings.HasPrefix(got, prefix) {
					t.Errorf("result %d: %q, want %q…", i, got, prefix)
				}
			}
			if got := ms[5].text(); got != "{}" {
				t.Errorf("empty arguments: %q", got)
			}
		}),
	)
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{}, db, echo)
	if _, err := a.Run(context.Background(), s, "go", nil); err != nil {
		t.Fatal(err)
	}
	if ran.Load() != 1 {
		t.Errorf("the tool ran %d times, want 1", ran.Load())
	}
	// Invalid arguments are stored as the model produced them.
	if got := messages(t, db, s)[1].ToolCalls[0].Arguments; got != `{"text": "unterminated` {
		t.Errorf("stored arguments %q", got)
	}
}

func TestRetryAfter429(t *testing.T) {
	f := newFakeModel(t,
		step{status: 429, header: map[string]string{"Retry-After": "1"}, body: `{"error":{"message":"slow down","type":"rate_limit"}}`},
		answer("hi"),
	)
	db := openStore(t)
	a := newAgent(t, f, Config{BaseBackoff: time.Millisecond}, db)
	var ev events
	final, err := a.Run(context.Background(), newSession(t, db), "hello", ev.add)
	if err != nil || final != "hi" {
		t.Fatalf("%q, %v", final, err)
	}
	reqs := f.requests()
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond || gap > 3*time.Second {
		t.Errorf("retried after %s, want Retry-After's 1s", gap)
	}
	retries := ev.of(EventRetry)
	if len(retries) != 1 || !strings.Contains(retries[0].Text, "HTTP 429 Too Many Requests: slow down") || !strings.Contains(retries[0].Text, "retrying in 1s (1/3)") {
		t.Errorf("retry events: %+v", retries)
	}
}

func TestRetryAfterMs(t *testing.T) {
	f := newFakeModel(t,
		step{status: 503, header: map[string]string{"Retry-After-Ms": "20", "Content-Type": "text/plain"}, body: "upstream overloaded"},
		answer("hi"),
	)
	db := openStore(t)
	a := newAgent(t, f, Config{BaseBackoff: 5 * time.Second}, db)
	var ev events
	start := time.Now()
	if _, err := a.Run(context.Background(), newSession(t, db), "hello", ev.add); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s: retry-after-ms not honoured", d)
	}
	if r := ev.of(EventRetry); len(r) != 1 || !strings.Contains(r[0].Text, "HTTP 503 Service Unavailable: upstream overloaded") {
		t.Errorf("retry events: %+v", r)
	}
}

func TestServerErrorsExhaustRetries(t *testing.T) {
	fail := step{status: 500, body: `{"error":"model crashed"}`} // Ollama's error shape
	f := newFakeModel(t, fail, fail, fail, fail)
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{}, db)
	var ev events
	_, err := a.Run(context.Background(), s, "hello", ev.add)
	want := "model: HTTP 500 Internal Server Error: model crashed after 3 retries"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %q", err, want)
	}
	var me *ModelError
	if !errors.As(err, &me) || me.Status != 500 || me.Retries != 3 {
		t.Errorf("ModelError: %+v", me)
	}
	if n := len(f.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
	if got := ev.kinds(); got != "retry retry retry error" {
		t.Errorf("events: %s", got)
	}
	if ms := messages(t, db, s); roles(ms) != "user" || ms[0].Content != "hello" {
		t.Errorf("stored: %s", roles(ms))
	}
}

func TestClientErrorIsNotRetried(t *testing.T) {
	f := newFakeModel(t, step{status: 401, body: `{"error":{"message":"No auth credentials found","code":401}}`})
	db := openStore(t)
	a := newAgent(t, f, Config{}, db)
	_, err := a.Run(context.Background(), newSession(t, db), "hello", nil)
	if err == nil || err.Error() != "model: HTTP 401 Unauthorized: No auth credentials found" {
		t.Fatalf("error %v", err)
	}
}

func TestNotAnEventStream(t *testing.T) {
	f := newFakeModel(t, step{status: 200, json: false, header: map[string]string{"Content-Type": "text/html"}, chunks: []string{"<html>"}})
	db := openStore(t)
	a := newAgent(t, f, Config{}, db)
	_, err := a.Run(context.Background(), newSession(t, db), "hello", nil)
	if err == nil || !strings.Contains(err.Error(), "model: the server answered with text/html, not an event stream") {
		t.Fatalf("error %v", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests: a wrong endpoint was retried", n)
	}
}

func TestErrorEventMidStream(t *testing.T) {
	upstream := step{chunks: []string{roleChunk(), `{"error":{"message":"Provider returned error","code":502}}`}}
	tooLong := step{chunks: []string{`{"error":{"message":"context length exceeded","code":400}}`}}
	f := newFakeModel(t, upstream, answer("ok"), tooLong)
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{}, db)
	var ev events
	if final, err := a.Run(context.Background(), s, "hi", ev.add); err != nil || final != "ok" {
		t.Fatalf("%q, %v", final, err)
	}
	if r := ev.of(EventRetry); len(r) != 1 || !strings.Contains(r[0].Text, "the stream reported an error: Provider returned error") {
		t.Errorf("retries: %+v", r)
	}
	_, err := a.Run(context.Background(), s, "again", nil)
	if err == nil || err.Error() != "model: the stream reported an error: context length exceeded" {
		t.Errorf("error %v", err)
	}
}

func TestStreamCutIsRetried(t *testing.T) {
	cut := step{chunks: []string{roleChunk(), textChunk("Hel")}, cut: true}
	endsEarly := step{chunks: []string{roleChunk(), textChunk("Hel")}, noDone: true}
	f := newFakeModel(t, cut, endsEarly, answer("Hello there"))
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{}, db)
	var ev events
	final, err := a.Run(context.Background(), s, "hi", ev.add)
	if err != nil || final != "Hello there" {
		t.Fatalf("%q, %v", final, err)
	}
	r := ev.of(EventRetry)
	if len(r) != 2 || !strings.Contains(r[0].Text, "stream cut") || !strings.Contains(r[1].Text, "the stream ended before the reply was complete") {
		t.Errorf("retries: %+v", r)
	}
	if ms := messages(t, db, s); roles(ms) != "user assistant" || ms[1].Content != "Hello there" {
		t.Errorf("stored: %s %+v", roles(ms), ms)
	}
}

func TestStreamCutForGoodKeepsWhatWasSaid(t *testing.T) {
	cut := step{chunks: []string{roleChunk(), textChunk("Partial ans")}, cut: true}
	f := newFakeModel(t, cut, cut)
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{MaxRetries: 1}, db)
	_, err := a.Run(context.Background(), s, "hi", nil)
	if err == nil || !strings.HasPrefix(err.Error(), "model: stream cut: ") || !strings.HasSuffix(err.Error(), " after 1 retry") {
		t.Fatalf("error %v", err)
	}
	if ms := messages(t, db, s); roles(ms) != "user assistant" || ms[1].Content != "Partial ans\n[interrupted]" {
		t.Errorf("stored: %+v", ms)
	}
}

func TestCutAfterTheEndIsComplete(t *testing.T) {
	s := answer("all said")
	s.cut = true
	f := newFakeModel(t, s)
	db := openStore(t)
	a := newAgent(t, f, Config{}, db)
	if final, err := a.Run(context.Background(), newSession(t, db), "hi", nil); err != nil || final != "all said" {
		t.Fatalf("%q, %v", final, err)
	}
}

func TestMalformedChunkIsRetried(t *testing.T) {
	f := newFakeModel(t, step{chunks: []string{roleChunk(), `{"choices": [{"delta": {"content": "x"`}}, answer("ok"))
	db := openStore(t)
	a := newAgent(t, f, Config{}, db)
	var ev events
	if final, err := a.Run(context.Background(), newSession(t, db), "hi", ev.add); err != nil || final != "ok" {
		t.Fatalf("%q, %v", final, err)
	}
	if r := ev.of(EventRetry); len(r) != 1 || !strings.Contains(r[0].Text, "malformed stream: ") {
		t.Errorf("retries: %+v", r)
	}
}

func TestEmptyChoicesAreRetried(t *testing.T) {
	empty := step{chunks: []string{chunkJSON()}}
	f := newFakeModel(t, empty, answer("ok"))
	db := openStore(t)
	a := newAgent(t, f, Config{}, db)
	var ev events
	if final, err := a.Run(context.Background(), newSession(t, db), "hi", ev.add); err != nil || final != "ok" {
		t.Fatalf("%q, %v", final, err)
	}
	if r := ev.of(EventRetry); len(r) != 1 || !strings.Contains(r[0].Text, "no choices") {
		t.Errorf("retries: %+v", r)
	}
}

func TestMaxIterations(t *testing.T) {
	loop := callTools(call{"", "echo", `{}`})
	f := newFakeModel(t, loop, loop, loop)
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{MaxIterations: 3}, db, fixedTool("echo", `"again"`, nil))
	_, err := a.Run(context.Background(), s, "loop", nil)
	if !errors.Is(err, ErrMaxIterations) || !strings.Contains(err.Error(), "stopped after 3 model requests") {
		t.Fatalf("error %v", err)
	}
	ms := messages(t, db, s)
	if got := roles(ms); got != "user assistant+1call tool assistant+1call tool assistant+1call tool" {
		t.Errorf("stored: %s", got)
	}
	// Calls without an id got one, and their results answer it.
	if id := ms[1].ToolCalls[0].ID; !strings.HasPrefix(id, "call_") || ms[2].ToolCallID != id {
		t.Errorf("synthesised id %q, result for %q", id, ms[2].ToolCallID)
	}
}

func TestCancelDuringToolCall(t *testing.T) {
	blocking := make(chan struct{})
	block := Tool{Name: "block", Call: func(ctx context.Context, args []byte) ([]byte, error) {
		close(blocking)
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	f := newFakeModel(t, callTools(call{"c1", "quick", `{}`}, call{"c2", "block", `{}`}, call{"c3", "quick", `{}`}))
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{MaxParallel: 2}, db, fixedTool("quick", `"quick done"`, nil), block)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-blocking
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	var cancelledAt time.Time
	_, err := a.Run(ctx, s, "go", func(e Event) {
		if cancelledAt.IsZero() && ctx.Err() != nil {
			cancelledAt = time.Now()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Run took %s after cancellation", d)
	}
	ms := messages(t, db, s)
	if got := roles(ms); got != "user assistant+3call tool tool tool" {
		t.Fatalf("stored: %s", got)
	}
	if ms[2].Content != `"quick done"` || !strings.HasPrefix(ms[3].Content, "error: canceled: ") || ms[3].ToolCallID != "c2" {
		t.Errorf("results: %q %q", ms[2].Content, ms[3].Content)
	}
	// The third call either ran (two slots) or did not; either way it has a result.
	if ms[4].ToolCallID != "c3" || ms[4].Content == "" {
		t.Errorf("third result: %+v", ms[4])
	}
}

func TestCancelDuringStream(t *testing.T) {
	started := make(chan struct{})
	f := newFakeModel(t, step{chunks: []string{roleChunk(), textChunk("I was saying ")}, hold: true, started: started})
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{}, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := a.Run(ctx, s, "talk", func(e Event) {
			if e.Kind == EventText && strings.Contains(e.Text, "saying") {
				cancel()
			}
		})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
	if ms := messages(t, db, s); roles(ms) != "user assistant" || ms[1].Content != "I was saying \n[interrupted]" {
		t.Errorf("stored: %+v", ms)
	}
}

func TestRedaction(t *testing.T) {
	const secret = "sk-live-0123456789abcdef"
	redact := strings.NewReplacer(secret, "[REDACTED:KEY]").Replace
	leaky := fixedTool("env", `{"KEY":"`+secret+`"}`, nil)
	failing := fixedTool("fail", "", errors.New("auth failed with "+secret))
	// The model repeats the secret, split across deltas.
	reply := step{chunks: []string{roleChunk(), textChunk("The key is sk-live-0123"), textChunk("456789abcdef, keep it safe."), finishChunk("stop")}}
	f := newFakeModel(t,
		callTools(call{"c1", "env", `{"text":"` + secret + `"}`}, call{"c2", "fail", `{}`}),
		reply.checking(func(t *testing.T, req chatRequest) {
			b, _ := json.Marshal(req.Messages)
			if strings.Contains(string(b), secret) {
				t.Errorf("the secret was sent to the model: %s", b)
			}
			if req.Messages[3].text() != `{"KEY":"[REDACTED:KEY]"}` || req.Messages[4].text() != "error: tool_error: auth failed with [REDACTED:KEY]" {
				t.Errorf("tool results sent: %+v", req.Messages[3:])
			}
		}),
	)
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{Redact: redact, SystemPrompt: "be careful"}, db, leaky, failing)
	var ev events
	final, err := a.Run(context.Background(), s, "what is my key? it is "+secret, ev.add)
	if err != nil {
		t.Fatal(err)
	}
	if final != "The key is [REDACTED:KEY], keep it safe." || ev.text() != final {
		t.Errorf("final %q, streamed %q", final, ev.text())
	}
	for _, e := range ev.all {
		if strings.Contains(e.Text+e.Args+e.Result, secret) || (e.Err != nil && strings.Contains(e.Err.Error(), secret)) {
			t.Errorf("event leaks the secret: %+v", e)
		}
	}
	for _, m := range messages(t, db, s) {
		b, _ := json.Marshal(m)
		if strings.Contains(string(b), secret) {
			t.Errorf("stored message leaks the secret: %s", b)
		}
	}
	if ms := messages(t, db, s); ms[2].Content != `{"KEY":"[REDACTED:KEY]"}` {
		t.Errorf("stored tool message: %q", ms[2].Content)
	}
}

func TestAllowDeny(t *testing.T) {
	var ran []string
	var mu sync.Mutex
	tool := func(name string) Tool {
		return Tool{Name: name, Call: func(ctx context.Context, args []byte) ([]byte, error) {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			return []byte(`"ok"`), nil
		}}
	}
	f := newFakeModel(t,
		callTools(call{"c1", "files__read", `{}`}, call{"c2", "files__write", `{}`}, call{"c3", "web__fetch", `{}`}).
			checking(func(t *testing.T, req chatRequest) {
				if got := req.toolNames(); !slices.Equal(got, []string{"files__read", "terminal"}) {
					t.Errorf("tools offered: %v", got)
				}
			}),
		answer("ok").checking(func(t *testing.T, req chatRequest) {
			ms := req.Messages
			if ms[2].text() != `"ok"` || ms[3].text() != `error: denied: the tool "files__write" is not allowed here` ||
				ms[4].text() != `error: denied: the tool "web__fetch" is not allowed here` {
				t.Errorf("results: %q %q %q", ms[2].text(), ms[3].text(), ms[4].text())
			}
		}),
	)
	db := openStore(t)
	a := newAgent(t, f, Config{Allow: []string{"files.*", "terminal"}, Deny: []string{"*__write"}}, db,
		tool("files__read"), tool("files__write"), tool("web__fetch"), tool("terminal"))
	if got := a.Tools(); !slices.Equal(got, []string{"files__read", "terminal"}) {
		t.Errorf("Tools() = %v", got)
	}
	if _, err := a.Run(context.Background(), newSession(t, db), "go", nil); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []string{"files__read"}) {
		t.Errorf("ran %v", ran)
	}
	if _, err := New(Config{BaseURL: "http://127.0.0.1:1/v1", Deny: []string{"[bad"}}, nil, db); err == nil {
		t.Error("a bad glob was accepted")
	}
}

func TestNonStreamingJSONAnswer(t *testing.T) {
	body := `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,
"tool_calls":[{"id":"c1","type":"function","function":{"name":"echo","arguments":{"text":"object arguments"}}}]},"finish_reason":"tool_calls"}]}`
	f := newFakeModel(t,
		step{json: true, body: body},
		step{json: true, body: `{"id":"y","choices":[{"index":0,"message":{"role":"assistant","content":"done"},"finish_reason":"stop"}]}`},
	)
	db := openStore(t)
	s := newSession(t, db)
	echo := Tool{Name: "echo", Call: func(ctx context.Context, args []byte) ([]byte, error) { return args, nil }}
	a := newAgent(t, f, Config{}, db, echo)
	final, err := a.Run(context.Background(), s, "go", nil)
	if err != nil || final != "done" {
		t.Fatalf("%q, %v", final, err)
	}
	if ms := messages(t, db, s); ms[2].Content != `{"text":"object arguments"}` {
		t.Errorf("tool result %q", ms[2].Content)
	}
}

func TestOllamaStyleToolCalls(t *testing.T) {
	// Several calls under index 0, each complete in one delta, and a server that repeats the
	// name in every delta of one call.
	chunks := []string{
		roleChunk(),
		callDelta(0, "call_a", "echo", `{"text":"one"}`),
		callDelta(0, "call_b", "echo", `{"text":"two"}`),
		chunkJSON(deltaChoice(map[string]any{"tool_calls": []any{map[string]any{"index": 1, "id": "call_c", "function": map[string]any{"name": "echo", "arguments": `{"text":`}}}}, nil)),
		chunkJSON(deltaChoice(map[string]any{"tool_calls": []any{map[string]any{"index": 1, "function": map[string]any{"name": "echo", "arguments": `"three"}`}}}}, nil)),
		finishChunk("tool_calls"),
	}
	f := newFakeModel(t, step{chunks: chunks}, answer("ok"))
	db := openStore(t)
	s := newSession(t, db)
	echo := Tool{Name: "echo", Call: func(ctx context.Context, args []byte) ([]byte, error) { return args, nil }}
	a := newAgent(t, f, Config{}, db, echo)
	var ev events
	if _, err := a.Run(context.Background(), s, "go", ev.add); err != nil {
		t.Fatal(err)
	}
	if len(ev.of(EventToolStart)) != 3 || len(ev.of(EventToolEnd)) != 3 {
		t.Errorf("events: %s", ev.kinds())
	}
	ms := messages(t, db, s)
	if got := roles(ms); got != "user assistant+3call tool tool tool assistant" {
		t.Fatalf("stored: %s", got)
	}
	for i, want := range []string{`{"text":"one"}`, `{"text":"two"}`, `{"text":"three"}`} {
		if tc := ms[1].ToolCalls[i]; tc.Name != "echo" || tc.Arguments != want {
			t.Errorf("call %d: %+v", i, tc)
		}
	}
}

func TestResumeRepairsInterruptedTranscript(t *testing.T) {
	db := openStore(t)
	s := newSession(t, db)
	ctx := context.Background()
	_, err := db.AppendMessages(ctx, []store.Message{
		{SessionID: s.ID, Role: store.RoleUser, Content: "earlier"},
		{SessionID: s.ID, Role: store.RoleAssistant, ToolCalls: []store.ToolCall{{ID: "x1", Name: "echo", Arguments: "{}"}, {ID: "x2", Name: "echo", Arguments: "{}"}}},
		{SessionID: s.ID, Role: store.RoleTool, ToolCallID: "x1", Name: "echo", Content: "one"},
		{SessionID: s.ID, Role: store.RoleTool, ToolCallID: "zz", Name: "echo", Content: "orphan"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeModel(t, answer("ok").checking(func(t *testing.T, req chatRequest) {
		var got []string
		for _, m := range req.Messages {
			got = append(got, m.Role+":"+m.ToolCallID)
		}
		want := []string{"user:", "assistant:", "tool:x1", "tool:x2", "user:"}
		if !slices.Equal(got, want) {
			t.Errorf("messages %v, want %v", got, want)
		}
		if !strings.HasPrefix(req.Messages[3].text(), "error: canceled: ") {
			t.Errorf("synthesised result %q", req.Messages[3].text())
		}
	}))
	a := newAgent(t, f, Config{}, db)
	if _, err := a.Run(ctx, s, "again", nil); err != nil {
		t.Fatal(err)
	}
}

func TestToolResultLimit(t *testing.T) {
	big := strings.Repeat("a", 500) + strings.Repeat("z", 500)
	f := newFakeModel(t, callTools(call{"c1", "big", `{}`}), answer("ok"))
	db := openStore(t)
	s := newSession(t, db)
	a := newAgent(t, f, Config{ToolResultLimit: 100}, db, fixedTool("big", big, nil))
	if _, err := a.Run(context.Background(), s, "go", nil); err != nil {
		t.Fatal(err)
	}
	got := messages(t, db, s)[2].Content
	if !strings.HasPrefix(got, strings.Repeat("a", 40)+"\n[... 900 characters cut ...]\n") || !strings.HasSuffix(got, strings.Repeat("z", 60)) {
		t.Errorf("capped result %q", got)
	}
}

func TestToolName(t *testing.T) {
	for in, want := range map[string]string{
		"files.read":     "files__read",
		"terminal":       "terminal",
		"my-plugin.do_x": "my-plugin__do_x",
		"weird name!":    "weird_name_",
		"":               "tool",
	} {
		if got := ToolName(in); got != want {
			t.Errorf("ToolName(%q) = %q, want %q", in, got, want)
		}
	}
	long := ToolName(strings.Repeat("p", 40) + "." + strings.Repeat("t", 40))
	if len(long) != 64 || !validToolName(long) {
		t.Errorf("long name %q (%d)", long, len(long))
	}
	if long == ToolName(strings.Repeat("p", 40)+"."+strings.Repeat("t", 41)) {
		t.Error("long names collide")
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"files__read", "files.read"},
		{"my-plugin__do_x", "my-plugin.do_x"},
		{"hostile-loop__spin", "hostile-loop.spin"},
		{"p__a__b", "p.a__b"},
		{"terminal", "terminal"},
		{"skill_view", "skill_view"},
		{"__x", "__x"},
		{"x__", "x__"},
		{"Odd_Name__x", "Odd_Name__x"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := DisplayName(tc.in); got != tc.want {
				t.Errorf("DisplayName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, full := range []string{"files.read", "my-plugin.do_x", "web.fetch"} {
		if got := DisplayName(ToolName(full)); got != full {
			t.Errorf("DisplayName(ToolName(%q)) = %q", full, got)
		}
	}
}

func TestNewValidates(t *testing.T) {
	db := openStore(t)
	noop := func(context.Context, []byte) ([]byte, error) { return nil, nil }
	for name, tc := range map[string]struct {
		cfg   Config
		tools []Tool
	}{
		"no base url":  {Config{}, nil},
		"bad base url": {Config{BaseURL: "ftp://x"}, nil},
		"dotted name":  {Config{BaseURL: "http://x/v1"}, []Tool{{Name: "files.read", Call: noop}}},
		"duplicate":    {Config{BaseURL: "http://x/v1"}, []Tool{{Name: "a", Call: noop}, {Name: "a", Call: noop}}},
		"no call":      {Config{BaseURL: "http://x/v1"}, []Tool{{Name: "a"}}},
		"bad schema":   {Config{BaseURL: "http://x/v1"}, []Tool{{Name: "a", Call: noop, Parameters: json.RawMessage(`[1]`)}}},
	} {
		if _, err := New(tc.cfg, tc.tools, db); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	h := func(k, v string) map[string][]string { return map[string][]string{k: {v}} }
	for _, tc := range []struct {
		h    map[string][]string
		want time.Duration
	}{
		{h("Retry-After", "2"), 2 * time.Second},
		{h("Retry-After", "0.5"), 500 * time.Millisecond},
		{h("Retry-After", "Thu, 01 Jan 2026 12:00:10 GMT"), 10 * time.Second},
		{h("Retry-After", "soon"), 0},
		{h("Retry-After-Ms", "250"), 250 * time.Millisecond},
		{nil, 0},
	} {
		if got := retryAfter(tc.h, now); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.h, got, tc.want)
		}
	}
}

// What the host tells about a call beyond its result (activity.Notices: a path outside the
// plugin's file grants) is in the tool_end event and follows the result the model reads.
func TestToolNoticesReachEventAndModel(t *testing.T) {
	reader := Tool{Name: "reader", Call: func(ctx context.Context, args []byte) ([]byte, error) {
		activity.NoticesOf(ctx).Add("denied: /home/x/.env is outside the plugin's file grants")
		return nil, &abi.Error{Code: abi.CodeToolError, Message: "open /home/x/.env: Bad file number"}
	}}
	f := newFakeModel(t,
		callTools(call{"c1", "reader", `{}`}),
		answer("done").checking(func(t *testing.T, req chatRequest) {
			want := "error: tool_error: open /home/x/.env: Bad file number\ndenied: /home/x/.env is outside the plugin's file grants"
			if got := req.Messages[2].text(); got != want {
				t.Errorf("result %q, want %q", got, want)
			}
		}),
	)
	db := openStore(t)
	a := newAgent(t, f, Config{}, db, reader)
	var ev events
	if _, err := a.Run(context.Background(), newSession(t, db), "go", ev.add); err != nil {
		t.Fatal(err)
	}
	ends := ev.of(EventToolEnd)
	if len(ends) != 1 || len(ends[0].Notices) != 1 || ends[0].Notices[0] != "denied: /home/x/.env is outside the plugin's file grants" {
		t.Errorf("tool_end: %+v", ends)
	}
}
