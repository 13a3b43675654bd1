package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// compatDir is a plugin directory of one of go-sdk's published test modules, unchanged, with
// only a plugin.toml beside it.
func compatDir(t *testing.T, name, module, toml string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, module), testplugins.GoSDKWasm(t, module), 0o644)
	head := "name = \"" + name + "\"\nversion = \"1.0.0\"\nabi = 1\ndescription = \"go-sdk test plugin\"\nwasm = \"" + module + "\"\n"
	os.WriteFile(filepath.Join(dir, "plugin.toml"), []byte(head+toml), 0o644)
	return dir
}

// wantCountVowels calls tool, go-sdk's count_vowels configured with the vowels "aeiouy", on a
// fresh install: "hello yellow" has 5 of them, and after "aaa" the running total the module
// keeps in its var is 8. result turns what tools call prints into the module's JSON.
func wantCountVowels(t *testing.T, c *cliHome, tool string, result func(string) string) {
	t.Helper()
	var got struct {
		Count  int    `json:"count"`
		Total  int    `json:"total"`
		Vowels string `json:"vowels"`
	}
	out := result(c.mustRun(t, "tools", "call", tool, `{"input":"hello yellow"}`))
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Count != 5 || got.Vowels != "aeiouy" {
		t.Fatalf("count_vowels: %s (%v)", out, err)
	}
	out = result(c.mustRun(t, "tools", "call", tool, `{"input":"aaa"}`))
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Total != 8 {
		t.Fatalf("count_vowels keeps its running total in its var: %s (%v)", out, err)
	}
}

// TestExtismPluginsUnchanged installs go-sdk v1.7.1's prebuilt test plugins with only a
// plugin.toml declaring [[tools]] and [config], through the real CLI, and calls their tools.
// (host/wasm's TestGoSDKWasmUnderBothRuntimes compares the same modules with go-sdk itself.)
func TestExtismPluginsUnchanged(t *testing.T) {
	c := newCLI(t)
	vowels := compatDir(t, "vowels", "count_vowels.wasm", `
[capabilities]
kv = true

[config]
vowels = "aeiouy"

[[tools]]
name        = "count_vowels"
description = "Counts the vowels in a text"
input       = "text"
output      = "json"
`)
	out := c.mustRun(t, "plugins", "install", vowels, "--yes", "--allow-unsigned")
	for _, want := range []string{"vowels.count_vowels", "Settings (plugin.toml [config]", `vowels = "aeiouy"`} {
		if !strings.Contains(out, want) {
			t.Errorf("review lacks %q:\n%s", want, out)
		}
	}
	wantCountVowels(t, c, "vowels.count_vowels", func(out string) string { return out })
	c.wantExit(t, ExitUsage, "additional properties", "tools", "call", "vowels.count_vowels", `{"text":"no input"}`)
	if info := c.mustRun(t, "plugins", "info", "vowels"); !strings.Contains(info, "Module:   Extism (tools declared in plugin.toml)") || !strings.Contains(info, `Setting:  vowels = "aeiouy"`) {
		t.Errorf("plugins info:\n%s", info)
	}

	// Text output, an unset config key (length(0)) and a TinyGo command module.
	cfg := compatDir(t, "config", "config.wasm", `
[capabilities]
env = ["thing"]

[[tools]]
name        = "thing"
export      = "run_test"
description = "Shows the thing setting"
output      = "text"
`)
	c.mustRun(t, "plugins", "install", cfg, "--yes", "--allow-unsigned")
	if out := c.mustRun(t, "tools", "call", "config.thing", `{}`); !strings.Contains(out, "unset by host") {
		t.Fatalf("config.thing: %s", out)
	}

	// A declared tool the module does not export is refused at install, not at call time; so is a
	// module with neither describe nor [[tools]].
	missing := compatDir(t, "missing", "hello.wasm", `
[[tools]]
name        = "greet"
description = "Says hello"
output      = "text"
`)
	c.wantExit(t, ExitBadPlugin, `does not export "greet"`, "plugins", "install", missing, "--yes", "--allow-unsigned")
	bare := compatDir(t, "bare", "hello.wasm", "")
	c.wantExit(t, ExitBadPlugin, "declares no [[tools]]", "plugins", "install", bare, "--yes", "--allow-unsigned")

}

// TestExtismPluginsGetNoMoreThanGranted: an Extism-convention module installs without the
// capabilities it imports but was not granted, the review says so in plain words, and each call
// to such a function is refused (denied) while the host keeps serving. A native plugin keeps the
// strict import audit (host/wasm TestRefusedAtLoad).
func TestExtismPluginsGetNoMoreThanGranted(t *testing.T) {
	c := newCLI(t)
	tool := func(name, export string) string {
		return "\n[[tools]]\nname = \"" + name + "\"\nexport = \"" + export + "\"\ndescription = \"d\"\ninput = \"text\"\noutput = \"text\"\n"
	}
	tests := []struct {
		name, module, tool, toml string
		review, refusal          string
	}{
		{"var without kv", "count_vowels.wasm", "count", "[config]\nvowels = \"aeiou\"\n" + tool("count", "count_vowels"),
			"imports stored variables (var_get/var_set) but was not granted it: its reads and writes will be refused", `"kv"`},
		{"config without env", "config.wasm", "thing", tool("thing", "run_test"),
			"imports secrets and settings (config_get) but was not granted it: its reads of anything not in [config] will be refused", `"env"`},
		{"config key neither set nor granted", "config.wasm", "thing", "[config]\nother = \"x\"\n" + tool("thing", "run_test"),
			"", `key "thing" is not granted`},
		{"http without http", "http.wasm", "fetch", tool("fetch", "run_test"),
			"imports HTTP but was not granted it: its requests will be refused", `"http"`},
		{"http to a host not granted", "http.wasm", "fetch", "[capabilities]\nhttp = [\"127.0.0.1\"]\n" + tool("fetch", "run_test"),
			"", "jsonplaceholder.typicode.com"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "compat" + string(rune('a'+i))
			out := c.mustRun(t, "plugins", "install", compatDir(t, name, tt.module, tt.toml), "--yes", "--allow-unsigned")
			if tt.review != "" && !strings.Contains(out, tt.review) {
				t.Errorf("review lacks %q:\n%s", tt.review, out)
			}
			c.wantExit(t, ExitDenied, tt.refusal, "tools", "call", name+"."+tt.tool, `{"input":"hello"}`)
		})
	}
}

// TestGoPDKExamples installs go-pdk v1.1.3's examples (built unchanged by the Makefile, only a
// plugin.toml beside them) with the real CLI and runs them; the http example, not granted its
// host, is refused.
func TestGoPDKExamples(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/compat/gopdk-countvowels"), "--yes", "--allow-unsigned")
	for range 2 {
		if out := c.mustRun(t, "tools", "call", "gopdk-countvowels.count_vowels", `{"input":"hello world"}`); !strings.Contains(out, "JSON roundtrip: a === b") {
			t.Fatalf("count_vowels: %s", out)
		}
	}
	out := c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/compat/gopdk-http"), "--yes", "--allow-unsigned")
	if !strings.Contains(out, "imports HTTP but was not granted it: its requests will be refused") {
		t.Errorf("review:\n%s", out)
	}
	c.wantExit(t, ExitDenied, `"http"`, "tools", "call", "gopdk-http.http_get", `{}`)
}

// TestHyperMCPv1Plugin installs a hyper-mcp plugin of the first protocol (our own, written with
// go-pdk against the published contract) with no key beyond a native plugin's, and calls its
// hyphenated tool by the name it publishes: text content is the result, isError a tool error.
func TestHyperMCPv1Plugin(t *testing.T) {
	c := newCLI(t)
	out := c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/compat/hypermcp-v1"), "--yes", "--allow-unsigned")
	if !strings.Contains(out, "hypermcp-v1.shout-text") {
		t.Fatalf("review:\n%s", out)
	}
	if info := c.mustRun(t, "plugins", "info", "hypermcp-v1"); !strings.Contains(info, "Module:   hyper-mcp v1 (describe/call)") {
		t.Errorf("plugins info:\n%s", info)
	}
	if out := strings.TrimSpace(c.mustRun(t, "tools", "call", "hypermcp-v1.shout-text", `{"text":"hello"}`)); out != `"HELLO"` {
		t.Fatalf("shout-text: %s", out)
	}
	c.wantExit(t, ExitError, "nothing to shout", "tools", "call", "hypermcp-v1.shout-text", `{"text":""}`)
	c.wantExit(t, ExitUsage, "text", "tools", "call", "hypermcp-v1.shout-text", `{}`)

	// The same tool offered to an MCP client by hermes mcp serve.
	session, _ := mcpServe(t, c)
	res, err := session.CallTool(context.Background(), &mcp.CallToolParams{Name: "hypermcp-v1.shout-text", Arguments: map[string]any{"text": "over mcp"}})
	if err != nil || res.IsError || resultText(t, res) != `"OVER MCP"` {
		t.Fatalf("mcp serve: %+v %v", res, err)
	}
	res, err = session.CallTool(context.Background(), &mcp.CallToolParams{Name: "hypermcp-v1.shout-text", Arguments: map[string]any{"text": ""}})
	if err != nil || !res.IsError || !strings.Contains(resultText(t, res), "nothing to shout") {
		t.Fatalf("mcp serve isError: %+v %v", res, err)
	}
}

// TestHyperMCPv1PluginInTheAgent: the agent (hermes run, with the scripted model of the agent
// tests) calls the hyper-mcp tool and reads its text.
func TestHyperMCPv1PluginInTheAgent(t *testing.T) {
	model := newScriptedModelFor(t, "hypermcp-v1__shout-text", `{"text":"from the agent"}`)
	c := agentCLI(t, model)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/compat/hypermcp-v1"), "--yes", "--allow-unsigned")
	if out := c.mustRun(t, "run", "shout it"); !strings.Contains(out, "FROM THE AGENT") {
		t.Fatalf("run: %q", out)
	}
}

// TestHyperMCPv2Plugin installs a hyper-mcp plugin of the second protocol (the XTP schema's
// list_tools/call_tool, our own, written with go-pdk) and calls its tools by their published,
// hyphenated names through tools call, mcp serve and the agent. Its imports of what reaches the
// model or the user (create_message, create_elicitation, list_roots) were not granted: the
// review says so and each call is refused while the plugin keeps serving.
func TestHyperMCPv2Plugin(t *testing.T) {
	model := newScriptedModelFor(t, "hypermcp-v2__shout-text", `{"text":"from the agent"}`)
	c := agentCLI(t, model)
	out := c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/compat/hypermcp-v2"), "--yes", "--allow-unsigned")
	for _, want := range []string{"hypermcp-v2.shout-text", "hypermcp-v2.ask-model", "may write messages to hermes' log",
		"imports sampling (create_message) but was not granted it"} {
		if !strings.Contains(out, want) {
			t.Errorf("review lacks %q:\n%s", want, out)
		}
	}
	if info := c.mustRun(t, "plugins", "info", "hypermcp-v2"); !strings.Contains(info, "Module:   hyper-mcp v2 (list_tools/call_tool)") {
		t.Errorf("plugins info:\n%s", info)
	}
	if out := strings.TrimSpace(c.mustRun(t, "tools", "call", "hypermcp-v2.shout-text", `{"text":"hello"}`)); out != `"HELLO"` {
		t.Fatalf("shout-text: %s", out)
	}
	c.wantExit(t, ExitError, "nothing to shout", "tools", "call", "hypermcp-v2.shout-text", `{"text":""}`)
	c.wantExit(t, ExitDenied, "sampling was not granted to this plugin", "tools", "call", "hypermcp-v2.ask-model", `{"text":"hi"}`)
	c.wantExit(t, ExitDenied, "roots was not granted to this plugin", "tools", "call", "hypermcp-v2.roots", `{}`)

	session, _ := mcpServe(t, c)
	res, err := session.CallTool(context.Background(), &mcp.CallToolParams{Name: "hypermcp-v2.shout-text", Arguments: map[string]any{"text": "over mcp"}})
	if err != nil || res.IsError || resultText(t, res) != `"OVER MCP"` {
		t.Fatalf("mcp serve: %+v %v", res, err)
	}
	res, err = session.CallTool(context.Background(), &mcp.CallToolParams{Name: "hypermcp-v2.ask-user", Arguments: map[string]any{"text": "ok?"}})
	if err != nil || !res.IsError || !strings.Contains(resultText(t, res), "elicitation was not granted to this plugin") {
		t.Fatalf("mcp serve ask-user: %+v %v", res, err)
	}

	if out := c.mustRun(t, "run", "shout it"); !strings.Contains(out, "FROM THE AGENT") {
		t.Fatalf("run: %q", out)
	}
}
