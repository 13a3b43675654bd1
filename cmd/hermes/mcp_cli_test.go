package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// mcpServe starts `hermes mcp serve` as the SDK's own client does — a real process on a real
// stdio pipe — and returns the client session and the server's standard error.
func mcpServe(tb testing.TB, c *cliHome, args ...string) (*mcp.ClientSession, *syncBuffer) {
	tb.Helper()
	cmd := exec.Command(hermesBin, append(args, "mcp", "serve")...)
	cmd.Dir = c.workspace
	cmd.Env = append(os.Environ(), "HERMES_HOME="+c.home)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	client := mcp.NewClient(&mcp.Implementation{Name: "hermes-test-client", Version: "1"}, nil)
	session, err := client.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		tb.Fatalf("connect to hermes mcp serve: %v\n%s", err, stderr.String())
	}
	tb.Cleanup(func() { session.Close() })
	return session, stderr
}

func resultText(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("%d content items", len(res.Content))
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("content is %T", res.Content[0])
	}
	return tc.Text
}

func TestMCPServeOverStdio(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	c.mustRun(t, "config", "set", "MY_TEST_TOKEN", "tok-redact-me-0123456789")
	grantsBefore := c.mustRun(t, "plugins", "list", "--json")
	session, _ := mcpServe(t, c)
	ctx := context.Background()

	// The tools are the plugins' own, as `hermes tools list` shows them.
	var want []struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(t, "tools", "list", "--json")), &want); err != nil {
		t.Fatal(err)
	}
	list, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Tools) != len(want) {
		t.Fatalf("%d tools, want %d", len(list.Tools), len(want))
	}
	for i, tool := range list.Tools {
		schema, _ := json.Marshal(tool.InputSchema)
		var got, exp any
		json.Unmarshal(schema, &got)
		json.Unmarshal(want[i].Parameters, &exp)
		if tool.Name != want[i].Name || tool.Description != want[i].Description || !jsonEqual(got, exp) {
			t.Fatalf("tool %s %q %s; want %s %q %s", tool.Name, tool.Description, schema, want[i].Name, want[i].Description, want[i].Parameters)
		}
	}
	if caps := session.InitializeResult().Capabilities; caps.Tools == nil || caps.Prompts != nil || caps.Resources != nil || caps.Logging == nil { // logging: plugins' messages
		t.Fatalf("capabilities: %+v", caps)
	}

	// A result, an error the model can read, and a secret that does not leave.
	res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "textstats.count", Arguments: map[string]any{"text": "one two"}})
	if err != nil || res.IsError || resultText(t, res) != `{"bytes":7,"lines":1,"words":2}` {
		t.Fatalf("count: %+v %v", res, err)
	}
	res, err = session.CallTool(ctx, &mcp.CallToolParams{Name: "textstats.count", Arguments: map[string]any{"text": 5}})
	if err != nil || !res.IsError || !strings.HasPrefix(resultText(t, res), "textstats.count: invalid_arguments: ") {
		t.Fatalf("schema mismatch: %+v %v", res, err)
	}
	res, err = session.CallTool(ctx, &mcp.CallToolParams{Name: "textstats.echo", Arguments: map[string]any{"message": "tok-redact-me-0123456789"}})
	if err != nil || strings.Contains(resultText(t, res), "tok-redact-me") || !strings.Contains(resultText(t, res), "[REDACTED:MY_TEST_TOKEN]") {
		t.Fatalf("echo of a secret: %+v %v", res, err)
	}
	// Nothing but tools can be asked for, and no tool grants anything.
	if _, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "plugins.add", Arguments: map[string]any{"dir": "/"}}); err == nil {
		t.Fatal("an unknown tool was called")
	}
	if prompts, err := session.ListPrompts(ctx, nil); err == nil && len(prompts.Prompts) > 0 {
		t.Fatalf("prompts are served: %+v", prompts.Prompts)
	}
	if resources, err := session.ListResources(ctx, nil); err == nil && len(resources.Resources) > 0 {
		t.Fatalf("resources are served: %+v", resources.Resources)
	}
	if err := session.Close(); err != nil {
		t.Fatalf("hermes mcp serve did not exit cleanly when the client closed stdin: %v", err)
	}
	if after := c.mustRun(t, "plugins", "list", "--json"); after != grantsBefore {
		t.Fatalf("grants changed:\n%s\n%s", grantsBefore, after)
	}
}

// TestMCPServeCancellation: a client cancelling a call stops the plugin in the server.
func TestMCPServeCancellation(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/hostile/loop"), "--yes", "--allow-unsigned")
	// Only cancellation can end the call.
	c.mustRun(t, "config", "set", "plugins.limits.timeout", "1h")
	session, stderr := mcpServe(t, c, "--log-level", "debug")
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	go func() {
		_, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "hostile-loop.spin", Arguments: map[string]any{}})
		returned <- err
	}()
	waitLog(t, stderr, `msg="mcp tool call started" tool=hostile-loop.spin`)
	cancel()
	if err := <-returned; err == nil {
		t.Fatal("the cancelled call returned no error")
	}
	waitLog(t, stderr, `msg="mcp tool call failed" tool=hostile-loop.spin code=canceled`)
	// The server is still there.
	if _, err := session.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func waitLog(t *testing.T, buf *syncBuffer, line string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(buf.String(), line) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", line, buf.String())
		}
		time.Sleep(20 * time.Millisecond) // polling the log, not measuring
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// BenchmarkMCPServerRoundTrip: one textstats.count call as an MCP client makes it (a request
// over the stdio pipe to a running `hermes mcp serve`) next to the same call as `hermes tools
// call` in a fresh process, in the same run. Report: process ÷ stdio.
func BenchmarkMCPServerRoundTrip(b *testing.B) {
	root := b.TempDir()
	c := &cliHome{home: filepath.Join(root, "home"), workspace: filepath.Join(root, "ws")}
	os.MkdirAll(c.workspace, 0o755)
	runOnce(b, c, "plugins", "install", testplugins.Dir(b, "sdk/c/example"), "--yes", "--allow-unsigned")
	runOnce(b, c, "tools", "call", "textstats.count", `{"text":"warm the cache"}`)
	args := map[string]any{"text": "the quick brown fox"}

	b.Run("mcp-stdio", func(b *testing.B) {
		session, _ := mcpServe(b, c)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if _, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "textstats.count", Arguments: args}); err != nil {
			b.Fatal(err) // the first call instantiates the plugin
		}
		b.ResetTimer()
		for range b.N {
			res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "textstats.count", Arguments: args})
			if err != nil || res.IsError {
				b.Fatalf("%+v %v", res, err)
			}
		}
	})
	b.Run("tools-call-process", func(b *testing.B) {
		for range b.N {
			runOnce(b, c, "tools", "call", "textstats.count", `{"text":"the quick brown fox"}`)
		}
	})
}

// TestMCPServeMalformedLines: a line that is not a JSON-RPC message is answered with a JSON-RPC
// error and the server reads on; each reply is written as soon as it is ready (the initialize
// reply is read before anything else is sent).
func TestMCPServeMalformedLines(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	cmd := exec.Command(hermesBin, "mcp", "serve")
	cmd.Dir = c.workspace
	cmd.Env = append(os.Environ(), "HERMES_HOME="+c.home)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	lines.Buffer(nil, 1<<20)
	send := func(t *testing.T, line string) {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatalf("write %q: %v\n%s", line, err, stderr.String())
		}
	}
	next := func(t *testing.T) rpcReply {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("no reply (%v); stderr:\n%s", lines.Err(), stderr.String())
		}
		var r rpcReply
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			t.Fatalf("reply %q: %v", lines.Text(), err)
		}
		return r
	}
	send(t, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if r := next(t); r.ID != float64(1) || r.Error != nil || len(r.Result) == 0 {
		t.Fatalf("initialize: %+v", r)
	}
	send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	for _, tc := range []struct {
		name, line string
		id         any
		code       int
		mention    string
	}{
		{"not JSON", `this is not json`, nil, -32700, "parse error"},
		{"cut short", `{"jsonrpc":"2.0","id":7,"method":"tools/li`, nil, -32700, "parse error"},
		{"wrong version", `{"jsonrpc":"1.0","id":8,"method":"tools/list"}`, float64(8), -32600, "invalid request"},
		{"batch", `[{"jsonrpc":"2.0","id":9,"method":"tools/list"}]`, nil, -32600, "batches are not supported"},
		{"oversize", `{"x":"` + strings.Repeat("a", 17<<20) + `"}`, nil, -32700, "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			send(t, tc.line)
			r := next(t)
			if r.ID != tc.id || r.Error == nil || r.Error.Code != tc.code || !strings.Contains(r.Error.Message, tc.mention) {
				t.Fatalf("reply %+v %+v; want id %v, code %d mentioning %q", r, r.Error, tc.id, tc.code, tc.mention)
			}
		})
	}
	// The server is still there and answers in order.
	send(t, `{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	if r := next(t); r.ID != float64(2) || r.Error != nil || !strings.Contains(string(r.Result), "textstats.count") {
		t.Fatalf("tools/list: %+v", r)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("hermes mcp serve did not exit cleanly when stdin closed: %v\n%s", err, stderr.String())
	}
}

// rpcReply is a line `hermes mcp serve` writes: a reply, or a notification (Method set).
type rpcReply struct {
	ID     any             `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// TestMCPServeInputEndsAfterTheRequests: a client that writes its requests, closes standard
// input at once and reads standard output to its end (`hermes mcp serve < requests`) gets every
// answer, the parse error of a malformed line included.
func TestMCPServeInputEndsAfterTheRequests(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	requests := filepath.Join(t.TempDir(), "requests.jsonl")
	if err := os.WriteFile(requests, []byte(strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`this is not json`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"textstats.count","arguments":{"text":"one two"}}}`,
	}, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		in, err := os.Open(requests)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(hermesBin, "mcp", "serve")
		cmd.Dir = c.workspace
		cmd.Env = append(os.Environ(), "HERMES_HOME="+c.home)
		cmd.Stdin = in
		stderr := &syncBuffer{}
		cmd.Stderr = stderr
		out, err := cmd.Output()
		in.Close()
		if err != nil {
			t.Fatalf("run %d: hermes mcp serve < requests: %v\n%s", i, err, stderr.String())
		}
		got := map[string]string{}
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r rpcReply
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("run %d: stdout line %q: %v", i, sc.Text(), err)
			}
			if r.Method != "" {
				continue // a notification
			}
			switch {
			case r.Error != nil:
				got[fmt.Sprint(r.ID)] = fmt.Sprint(r.Error.Code)
			default:
				got[fmt.Sprint(r.ID)] = string(r.Result)
			}
		}
		if !strings.Contains(got["1"], "protocolVersion") || !strings.Contains(got["2"], "textstats.count") ||
			!strings.Contains(got["3"], `\"words\":2`) || got["<nil>"] != "-32700" {
			t.Fatalf("run %d: replies %q\nstdout:\n%s\nstderr:\n%s", i, got, out, stderr.String())
		}
	}
}

// TestMCPServeFollowsTheLock: a running `hermes mcp serve` refuses, from the next call on, a
// plugin whose signer was untrusted in another terminal, and one disabled there is gone from
// the next tools/list; the server goes on serving.
func TestMCPServeFollowsTheLock(t *testing.T) {
	c := newCLI(t)
	keyFile := filepath.Join(t.TempDir(), "acme.key")
	var pub string
	for _, line := range strings.Split(c.mustRun(t, "keys", "generate", "--out", keyFile), "\n") {
		if rest, ok := strings.CutPrefix(line, "Public key:"); ok {
			pub = strings.TrimSpace(rest)
		}
	}
	tarball := strings.TrimSpace(c.mustRun(t, "plugins", "pack", testplugins.Dir(t, "sdk/c/example"), "--out", t.TempDir()))
	c.mustRun(t, "plugins", "sign", tarball, "--key", keyFile)
	c.mustRun(t, "keys", "trust", pub, "--name", "acme")
	c.mustRun(t, "plugins", "install", tarball, "--yes")
	session, stderr := mcpServe(t, c)
	ctx := context.Background()
	count := func() *mcp.CallToolResult {
		t.Helper()
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "textstats.count", Arguments: map[string]any{"text": "a b"}})
		if err != nil {
			t.Fatalf("call: %v\n%s", err, stderr.String())
		}
		return res
	}
	if res := count(); res.IsError {
		t.Fatalf("call: %s", resultText(t, res))
	}

	c.mustRun(t, "keys", "untrust", "acme")
	if res := count(); !res.IsError || !strings.HasPrefix(resultText(t, res), "textstats.count: denied: ") || !strings.Contains(resultText(t, res), "no longer trust") {
		t.Fatalf("call after untrust elsewhere: isError=%v %q", res.IsError, resultText(t, res))
	}
	c.mustRun(t, "keys", "trust", pub, "--name", "acme")
	if res := count(); res.IsError {
		t.Fatalf("call after trusting again: %s", resultText(t, res))
	}

	c.mustRun(t, "plugins", "disable", "textstats")
	list, err := session.ListTools(ctx, nil)
	if err != nil || len(list.Tools) != 0 {
		t.Fatalf("tools after disable elsewhere: %+v %v", list, err)
	}
	if res := count(); !res.IsError || !strings.HasPrefix(resultText(t, res), "textstats.count: denied: plugin is disabled") {
		t.Fatalf("call after disable elsewhere: isError=%v %q", res.IsError, resultText(t, res))
	}
}
