package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// extismManifest writes one of go-sdk's published test modules, unchanged, and an Extism
// manifest naming it (JSON, as Extism hosts and hyper-mcp's config load it); it returns the
// manifest's path and the module's sha256.
func extismManifest(t *testing.T, module, manifestJSON string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	wasm := testplugins.GoSDKWasm(t, module)
	os.WriteFile(filepath.Join(dir, module), wasm, 0o644)
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	path := filepath.Join(dir, "manifest.json")
	os.WriteFile(path, []byte(strings.ReplaceAll(manifestJSON, "HASH", digest)), 0o644)
	return path, digest
}

// textResult is the text of a tool whose output is text, as tools call prints it (a JSON
// string).
func textResult(t *testing.T, out string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("not a text result: %q (%v)", out, err)
	}
	return s
}

// TestExtismManifestInstall installs go-sdk v1.7.1's count_vowels by an Extism manifest with
// allowed_hosts, config, memory and timeout_ms: the review shows hermes' grants in plain
// words, and the tool gives the answer TestExtismPluginsUnchanged expects of the same module
// with a hand-written plugin.toml.
func TestExtismManifestInstall(t *testing.T) {
	c := newCLI(t)
	file, digest := extismManifest(t, "count_vowels.wasm", `{
  "wasm": [{"path": "count_vowels.wasm", "hash": "HASH", "name": "main"}],
  "allowed_hosts": ["api.example.com", "*.example.org"],
  "config": {"vowels": "aeiouy"},
  "memory": {"max_pages": 64},
  "timeout_ms": 5000
}`)
	out := c.mustRun(t, "plugins", "install", file, "--yes", "--allow-unsigned")
	for _, want := range []string{
		"Plugin:  count-vowels 0.0.0", "Source:  extism:" + file, digest, "count-vowels.count_vowels",
		"may send HTTP requests to api.example.com and *.example.org",
		"may keep its own persistent key-value data",
		"Settings (plugin.toml [config]", `vowels = "aeiouy"`,
		"Limits:  memory 4 MiB, 5s per call",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("review lacks %q:\n%s", want, out)
		}
	}
	// An export made a tool takes and returns text (as extism call does): the module's JSON
	// comes as a string.
	wantCountVowels(t, c, "count-vowels.count_vowels", func(out string) string { return textResult(t, out) })
	// --name names it; memory.max_var_bytes 0 (no vars, in Extism) grants no kv, and its var
	// calls are refused.
	file, _ = extismManifest(t, "count_vowels.wasm", `{"wasm": [{"path": "count_vowels.wasm"}], "config": {"vowels": "aeiou"}, "memory": {"max_var_bytes": 0}}`)
	out = c.mustRun(t, "plugins", "install", file, "--name", "novars", "--yes", "--allow-unsigned")
	if !strings.Contains(out, "imports stored variables (var_get/var_set) but was not granted it") {
		t.Errorf("review:\n%s", out)
	}
	c.wantExit(t, ExitDenied, `"kv"`, "tools", "call", "novars.count_vowels", `{"input":"hello"}`)
}

// TestExtismManifestReadOnlyPath: go-sdk's read_write module (the one go-sdk's own
// TestReadOnlyMount uses) under an "ro:" allowed path reads its file and is refused a write,
// which leaves the file as it was; at its own path and mapped to /mnt.
func TestExtismManifestReadOnlyPath(t *testing.T) {
	c := newCLI(t)
	shared := t.TempDir()
	target := filepath.Join(shared, "test.txt")
	os.WriteFile(target, []byte("hello world!"), 0o644)
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	file, _ := extismManifest(t, "read_write.wasm", `{
  "wasm": [{"path": "read_write.wasm"}],
  "allowed_paths": {`+q("ro:"+shared)+`: `+q(shared)+`},
  "config": {"path": `+q(target)+`}
}`)
	out := c.mustRun(t, "plugins", "install", file, "--yes", "--allow-unsigned")
	for _, want := range []string{"read-write.try_read", "read-write.try_write", "may read files in " + shared} {
		if !strings.Contains(out, want) {
			t.Errorf("review lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "may read and write files") {
		t.Errorf("an ro: path is granted read-write:\n%s", out)
	}
	// readOnly: the plugin's try_read reads the file, and its try_write is refused and leaves
	// the file as it was.
	readOnly := func(plugin, where string) {
		t.Helper()
		if out := textResult(t, c.mustRun(t, "tools", "call", plugin+".try_read", `{"input":""}`)); out != "hello world!" {
			t.Fatalf("try_read%s: %q", where, out)
		}
		c.wantExit(t, ExitError, "Failed to write file", "tools", "call", plugin+".try_write", `{"input":"hello hello!"}`)
		if b, _ := os.ReadFile(target); string(b) != "hello world!" {
			t.Fatalf("the read-only file was written: %q", b)
		}
	}
	readOnly("read-write", "")

	// Seen elsewhere, as go-sdk's own TestReadOnlyMount and TestFS mount them: "ro:DIR" at
	// /mnt, read-only; a directory relative to the manifest ("testdata") at /mnt, read-write.
	file, _ = extismManifest(t, "read_write.wasm", `{"wasm": [{"path": "read_write.wasm"}], "allowed_paths": {`+q("ro:"+shared)+`: "/mnt"}, "config": {"path": "/mnt/test.txt"}}`)
	out = c.mustRun(t, "plugins", "install", file, "--name", "mapped", "--yes", "--allow-unsigned")
	if !strings.Contains(out, "may read files in "+shared+" (which it sees as /mnt)") {
		t.Errorf("review:\n%s", out)
	}
	readOnly("mapped", " at /mnt")
	file, _ = extismManifest(t, "fs.wasm", `{"wasm": [{"path": "fs.wasm"}], "allowed_paths": {"testdata": "/mnt"}}`)
	os.MkdirAll(filepath.Join(filepath.Dir(file), "testdata"), 0o755)
	os.WriteFile(filepath.Join(filepath.Dir(file), "testdata", "test.txt"), []byte("hello world!"), 0o644)
	out = c.mustRun(t, "plugins", "install", file, "--yes", "--allow-unsigned")
	if !strings.Contains(out, "may read and write files in "+filepath.Join(filepath.Dir(file), "testdata")+" (which it sees as /mnt)") {
		t.Errorf("review:\n%s", out)
	}
	if out := textResult(t, c.mustRun(t, "tools", "call", "fs.run_test", `{"input":""}`)); out != "hello world!" {
		t.Fatalf("fs.run_test: %q", out)
	}
}

// TestExtismManifestRefusals: a module whose sha256 is not the manifest's hash, an unknown key
// and linked modules are each refused in one line, and nothing is installed.
func TestExtismManifestRefusals(t *testing.T) {
	c := newCLI(t)
	wrong := strings.Repeat("0", 64)
	file, digest := extismManifest(t, "count_vowels.wasm", `{"wasm": [{"path": "count_vowels.wasm", "hash": "`+wrong+`"}]}`)
	errOut := c.wantExit(t, ExitBadPlugin, "count_vowels.wasm has sha256 "+digest+" but the manifest's hash is "+wrong, "plugins", "install", file, "--yes", "--allow-unsigned")
	if !strings.Contains(errOut, file) {
		t.Errorf("the error does not name the manifest: %s", errOut)
	}
	file, _ = extismManifest(t, "count_vowels.wasm", `{"wasm": [{"path": "count_vowels.wasm"}], "allowed_env": ["HOME"]}`)
	c.wantExit(t, ExitBadPlugin, `unknown key "allowed_env"`, "plugins", "install", file, "--yes", "--allow-unsigned")
	file, _ = extismManifest(t, "count_vowels.wasm", `{"wasm": [{"path": "count_vowels.wasm"}, {"path": "count_vowels.wasm", "name": "lib"}]}`)
	c.wantExit(t, ExitBadPlugin, "does not link modules together", "plugins", "install", file, "--yes", "--allow-unsigned")
	file, _ = extismManifest(t, "count_vowels.wasm", `{"wasm": [{"path": "count_vowels.wasm"}], "allowed_hosts": ["*"]}`)
	c.wantExit(t, ExitBadPlugin, `"*" (every host) is not granted`, "plugins", "install", file, "--yes", "--allow-unsigned")
	if out := c.mustRun(t, "plugins", "list"); strings.Contains(out, "count-vowels") {
		t.Fatalf("installed anyway:\n%s", out)
	}
}

// TestExtismManifestImport: hermes plugins import writes a plugin directory whose plugin.toml
// installs to the same lock entry as the manifest itself: name, version, module digest,
// grants, settings, limits and tools.
func TestExtismManifestImport(t *testing.T) {
	file, _ := extismManifest(t, "count_vowels.wasm", `{
  "wasm": [{"path": "count_vowels.wasm", "hash": "HASH"}],
  "allowed_hosts": ["api.example.com"],
  "config": {"vowels": "aeiou"},
  "timeout_ms": 2500
}`)
	direct, imported := newCLI(t), newCLI(t)
	direct.mustRun(t, "plugins", "install", file, "--yes", "--allow-unsigned")
	out := filepath.Join(t.TempDir(), "vowels")
	if msg := imported.mustRun(t, "plugins", "import", file, "--out", out); !strings.Contains(msg, "hermes plugins install "+out) {
		t.Errorf("import: %s", msg)
	}
	toml, _ := os.ReadFile(filepath.Join(out, "plugin.toml"))
	for _, want := range []string{`name        = "count-vowels"`, `http     = ["api.example.com"]`, `"vowels" = "aeiou"`, `timeout             = "2.5s"`, `name        = "count_vowels"`} {
		if !strings.Contains(string(toml), want) {
			t.Errorf("plugin.toml lacks %q:\n%s", want, toml)
		}
	}
	imported.mustRun(t, "plugins", "install", out, "--yes", "--allow-unsigned")
	entry := func(c *cliHome) map[string]any {
		var info map[string]any
		if err := json.Unmarshal([]byte(c.mustRun(t, "plugins", "info", "count-vowels", "--json")), &info); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"source", "added_at", "dir"} {
			delete(info, k)
		}
		return info
	}
	a, b := entry(direct), entry(imported)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("lock entries differ:\n%s\n%s", ja, jb)
	}
	if out := textResult(t, imported.mustRun(t, "tools", "call", "count-vowels.count_vowels", `{"input":"hello"}`)); !strings.Contains(out, `"count":2`) {
		t.Fatalf("count_vowels: %s", out)
	}
	imported.wantExit(t, ExitError, "plugin.toml already exists", "plugins", "import", file, "--out", out)
}

// TestExtismManifestHyperMCP: a hyper-mcp module named by an Extism manifest (by an absolute
// path) gets its tools from its own exports, as with a plugin.toml, and no [[tools]] are made.
func TestExtismManifestHyperMCP(t *testing.T) {
	c := newCLI(t)
	module := filepath.Join(testplugins.Dir(t, "testdata/compat/hypermcp-v1"), "hypermcp-v1.wasm")
	file := filepath.Join(t.TempDir(), "hyper.json")
	b, _ := json.Marshal(map[string]any{"wasm": []map[string]string{{"path": module}}})
	os.WriteFile(file, b, 0o644)
	out := c.mustRun(t, "plugins", "install", file, "--yes", "--allow-unsigned")
	if !strings.Contains(out, "hypermcp-v1.shout-text") {
		t.Fatalf("review:\n%s", out)
	}
	if info := c.mustRun(t, "plugins", "info", "hypermcp-v1"); !strings.Contains(info, "Module:   hyper-mcp v1 (describe/call)") {
		t.Errorf("plugins info:\n%s", info)
	}
	if out := strings.TrimSpace(c.mustRun(t, "tools", "call", "hypermcp-v1.shout-text", `{"text":"hello"}`)); out != `"HELLO"` {
		t.Fatalf("shout-text: %s", out)
	}
}

// TestExtismManifestUpdate: a plugin from an Extism manifest updates from it (its recorded
// source, keeping its name); other bytes under the same (absent) version ask for --version.
func TestExtismManifestUpdate(t *testing.T) {
	c := newCLI(t)
	file, _ := extismManifest(t, "count_vowels.wasm", `{"wasm": [{"path": "count_vowels.wasm"}], "config": {"vowels": "aeiou"}}`)
	c.mustRun(t, "plugins", "install", file, "--name", "vowels", "--version", "1.0.0", "--yes", "--allow-unsigned")
	if out := c.mustRun(t, "plugins", "update", "vowels"); !strings.Contains(out, "up to date") {
		t.Fatalf("update: %s", out)
	}
	std := testplugins.GoSDKWasm(t, "count_vowels_std.wasm")
	os.WriteFile(filepath.Join(filepath.Dir(file), "count_vowels_std.wasm"), std, 0o644)
	os.WriteFile(file, []byte(`{"wasm": [{"path": "count_vowels_std.wasm"}], "config": {"vowels": "aeiou", "thing": "x"}, "allowed_hosts": ["api.example.com"]}`), 0o644)
	c.wantExit(t, ExitBadPlugin, "--version VERSION, higher than 1.0.0", "plugins", "update", "vowels", "--yes", "--allow-unsigned")
	out := c.mustRun(t, "plugins", "update", "vowels", "--version", "1.1.0", "--yes", "--allow-unsigned")
	if !strings.Contains(out, "may send HTTP requests to api.example.com") || !strings.Contains(out, "Updated vowels 1.0.0 -> 1.1.0") {
		t.Fatalf("update:\n%s", out)
	}
	// count_vowels_std is a command module: its one tool is its _start.
	if out := textResult(t, c.mustRun(t, "tools", "call", "vowels.main", `{"input":"hello world"}`)); !strings.Contains(out, `"count": 3`) {
		t.Fatalf("vowels.main: %q", out)
	}
}
