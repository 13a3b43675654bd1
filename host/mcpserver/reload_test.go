package mcpserver

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"github.com/hermes-agent/hermes/store"
)

func (f *fixture) listed(t *testing.T) []string {
	t.Helper()
	res, err := f.session.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// TestToolsFollowTheLock: a running server notices what another process does to the lock (as
// `hermes plugins disable X` in another terminal): the next tools/list no longer offers a
// disabled plugin's tools, calling one is a result saying why, enabling it again offers it
// again, and a module changed on disk is refused after the next lock change — all without a
// restart, the server serving the other plugins meanwhile.
func TestToolsFollowTheLock(t *testing.T) {
	h := registrytest.New(t, registrytest.Options{Logger: quietLogger(), Plugins: []string{"sdk/c/example", "testdata/hostile/loop"}})
	changed := make(chan struct{}, 1)
	client := mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "1"}, &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case changed <- struct{}{}:
			default:
			}
		},
	})
	f := newFixtureOn(t, client, h, nil)
	ctx := context.Background()
	if got := f.listed(t); !slices.Contains(got, "textstats.count") || !slices.Contains(got, "hostile-loop.spin") {
		t.Fatalf("tools at start: %v", got)
	}
	if res := f.call(t, "textstats.count", map[string]any{"text": "a b"}); res.IsError {
		t.Fatalf("call: %s", text(t, res))
	}
	other, err := store.Open(h.Paths.StateDB)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	if err := other.SetPluginEnabled(ctx, "textstats", false); err != nil {
		t.Fatal(err)
	}
	got := f.listed(t)
	if slices.ContainsFunc(got, func(n string) bool { return strings.HasPrefix(n, "textstats.") }) || !slices.Contains(got, "hostile-loop.spin") {
		t.Fatalf("tools after textstats was disabled elsewhere: %v", got)
	}
	res := f.call(t, "textstats.count", map[string]any{"text": "a b"})
	if !res.IsError || !strings.HasPrefix(text(t, res), "textstats.count: denied: plugin is disabled") {
		t.Fatalf("call of a disabled plugin's tool: isError=%v %q", res.IsError, text(t, res))
	}
	select {
	case <-changed:
	case <-time.After(10 * time.Second):
		t.Fatal("the client was not told that the tools changed")
	}

	if err := other.SetPluginEnabled(ctx, "textstats", true); err != nil {
		t.Fatal(err)
	}
	if got := f.listed(t); !slices.Contains(got, "textstats.count") {
		t.Fatalf("tools after textstats was enabled again: %v", got)
	}
	if res := f.call(t, "textstats.count", map[string]any{"text": "a b"}); res.IsError {
		t.Fatalf("call after enable: %s", text(t, res))
	}

	// The module's file changes on disk; the next lock change (any) has it checked again.
	rec, err := h.DB.GetPlugin(ctx, "textstats")
	if err != nil {
		t.Fatal(err)
	}
	wasmPath := filepath.Join(rec.Dir, "textstats.wasm")
	b, err := os.ReadFile(wasmPath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(wasmPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := other.SetPluginEnabled(ctx, "hostile-loop", false); err != nil {
		t.Fatal(err)
	}
	res = f.call(t, "textstats.count", map[string]any{"text": "a b"})
	if !res.IsError || !strings.HasPrefix(text(t, res), "textstats.count: bad_plugin: ") || !strings.Contains(text(t, res), "sha256") {
		t.Fatalf("call of a tampered module: isError=%v %q", res.IsError, text(t, res))
	}
	// Removed elsewhere: gone from the list, and a call says there is no such plugin.
	if err := other.RemovePlugin(ctx, "textstats", ""); err != nil {
		t.Fatal(err)
	}
	if got := f.listed(t); len(got) != 0 {
		t.Fatalf("tools after every plugin was disabled or removed: %v", got)
	}
	res = f.call(t, "textstats.count", map[string]any{"text": "a b"})
	if !res.IsError || !strings.HasPrefix(text(t, res), "textstats.count: not_found: no such plugin") {
		t.Fatalf("call of a removed plugin's tool: isError=%v %q", res.IsError, text(t, res))
	}
	// A tool that never was is still a protocol error.
	if _, err := f.session.CallTool(ctx, &mcp.CallToolParams{Name: "plugins.add"}); err == nil || !strings.Contains(err.Error(), "unknown tool") {
		t.Fatalf("unknown tool: %v", err)
	}
}
