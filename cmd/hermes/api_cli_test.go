package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/hermes-agent/hermes/host/agent/modeltest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/store"
)

// promptModel is an OpenAI-compatible server on 127.0.0.1 driven by the prompt: "count: TEXT"
// asks for textstats.count on TEXT, "call: NAME ARGS" for any tool, "run: CMD" for the terminal, "hold" waits until released;
// a tool result is answered "The tool says: RESULT"; anything else is echoed.
type promptModel struct {
	*httptest.Server
	// request is the last chat request received, without its messages, when capture is set.
	capture atomic.Bool
	request atomic.Pointer[[]byte]
	entered chan string
	release chan struct{}
	once    sync.Once
}

func newPromptModel(tb testing.TB) *promptModel {
	m := &promptModel{entered: make(chan string, 4096), release: make(chan struct{})}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	tb.Cleanup(func() {
		m.releaseAll()
		m.Close()
	})
	return m
}

func (m *promptModel) releaseAll() { m.once.Do(func() { close(m.release) }) }

func (m *promptModel) serve(w http.ResponseWriter, r *http.Request) {
	if m.capture.Load() {
		body, _ := io.ReadAll(r.Body)
		var req map[string]json.RawMessage
		if json.Unmarshal(body, &req) == nil {
			delete(req, "messages")
			b, _ := json.Marshal(req)
			m.request.Store(&b)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	msgs, ok := modeltest.ReadRequest(w, r)
	if !ok {
		return
	}
	last := msgs[len(msgs)-1]
	text := last.Text()
	select {
	case m.entered <- text:
	default: // nobody is waiting for it (benchmarks)
	}
	stream := modeltest.NewStream(w)
	chunk, say, callTool := stream.Chunk, stream.Say, stream.CallTool
	switch {
	case last.Role == "tool":
		say("The tool ", "says: ", text)
	case strings.HasPrefix(text, "count: "):
		callTool("textstats__count", map[string]string{"text": strings.TrimPrefix(text, "count: ")})
	case strings.HasPrefix(text, "call: "): // "call: NAME {JSON arguments}"
		name, args, _ := strings.Cut(strings.TrimPrefix(text, "call: "), " ")
		callTool(name, json.RawMessage(args))
	case strings.HasPrefix(text, "run: "):
		callTool("terminal", map[string]string{"command": strings.TrimPrefix(text, "run: ")})
	case strings.HasPrefix(text, "hold"):
		chunk(map[string]any{"role": "assistant", "content": "holding "}, nil)
		select {
		case <-m.release:
			say("released")
		case <-r.Context().Done():
			return
		}
	default:
		say("echo: ", text)
	}
	stream.Done()
}

func (m *promptModel) waitEntered(tb testing.TB, prefix string) {
	tb.Helper()
	modeltest.WaitEntered(tb, m.entered, prefix)
}

// apiHome is a hermes home using the prompt model, with textstats added.
func apiHome(t *testing.T, model *promptModel, settings ...string) *cliHome {
	t.Helper()
	c := newCLI(t)
	c.mustRun(t, "config", "set", "model.base_url", model.URL+"/v1")
	c.mustRun(t, "config", "set", "model.name", "scripted")
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	for i := 0; i+1 < len(settings); i += 2 {
		c.mustRun(t, "config", "set", settings[i], settings[i+1])
	}
	return c
}

// apiProcess is a running `hermes api`.
type apiProcess struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan struct{}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var servingRe = regexp.MustCompile(`serving the agent on (http://[^ ]+)`)

// startAPI starts `hermes api --port 0` and waits until it says where it listens.
func startAPI(tb testing.TB, c *cliHome, env []string, args ...string) *apiProcess {
	tb.Helper()
	cmd := c.cmd("", append([]string{"api", "--port", "0"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	return startServerProcess(tb, cmd, servingRe)
}

var floorServingRe = regexp.MustCompile(`floor serving on (http://[^ ]+)`)

// startServerProcess starts cmd and waits until its stderr matches serving, whose first group
// is the URL it serves; the server is sent SIGTERM at the end of the test.
func startServerProcess(tb testing.TB, cmd *exec.Cmd, serving *regexp.Regexp) *apiProcess {
	tb.Helper()
	p := &apiProcess{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.stderr.Write([]byte(sc.Text() + "\n"))
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-p.exited
	})
	select {
	case p.url = <-found:
	case <-p.exited:
		tb.Fatalf("%s exited: %s", cmd.Args, p.stderr.String())
	case <-time.After(2 * time.Minute):
		tb.Fatalf("%s did not start: %s", cmd.Args, p.stderr.String())
	}
	return p
}

func (p *apiProcess) wait(tb testing.TB) int {
	tb.Helper()
	select {
	case <-p.exited:
	case <-time.After(2 * time.Minute):
		tb.Fatalf("hermes api did not exit: %s", p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

type apiResponse struct {
	status int
	header http.Header
	body   string
}

func apiPost(tb testing.TB, url, key, body string) apiResponse {
	tb.Helper()
	r, err := apiTry(url, key, body)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func apiTry(url, key, body string) (apiResponse, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return apiResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return apiResponse{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return apiResponse{}, fmt.Errorf("read the response: %w", err)
	}
	return apiResponse{res.StatusCode, res.Header, string(b)}, nil
}

// apiAsync posts from another goroutine; a failed exchange is a response with status 0 and
// the error as its body (the test's goroutine decides what fails).
func apiAsync(url, key, body string) <-chan apiResponse {
	out := make(chan apiResponse, 1)
	go func() {
		r, err := apiTry(url, key, body)
		if err != nil {
			r = apiResponse{body: err.Error()}
		}
		out <- r
	}()
	return out
}

func chatRequestBody(prompt string, stream bool) string {
	b, _ := json.Marshal(map[string]any{"model": "hermes", "stream": stream, "messages": []any{map[string]any{"role": "user", "content": prompt}}})
	return string(b)
}

func completionText(tb testing.TB, r apiResponse) string {
	tb.Helper()
	var c struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &c) != nil || len(c.Choices) != 1 {
		tb.Fatalf("not a completion: %d %s", r.status, r.body)
	}
	return c.Choices[0].Message.Content
}

// apiSessions lists the API sessions as `hermes sessions list --source api --json` shows them.
func apiSessions(t *testing.T, c *cliHome) []store.Session {
	t.Helper()
	var list []store.Session
	if err := json.Unmarshal([]byte(c.mustRun(t, "sessions", "list", "--source", "api", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

func TestAPIServesAgentWithPluginTool(t *testing.T) {
	const key = "sk-hermes-api-test-0123456789abcdef"
	model := newPromptModel(t)
	c := apiHome(t, model)
	c.mustRun(t, "config", "set", "API_SERVER_KEY", key)
	p := startAPI(t, c, nil)
	if !strings.Contains(p.stderr.String(), "bearer key required") || strings.Contains(p.stderr.String(), key) {
		t.Fatalf("start-up line: %s", p.stderr.String())
	}

	if r := apiPost(t, p.url, "", chatRequestBody("count: a b", false)); r.status != http.StatusUnauthorized {
		t.Fatalf("without the key: %d %s", r.status, r.body)
	}
	r := apiPost(t, p.url, key, chatRequestBody("count: one two three", false))
	if got := completionText(t, r); got != `The tool says: {"bytes":13,"lines":1,"words":3}` {
		t.Fatalf("answer %q", got)
	}
	r = apiPost(t, p.url, key, chatRequestBody("count: x y", true))
	if r.status != http.StatusOK || !strings.Contains(r.body, ": tool textstats.count") || !strings.HasSuffix(r.body, "data: [DONE]\n\n") ||
		!strings.Contains(r.body, `\"words\":2`) {
		t.Fatalf("stream: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/v1/models", "/health"} {
		req, _ := http.NewRequest(http.MethodGet, p.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", path, res, err)
		}
		res.Body.Close()
	}

	// API sessions are stored with source api, apart from the CLI's.
	if out := c.mustRun(t, "sessions", "list"); strings.Contains(out, "count:") {
		t.Fatalf("CLI listing shows API sessions:\n%s", out)
	}
	list := apiSessions(t, c)
	if len(list) != 2 || list[0].Source != "api" || list[0].Messages != 4 || list[1].Messages != 4 {
		t.Fatalf("api sessions: %+v", list)
	}
	c.wantExit(t, ExitNotFound, "no CLI session", "sessions", "show", list[0].ID)
	// The owner reads them by naming the source, or any source.
	for _, args := range [][]string{{"--source", "api", list[0].ID}, {list[0].ID, "--all"}} {
		if out := c.mustRun(t, append([]string{"sessions", "show"}, args...)...); !strings.Contains(out, "[assistant]") {
			t.Fatalf("sessions show %v:\n%s", args, out)
		}
	}
	c.wantExit(t, ExitNotFound, "no telegram session", "sessions", "show", "--source", "telegram", list[0].ID)
}

func TestAPIRefusesPublicAddressWithoutKey(t *testing.T) {
	model := newPromptModel(t)
	c := apiHome(t, model)
	for _, args := range [][]string{{"api", "--host", "0.0.0.0"}, {"api", "--host", "192.0.2.10", "--port", "0"}} {
		errOut := c.wantExit(t, ExitUsage, "API_SERVER_KEY", args...)
		if !strings.Contains(errOut, "127.0.0.1") {
			t.Fatalf("the refusal does not say what to do: %s", errOut)
		}
	}
	// The same from config.toml.
	c.mustRun(t, "config", "set", "api.host", "::")
	c.wantExit(t, ExitUsage, "refusing to listen beyond this machine", "api", "--port", "0")
	// [api] values are checked when set.
	c.wantExit(t, ExitUsage, `use "deny", "approved" or "unsafe_allow"`, "config", "set", "api.dangerous_commands", "sometimes")
	c.wantExit(t, ExitUsage, "api.port 70000", "config", "set", "api.port", "70000")
	// A malformed origin list is refused, not half-applied.
	c.mustRun(t, "config", "set", "api.host", "127.0.0.1")
	cmd := c.cmd("", "api", "--port", "0")
	cmd.Env = append(cmd.Env, "API_SERVER_CORS_ORIGINS=app.example.com")
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != ExitUsage || !strings.Contains(string(out), "is not an origin") {
		t.Fatalf("bad origins: %v %s", err, out)
	}
}

// TestAPIDeniesDangerousCommandsWithATerminal runs `hermes api` on a pseudo-terminal, where
// the CLI would ask: a dangerous command reached from the API is refused at once, never asked.
func TestAPIDeniesDangerousCommandsWithATerminal(t *testing.T) {
	model := newPromptModel(t)
	c := apiHome(t, model)
	victim := filepath.Join(c.workspace, "victim")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := c.cmd("", "api", "--port", "0")
	cmd.Stdin = nil
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		tty.Close()
	}()
	screen := readUntil(t, tty, "Ctrl-C or SIGTERM stops")
	m := servingRe.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no address on the terminal:\n%s", screen)
	}
	go io.Copy(io.Discard, tty) // a prompt, if one appeared, would wait for an answer here

	r := apiPost(t, m[1], "", chatRequestBody("run: rm -rf ./victim", false))
	got := completionText(t, r)
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("the dangerous command ran: %v (%s)", err, got)
	}
	if !strings.Contains(got, "denied") || !strings.Contains(got, `api.dangerous_commands = "deny"`) {
		t.Fatalf("the model was not told why: %s", got)
	}
	// Safe commands run.
	if got := completionText(t, apiPost(t, m[1], "", chatRequestBody("run: echo fine", false))); !strings.Contains(got, `"output":"fine\n"`) {
		t.Fatalf("safe command: %s", got)
	}
}

// TestAPIGracefulShutdown: SIGTERM lets a run in progress finish; past api.shutdown_timeout a
// run is cancelled, its client told, and what it said kept. Either way the process exits 0.
func TestAPIGracefulShutdown(t *testing.T) {
	t.Run("finishes", func(t *testing.T) {
		model := newPromptModel(t)
		c := apiHome(t, model)
		p := startAPI(t, c, nil)
		result := apiAsync(p.url, "", chatRequestBody("hold on", false))
		model.waitEntered(t, "hold on")
		p.cmd.Process.Signal(syscall.SIGTERM)
		// The process waits for the run; the model answers only now.
		select {
		case r := <-result:
			t.Fatalf("the run ended before the model answered: %d %s", r.status, r.body)
		case <-p.exited:
			t.Fatalf("hermes exited with a run in progress: %s", p.stderr.String())
		default:
		}
		model.releaseAll()
		if got := completionText(t, <-result); got != "holding released" {
			t.Fatalf("answer %q", got)
		}
		if code := p.wait(t); code != 0 || !strings.Contains(p.stderr.String(), "API server stopped") {
			t.Fatalf("exit %d: %s", code, p.stderr.String())
		}
		if list := apiSessions(t, c); len(list) != 1 || list[0].Messages != 2 {
			t.Fatalf("sessions: %+v", list)
		}
	})
	t.Run("cancels", func(t *testing.T) {
		model := newPromptModel(t)
		c := apiHome(t, model, "api.shutdown_timeout", "1ms")
		p := startAPI(t, c, nil)
		result := apiAsync(p.url, "", chatRequestBody("hold forever", false))
		model.waitEntered(t, "hold forever")
		p.cmd.Process.Signal(syscall.SIGTERM)
		r := <-result
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "shutting down") {
			t.Fatalf("cancelled run: %d %s", r.status, r.body)
		}
		if code := p.wait(t); code != 0 {
			t.Fatalf("exit %d: %s", code, p.stderr.String())
		}
		db, err := store.Open(filepath.Join(c.home, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ms, err := db.Messages(context.Background(), r.header.Get("X-Hermes-Session-Id"), store.SessionFilter{Source: "api"})
		if err != nil || len(ms) != 2 || ms[0].Content != "hold forever" || ms[1].Content != "holding \n[interrupted]" {
			t.Fatalf("stored: %+v %v", ms, err)
		}
	})
}

// TestAPIAcknowledgedTurnSurvivesKill: a turn whose answer the client received is in the
// database even when `hermes api` is killed (SIGKILL) the moment the answer arrives — alone,
// and among concurrent turns whose appends share commits (store's group commit).
func TestAPIAcknowledgedTurnSurvivesKill(t *testing.T) {
	model := newPromptModel(t)
	c := apiHome(t, model, "api.max_concurrent_runs", "16")
	for round, clients := range []int{1, 1, 8, 8, 16} {
		p := startAPI(t, c, nil)
		results := make(chan apiResponse, clients)
		for i := range clients {
			go func() {
				r, err := apiTry(p.url, "", chatRequestBody(fmt.Sprintf("count: round %d client %d%s", round, i, strings.Repeat(" w", i)), false))
				if err != nil {
					r = apiResponse{body: err.Error()}
				}
				results <- r
			}()
		}
		var acked []apiResponse
		res := <-results
		p.cmd.Process.Kill() // SIGKILL, as soon as one answer is in
		<-p.exited
		for r := range clients {
			if r > 0 {
				res = <-results
			}
			if res.status == http.StatusOK {
				acked = append(acked, res)
			}
		}
		if len(acked) == 0 {
			t.Fatalf("round %d: no answer before the kill", round)
		}
		db, err := store.Open(filepath.Join(c.home, "state.db"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range acked {
			answer := completionText(t, r)
			sid := r.header.Get("X-Hermes-Session-Id")
			ms, err := db.Messages(context.Background(), sid, store.SessionFilter{Source: "api"})
			if err != nil || len(ms) != 4 {
				t.Fatalf("round %d: acknowledged session %s: %d messages, %v", round, sid, len(ms), err)
			}
			if ms[0].Role != store.RoleUser || len(ms[1].ToolCalls) != 1 || ms[2].Role != store.RoleTool || ms[3].Content != answer {
				t.Fatalf("round %d: session %s stored %+v, answered %q", round, sid, ms, answer)
			}
		}
		db.Close()
		t.Logf("round %d: %d of %d turns acknowledged before the kill, all stored", round, len(acked), clients)
	}
}

// TestAPIBurst: concurrent clients against the real binary and its SQLite file; every answer
// is its own and every message is stored.
func TestAPIBurst(t *testing.T) {
	const n = 24
	model := newPromptModel(t)
	c := apiHome(t, model, "api.max_concurrent_runs", fmt.Sprint(n))
	p := startAPI(t, c, nil)
	pending := make([]<-chan apiResponse, n)
	for i := range n {
		pending[i] = apiAsync(p.url, "", chatRequestBody("count: "+strings.TrimSpace(strings.Repeat("w ", i+1)), false))
	}
	for i, result := range pending {
		if a := completionText(t, <-result); !strings.Contains(a, fmt.Sprintf(`"words":%d}`, i+1)) {
			t.Fatalf("request %d: %s", i, a)
		}
	}
	list := apiSessions(t, c)
	if len(list) != n {
		t.Fatalf("%d sessions stored, want %d", len(list), n)
	}
	titles := map[string]bool{}
	for _, s := range list {
		if s.Messages != 4 {
			t.Fatalf("session %s has %d messages", s.ID, s.Messages)
		}
		titles[s.Title] = true
	}
	if len(titles) != n {
		t.Fatalf("%d distinct sessions", len(titles))
	}
}

// latencyStats returns requests per second and the 50th and 99th percentile latencies.
func latencyStats(lat []time.Duration, wall time.Duration) (rps float64, p50, p99 time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return float64(len(s)) / wall.Seconds(), at(0.50), at(0.99)
}

// BenchmarkAPIServerChatWithTool: a chat completion that calls one plugin tool (textstats.count)
// through `hermes api`, against the prompt-driven model on 127.0.0.1, with 1 and 16 concurrent
// clients; b.N requests in all, bounded by a deadline. Next to it, interleaved (hermes then floor
// for each client count), the floor server of apifloor_test.go does the same turn with no
// hermes code, in a process of its own, against the same model with the same request.
//
// Reports requests/s, p50/p99 latency, and CPU time per turn (user + system, from /proc): of the
// server process (cpu-ms/turn — the figure to compare with the floor's), of this process (the
// model and the load generator: bench-cpu-ms/turn), and of the whole machine, other users
// included (machine-cores: CPUs busy on average while the clients ran). Linux only for the CPU
// figures.
func BenchmarkAPIServerChatWithTool(b *testing.B) {
	model := newPromptModel(b)
	root := b.TempDir()
	c := &cliHome{home: filepath.Join(root, "home"), workspace: filepath.Join(root, "ws")}
	os.MkdirAll(c.workspace, 0o755)
	for _, args := range [][]string{
		{"config", "set", "model.base_url", model.URL + "/v1"},
		{"config", "set", "model.name", "scripted"},
		{"config", "set", "api.max_concurrent_runs", "16"},
		{"plugins", "install", testplugins.Dir(b, "sdk/c/example"), "--yes", "--allow-unsigned"},
	} {
		runOnce(b, c, args...)
	}
	servers := map[string]*apiProcess{"hermes": startAPI(b, c, nil)}
	body := chatRequestBody("count: the quick brown fox", false)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	post := func(url string) error {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || !strings.Contains(string(data), `\"words\":4`) {
			return fmt.Errorf("status %d: %s", res.StatusCode, data)
		}
		return nil
	}
	model.capture.Store(true)
	if err := post(servers["hermes"].url); err != nil { // compiles and caches the plugin
		b.Fatal(err)
	}
	model.capture.Store(false)
	servers["floor"] = startFloorServer(b, filepath.Join(root, "floor.db"), model.URL+"/v1", *model.request.Load())
	if err := post(servers["floor"].url); err != nil {
		b.Fatal(err)
	}
	for _, clients := range []int{1, 16} {
		for _, name := range []string{"hermes", "floor"} {
			srv := servers[name]
			b.Run(fmt.Sprintf("clients=%d/server=%s", clients, name), func(b *testing.B) {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
				defer cancel()
				lat := make([]time.Duration, b.N)
				next := make(chan int, b.N)
				for i := range b.N {
					next <- i
				}
				close(next)
				var wg sync.WaitGroup
				var failed sync.Once
				var failure error
				serverCPU0, selfCPU0, busy0 := processCPU(srv.cmd.Process.Pid), processCPU(os.Getpid()), machineBusy()
				b.ResetTimer()
				start := time.Now()
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := range next {
							if ctx.Err() != nil {
								failed.Do(func() { failure = fmt.Errorf("stopped at the deadline: %w", ctx.Err()) })
								return
							}
							t0 := time.Now()
							if err := post(srv.url); err != nil {
								failed.Do(func() { failure = err })
								return
							}
							lat[i] = time.Since(t0)
						}
					}()
				}
				wg.Wait()
				wall := time.Since(start)
				b.StopTimer()
				serverCPU, selfCPU, busy := processCPU(srv.cmd.Process.Pid)-serverCPU0, processCPU(os.Getpid())-selfCPU0, machineBusy()-busy0
				if failure != nil {
					b.Fatal(failure)
				}
				rps, p50, p99 := latencyStats(lat, wall)
				b.ReportMetric(rps, "req/s")
				b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
				if serverCPU0 >= 0 {
					perTurn := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
					b.ReportMetric(perTurn(serverCPU), "cpu-ms/turn")
					b.ReportMetric(perTurn(selfCPU), "bench-cpu-ms/turn")
					b.ReportMetric(busy.Seconds()/wall.Seconds(), "machine-cores")
				}
			})
		}
	}
}

// clockTick is Linux's USER_HZ, the unit of /proc's CPU times.
const clockTick = 10 * time.Millisecond

// processCPU is the user + system CPU time process pid has used, from /proc/PID/stat, or -1
// where there is no /proc.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	// Fields after the command name, which is in parentheses: state is field 3, utime 14, stime 15.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * clockTick
}

// machineBusy is the CPU time all CPUs have spent other than idle or waiting for I/O, from
// /proc/stat, or 0 where there is none.
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 && i < 8 { // not idle, iowait, or guest (already in user)
			busy += n
		}
	}
	return time.Duration(busy) * clockTick
}
