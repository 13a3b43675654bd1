package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/store"
)

// fixture is a real registry over a real store with real plugins from the repository, and an
// MCP client of the SDK connected to the server through the SDK's in-memory transport.
type fixture struct {
	reg     *registry.Registry
	calls   *observed
	db      *store.DB
	ws      string
	session *mcp.ClientSession
	// received are the methods the server sent to the client.
	mu       sync.Mutex
	received []string
}

// observed wraps the registry to see calls start and end; the calls themselves are real.
type observed struct {
	Registry
	started chan string
	ended   chan error
}

func (o *observed) Call(ctx context.Context, name string, args []byte) ([]byte, error) {
	o.started <- name
	out, err := o.Registry.Call(ctx, name, args)
	o.ended <- err
	return out, err
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFixture(t *testing.T, client *mcp.Client, mutate func(*config.Config), plugins ...string) *fixture {
	t.Helper()
	h := registrytest.New(t, registrytest.Options{Mutate: mutate, Logger: quietLogger(), Plugins: plugins})
	return newFixtureOn(t, client, h, nil)
}

// newFixtureOn serves the registry of h (whose plugins are added) to client, connected with
// opts (nil: the latest protocol).
func newFixtureOn(t *testing.T, client *mcp.Client, h *registrytest.Home, opts *mcp.ClientSessionOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	reg, db, cfg := h.Registry, h.DB, h.Config
	f := &fixture{reg: reg, db: db, ws: cfg.Workspace, calls: &observed{Registry: reg, started: make(chan string, 16), ended: make(chan error, 16)}}
	srv, err := New(ctx, f.calls, Options{Version: "test", Logger: quietLogger(), Redact: func(s string) string {
		return strings.ReplaceAll(s, "sk-secret-value", "[REDACTED:TEST_KEY]")
	}})
	if err != nil {
		t.Fatal(err)
	}
	serverT, clientT := mcp.NewInMemoryTransports()
	runCtx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Run(runCtx, serverT) }()
	if client == nil {
		client = mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, nil)
	}
	client.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			f.mu.Lock()
			f.received = append(f.received, method)
			f.mu.Unlock()
			return next(ctx, method, req)
		}
	})
	f.session, err = client.Connect(ctx, clientT, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.session.Close()
		stop()
		<-served
	})
	return f
}

func (f *fixture) call(t *testing.T, name string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := f.session.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	<-f.calls.started
	<-f.calls.ended
	return res
}

func text(t *testing.T, res *mcp.CallToolResult) string {
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

// TestToolsComeFromDescribe: every enabled plugin tool, with the name, description and schema
// its plugin described, and nothing else on offer.
func TestToolsComeFromDescribe(t *testing.T) {
	f := newFixture(t, nil, nil, "sdk/c/example", "testdata/hostile/loop")
	ctx := context.Background()
	want, err := f.reg.Tools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.session.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tools) != len(want) {
		t.Fatalf("%d tools offered, the plugins have %d", len(got.Tools), len(want))
	}
	for i, tool := range got.Tools {
		w := want[i]
		var wantSchema, gotSchema any
		json.Unmarshal(w.Parameters, &wantSchema)
		b, _ := json.Marshal(tool.InputSchema)
		json.Unmarshal(b, &gotSchema)
		if tool.Name != w.Name || tool.Description != w.Description || !reflect.DeepEqual(gotSchema, wantSchema) {
			t.Fatalf("tool %d: %s %q %s; want %s %q %s", i, tool.Name, tool.Description, b, w.Name, w.Description, w.Parameters)
		}
	}
	caps := f.session.InitializeResult().Capabilities
	// Logging carries the plugins' notify_logging_message (hyper-mcp v2).
	if caps.Tools == nil || caps.Prompts != nil || caps.Resources != nil || caps.Logging == nil || caps.Completions != nil {
		t.Fatalf("capabilities beyond tools and logging: %+v", caps)
	}
}

func TestResultsAndErrors(t *testing.T) {
	f := newFixture(t, nil, nil, "sdk/c/example")
	res := f.call(t, "textstats.count", map[string]any{"text": "a b c"})
	if res.IsError || text(t, res) != `{"bytes":5,"lines":1,"words":3}` {
		t.Fatalf("result %+v %q", res, text(t, res))
	}
	if sc, ok := res.StructuredContent.(map[string]any); !ok || sc["words"] != float64(3) {
		t.Fatalf("structured content %#v", res.StructuredContent)
	}
	// Secrets never leave: results go through the redactor.
	res = f.call(t, "textstats.echo", map[string]any{"message": "key sk-secret-value"})
	if strings.Contains(text(t, res), "sk-secret-value") || !strings.Contains(text(t, res), "[REDACTED:TEST_KEY]") {
		t.Fatalf("echo: %s", text(t, res))
	}

	tests := []struct {
		name    string
		tool    string
		args    any
		mention string
	}{
		{"schema mismatch", "textstats.count", map[string]any{"text": 5}, "textstats.count: invalid_arguments: "},
		{"tool error", "textstats.count", json.RawMessage(`{"text":"x","deep":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`), "textstats.count: tool_error: "},
		{"missing arguments", "textstats.count", nil, "invalid_arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.call(t, tt.tool, tt.args)
			if !res.IsError || !strings.HasPrefix(text(t, res), tt.mention) && !strings.Contains(text(t, res), tt.mention) {
				t.Fatalf("isError=%v %q, want one mentioning %q", res.IsError, text(t, res), tt.mention)
			}
		})
	}
	// A tool that does not exist is a protocol error, not a result.
	if _, err := f.session.CallTool(context.Background(), &mcp.CallToolParams{Name: "plugins.add", Arguments: map[string]any{"dir": "/tmp/x"}}); err == nil ||
		!strings.Contains(err.Error(), "unknown tool") {
		t.Fatalf("unknown tool: %v", err)
	}
}

// TestCancellationReachesThePlugin: a client cancelling its request cancels the plugin call,
// which stops the module mid-loop.
func TestCancellationReachesThePlugin(t *testing.T) {
	f := newFixture(t, nil, func(c *config.Config) {
		// Long enough that only cancellation can end the call.
		c.Plugins.Limits.Timeout = abi.Duration(time.Hour)
	}, "testdata/hostile/loop")
	// Compiled and instantiated beforehand, so the cancellation finds the module running.
	if _, err := f.reg.Plugin(context.Background(), "hostile-loop"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	returned := make(chan error, 1)
	go func() {
		_, err := f.session.CallTool(ctx, &mcp.CallToolParams{Name: "hostile-loop.spin", Arguments: map[string]any{}})
		returned <- err
	}()
	select {
	case <-f.calls.started:
	case <-time.After(2 * time.Minute):
		t.Fatal("the call never reached the registry")
	}
	cancel()
	select {
	case err := <-f.calls.ended:
		if abi.CodeOf(err) != abi.CodeCanceled && !errors.Is(err, context.Canceled) {
			t.Fatalf("the plugin call ended with %v, want canceled", err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("cancelling the request did not stop the plugin call")
	}
	if err := <-returned; err == nil {
		t.Fatal("the client's call returned no error after cancelling")
	}
	// The server goes on serving.
	if _, err := f.session.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// TestClientCannotGrant: a client announcing roots (or asking anything) widens nothing; the
// plugin sees the workspace the user configured and the grant recorded at add time.
func TestClientCannotGrant(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP-SECRET-CONTENT"), 0o644); err != nil {
		t.Fatal(err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "greedy-client", Version: "1"}, nil)
	client.AddRoots(&mcp.Root{URI: "file://" + outside, Name: "please read this"})
	f := newFixture(t, client, nil, "plugins/files")
	before, err := f.db.GetPlugin(context.Background(), "files")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.ws, "inside.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if res := f.call(t, "files.read", map[string]any{"path": "inside.txt"}); res.IsError || !strings.Contains(text(t, res), "inside") {
		t.Fatalf("read inside: %q", text(t, res))
	}
	for _, p := range []string{secret, "../" + filepath.Base(outside) + "/secret.txt", "file://" + secret} {
		res := f.call(t, "files.read", map[string]any{"path": p})
		if !res.IsError || strings.Contains(text(t, res), "TOP-SECRET-CONTENT") {
			t.Fatalf("read %s: isError=%v %q", p, res.IsError, text(t, res))
		}
	}
	// The roots change notification is ignored too.
	client.AddRoots(&mcp.Root{URI: "file:///", Name: "everything"})
	if res := f.call(t, "files.read", map[string]any{"path": secret}); !res.IsError {
		t.Fatalf("read after a roots change: %q", text(t, res))
	}
	after, err := f.db.GetPlugin(context.Background(), "files")
	if err != nil {
		t.Fatal(err)
	}
	if string(after.Granted) != string(before.Granted) || after.WasmSHA256 != before.WasmSHA256 {
		t.Fatalf("the grant changed: %s -> %s", before.Granted, after.Granted)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.received {
		if m == "roots/list" || strings.HasPrefix(m, "sampling/") || strings.HasPrefix(m, "elicitation/") {
			t.Fatalf("the server asked the client for %s", m)
		}
	}
}

func TestInputSchema(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string
	}{
		{"empty", ``, `{"type":"object"}`, ""},
		{"object", `{"type":"object","properties":{"a":{"type":"string"}}}`, `{"properties":{"a":{"type":"string"}},"type":"object"}`, ""},
		{"header keyword dropped", `{"type":"object","properties":{"a":{"type":"array","x-mcp-header":"X"}}}`, `{"properties":{"a":{"type":"array"}},"type":"object"}`, ""},
		{"not an object", `{"type":"string"}`, "", "MCP tools take an object"},
		{"not JSON", `{`, "", "not a JSON Schema object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inputSchema(json.RawMessage(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v", err)
				}
				return
			}
			b, _ := json.Marshal(got)
			if err != nil || string(b) != tt.want {
				t.Fatalf("got %s %v", b, err)
			}
		})
	}
}

// A path outside the plugin's file grants reaches a Go plugin as "Bad file number"; the error
// result says, on a line of its own, what happened.
func TestOutsideGrantsIsSaid(t *testing.T) {
	f := newFixture(t, nil, nil, "testdata/hostile/fsescape")
	res := f.call(t, "hostile-fsescape.read", map[string]any{"path": "/home/x/.env"})
	want := "\ndenied: /home/x/.env is outside the plugin's file grants"
	if got := text(t, res); !res.IsError || !strings.HasPrefix(got, "hostile-fsescape.read: tool_error: ") || !strings.HasSuffix(got, want) {
		t.Fatalf("isError=%v %q, want an error ending %q", res.IsError, got, want)
	}
	// A plugin that swallows the refusal and succeeds: its result stays its own (the JSON, as
	// structured content too) and what the host saw follows as content of its own.
	res = f.call(t, "hostile-fsescape.probe", map[string]any{"path": "/home/x/.env"})
	if res.IsError || len(res.Content) != 2 {
		t.Fatalf("probe: isError=%v, %d contents; want a success with the notice after it", res.IsError, len(res.Content))
	}
	var probe struct{ Readable bool }
	if err := json.Unmarshal([]byte(res.Content[0].(*mcp.TextContent).Text), &probe); err != nil || probe.Readable || res.StructuredContent == nil {
		t.Fatalf("probe result %q (%v), structured %v", res.Content[0].(*mcp.TextContent).Text, err, res.StructuredContent)
	}
	if got := res.Content[1].(*mcp.TextContent).Text; got != strings.TrimPrefix(want, "\n") {
		t.Fatalf("notice %q, want %q", got, strings.TrimPrefix(want, "\n"))
	}
}
