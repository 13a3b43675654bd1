package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

// plantCyclicSchema installs testdata/hostile/cyclicschema into c's home as a hermes that did
// not check schemas could have (install refuses it today): its tool's parameters are a $ref
// cycle that never moves into the arguments, and validating against it overflowed Go's stack.
func plantCyclicSchema(t *testing.T, c *cliHome) {
	t.Helper()
	c.mustRun(t, "plugins", "list") // makes the home
	paths := config.PathsAt(c.home)
	db, err := store.Open(paths.StateDB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	engine, err := wasm.NewEngine(testplugins.CompileCacheDir(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Workspace = c.workspace
	reg := registry.New(db, engine, paths, cfg)
	defer reg.Close(context.Background())
	if _, err := reg.PlantUnchecked(context.Background(), testplugins.Dir(t, "testdata/hostile/cyclicschema")); err != nil {
		t.Fatal(err)
	}
}

const cyclicTool = "hostile-cyclicschema.loop"

// `tools call` on the planted tool is bad_plugin naming the cycle, at once, every time; the
// next call of another plugin works.
func TestToolsCallPlantedCyclicSchema(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	plantCyclicSchema(t, c)
	if out := c.mustRun(t, "tools", "list"); !strings.Contains(out, cyclicTool) {
		t.Fatalf("the planted tool is not listed:\n%s", out)
	}
	for range 2 {
		start := time.Now()
		c.wantExit(t, ExitBadPlugin, "leads back to itself", "tools", "call", cyclicTool, `{"x":{"y":1}}`)
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("the call took %s", d)
		}
	}
	if out := c.mustRun(t, "tools", "call", "textstats.count", `{"text":"a b"}`); !strings.Contains(out, `"words":2`) {
		t.Fatalf("count after the refused call: %s", out)
	}
}

// `mcp serve` with the planted plugin: tools/list answers, a tools/call of it is an error
// result naming bad_plugin and the cycle, and the server goes on answering.
func TestMCPServePlantedCyclicSchema(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	plantCyclicSchema(t, c)
	session, stderr := mcpServe(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := session.ListTools(ctx, nil)
	if err != nil {
		t.Fatalf("tools/list: %v\n%s", err, stderr.String())
	}
	listed := false
	for _, tool := range list.Tools {
		listed = listed || tool.Name == cyclicTool
	}
	if !listed {
		t.Fatalf("the planted tool is not offered: %+v", list.Tools)
	}
	for range 2 {
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: cyclicTool, Arguments: map[string]any{"x": map[string]any{"y": 1}}})
		if err != nil {
			t.Fatalf("tools/call: %v\n%s", err, stderr.String())
		}
		if text := resultText(t, res); !res.IsError || !strings.HasPrefix(text, cyclicTool+": bad_plugin: ") || !strings.Contains(text, "leads back to itself") {
			t.Fatalf("tools/call: %+v %s", res, text)
		}
		res, err = session.CallTool(ctx, &mcp.CallToolParams{Name: "textstats.count", Arguments: map[string]any{"text": "one two"}})
		if err != nil || res.IsError || resultText(t, res) != `{"bytes":7,"lines":1,"words":2}` {
			t.Fatalf("count after the planted tool: %+v %v\n%s", res, err, stderr.String())
		}
	}
	if _, err := session.ListTools(ctx, nil); err != nil {
		t.Fatalf("tools/list after: %v\n%s", err, stderr.String())
	}
	if err := session.Close(); err != nil {
		t.Fatalf("hermes mcp serve did not exit cleanly: %v\n%s", err, stderr.String())
	}
}

// `api` with the planted plugin: the model's call of its tool reads bad_plugin naming the cycle,
// the turn ends with an answer, and the server answers the next request.
func TestAPIPlantedCyclicSchema(t *testing.T) {
	model := newPromptModel(t)
	c := apiHome(t, model)
	plantCyclicSchema(t, c)
	p := startAPI(t, c, nil)
	for range 2 {
		r := apiPost(t, p.url, "", chatRequestBody(`call: hostile-cyclicschema__loop {"x":{"y":1}}`, false))
		if got := completionText(t, r); !strings.HasPrefix(got, "The tool says: error: bad_plugin: ") || !strings.Contains(got, "leads back to itself") {
			t.Fatalf("answer %q\n%s", got, p.stderr.String())
		}
		r = apiPost(t, p.url, "", chatRequestBody("count: one two three", false))
		if got := completionText(t, r); got != `The tool says: {"bytes":13,"lines":1,"words":3}` {
			t.Fatalf("answer after the planted tool %q\n%s", got, p.stderr.String())
		}
	}
	req, _ := http.NewRequest(http.MethodGet, p.url+"/health", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /health: %v %v\n%s", res, err, p.stderr.String())
	}
	res.Body.Close()
}
