package mcpserver

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// v2Client is an MCP client that answers sampling and elicitation, shares a root and records
// the notifications it receives.
type v2Client struct {
	*mcp.Client
	mu    sync.Mutex
	asked []string // "sampling", "elicitation"
	// Notifications may arrive after the call's result: each is signalled.
	progress chan *mcp.ProgressNotificationParams
	logs     chan *mcp.LoggingMessageParams
}

func newV2Client() *v2Client {
	c := &v2Client{progress: make(chan *mcp.ProgressNotificationParams, 16), logs: make(chan *mcp.LoggingMessageParams, 16)}
	c.Client = mcp.NewClient(&mcp.Implementation{Name: "v2-client", Version: "1"}, &mcp.ClientOptions{
		CreateMessageHandler: func(_ context.Context, req *mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
			c.mu.Lock()
			c.asked = append(c.asked, "sampling")
			c.mu.Unlock()
			prompt := ""
			if len(req.Params.Messages) > 0 {
				if tc, ok := req.Params.Messages[0].Content.(*mcp.TextContent); ok {
					prompt = tc.Text
				}
			}
			return &mcp.CreateMessageResult{Model: "client-model", Role: "assistant", Content: &mcp.TextContent{Text: "an answer to " + prompt}}, nil
		},
		ElicitationHandler: func(_ context.Context, req *mcp.ElicitRequest) (*mcp.ElicitResult, error) {
			c.mu.Lock()
			c.asked = append(c.asked, "elicitation")
			c.mu.Unlock()
			return &mcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "yes to " + req.Params.Message}}, nil
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			c.progress <- req.Params
		},
		LoggingMessageHandler: func(_ context.Context, req *mcp.LoggingMessageRequest) {
			c.logs <- req.Params
		},
	})
	c.AddRoots(&mcp.Root{URI: "file:///home/user/project", Name: "project"})
	return c
}

// preSEP2322 is the last protocol under which a server may ask the client during a call (MCP
// 2026-07-28 deprecates sampling, elicitation, roots and logging for multi round-trip
// requests, which a plugin's synchronous host call cannot make).
var preSEP2322 = &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}

// v2Plugin is the hyper-mcp v2 fixture with capabilities of the test's choosing.
func v2Plugin(t *testing.T, capabilities string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hypermcp-v2")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "hypermcp-v2.wasm"), testplugins.Wasm(t, "testdata/compat/hypermcp-v2"), 0o644)
	os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(`name = "hypermcp-v2"
version = "0.1.0"
abi = 1
description = "hyper-mcp v2 fixture"
wasm = "hypermcp-v2.wasm"

[capabilities]
`+capabilities), 0o644)
	return dir
}

// TestHyperMCPv2Notifications: a hyper-mcp v2 plugin's log message reaches the client (at
// the level it set) and its progress goes to the call's progressToken, whatever the plugin
// names; the published tool name, hyphen and all, is the MCP tool's.
func TestHyperMCPv2Notifications(t *testing.T) {
	c := newV2Client()
	f := newFixtureOn(t, c.Client, registrytest.New(t, registrytest.Options{Logger: quietLogger(), Plugins: []string{"testdata/compat/hypermcp-v2"}}), preSEP2322)
	if err := f.session.SetLoggingLevel(context.Background(), &mcp.SetLoggingLevelParams{Level: "info"}); err != nil {
		t.Fatal(err)
	}
	params := &mcp.CallToolParams{Name: "hypermcp-v2.shout-text", Arguments: map[string]any{"text": "hello"}}
	params.SetProgressToken("tok-1")
	res, err := f.session.CallTool(context.Background(), params)
	<-f.calls.started
	<-f.calls.ended
	if err != nil || res.IsError || text(t, res) != `"HELLO"` {
		t.Fatalf("shout-text: %+v %v", res, err)
	}
	if p := <-c.progress; p.ProgressToken != "tok-1" || p.Message != "shouted" || p.Progress != 1 {
		t.Errorf("progress: %+v", p)
	}
	if l := <-c.logs; l.Level != "info" || l.Data != "shouting hello" || l.Logger != "shout" {
		t.Errorf("log: %+v", l)
	}
}

// TestHyperMCPv2ClientRequests: create_message, create_elicitation and list_roots reach the
// client only for a plugin granted sampling, elicitation and roots; without the grant each
// call is refused (denied) with a clear message, the client is never asked, and the plugin
// keeps serving.
func TestHyperMCPv2ClientRequests(t *testing.T) {
	tools := []struct{ tool, args, granted, refusal string }{
		{"ask-model", `{"text":"2+2?"}`, "client-model says: an answer to 2+2?", `sampling was not granted to this plugin`},
		{"ask-user", `{"text":"proceed?"}`, "accept: yes to proceed?", `elicitation was not granted to this plugin`},
		{"roots", `{}`, `file:///home/user/project`, `roots was not granted to this plugin`},
	}
	t.Run("not granted", func(t *testing.T) {
		c := newV2Client()
		f := newFixture(t, c.Client, nil, "testdata/compat/hypermcp-v2")
		for _, tt := range tools {
			res := f.call(t, "hypermcp-v2."+tt.tool, rawArgs(tt.args))
			if !res.IsError || !strings.Contains(text(t, res), "denied") || !strings.Contains(text(t, res), tt.refusal) {
				t.Errorf("%s: isError=%v %q", tt.tool, res.IsError, text(t, res))
			}
			if res := f.call(t, "hypermcp-v2.shout-text", map[string]any{"text": "still here"}); res.IsError || text(t, res) != `"STILL HERE"` {
				t.Fatalf("after %s: %q", tt.tool, text(t, res))
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(c.asked) > 0 || strings.Contains(strings.Join(f.received, " "), "roots/list") {
			t.Fatalf("the client was asked: %v %v", c.asked, f.received)
		}
	})
	t.Run("granted", func(t *testing.T) {
		c := newV2Client()
		h := registrytest.New(t, registrytest.Options{Logger: quietLogger()})
		cand, err := h.Registry.Inspect(context.Background(), v2Plugin(t, "log = true\nsampling = true\nelicitation = true\nroots = true\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Registry.Add(context.Background(), cand); err != nil {
			t.Fatal(err)
		}
		f := newFixtureOn(t, c.Client, h, preSEP2322)
		for _, tt := range tools {
			if res := f.call(t, "hypermcp-v2."+tt.tool, rawArgs(tt.args)); res.IsError || !strings.Contains(text(t, res), tt.granted) {
				t.Errorf("%s: isError=%v %q", tt.tool, res.IsError, text(t, res))
			}
		}
		// Granted, but called for nobody (as by hermes tools call): refused, with the reason.
		_, err = f.reg.Call(context.Background(), "hypermcp-v2.ask-model", []byte(`{"text":"x"}`))
		if err == nil || !strings.Contains(err.Error(), "there is no client to ask") {
			t.Fatalf("no client: %v", err)
		}
	})
}

func rawArgs(s string) map[string]any {
	if s == `{}` {
		return map[string]any{}
	}
	_, v, _ := strings.Cut(strings.Trim(s, "{}"), ":")
	return map[string]any{"text": strings.Trim(v, `"`)}
}
