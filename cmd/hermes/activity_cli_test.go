package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// A tool call's file reads, the refused ones included, are in `hermes plugins activity`.
func TestPluginsActivityCLI(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "plugins/files"), "--yes", "--allow-unsigned")
	if err := os.WriteFile(filepath.Join(c.workspace, "note.txt"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := c.mustRun(t, "plugins", "activity", "files"); !strings.Contains(out, "No activity recorded for files") {
		t.Errorf("before any call: %q", out)
	}
	c.mustRun(t, "tools", "call", "files.read", `{"path":"note.txt"}`)
	c.run(t, "", "tools", "call", "files.read", `{"path":"missing.txt"}`)

	out := c.mustRun(t, "plugins", "activity", "files")
	for _, want := range []string{"ok      fs    read   /workspace/note.txt  (read)", "error   fs    read   /workspace/missing.txt  (read)"} {
		if !strings.Contains(out, want) {
			t.Errorf("activity lacks %q:\n%s", want, out)
		}
	}
	var events []struct {
		Plugin, Tool, Kind, Op, Target, Outcome string
	}
	if err := json.Unmarshal([]byte(c.mustRun(t, "plugins", "activity", "--limit", "1", "files", "--json")), &events); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Target != "/workspace/missing.txt" || events[0].Tool != "read" || events[0].Outcome != "error" {
		t.Errorf("--json --limit 1: %+v", events)
	}
	c.wantExit(t, ExitUsage, "plugins activity takes one plugin name", "plugins", "activity")
	c.wantExit(t, ExitUsage, "--limit 0: give a positive number", "plugins", "activity", "--limit", "0", "files")
}

// A path outside every file grant reaches a Go plugin as EBADF ("Bad file number"): `tools call`
// says on stderr, in one line of its own, what happened, and the denial is in the activity. A
// path inside the grant prints no such line, and the host goes on answering.
func TestToolsCallSaysAPathIsOutsideTheGrants(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/hostile/fsescape"), "--yes", "--allow-unsigned")
	if err := os.WriteFile(filepath.Join(c.workspace, "note.txt"), []byte("hi"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(c.home, ".env")
	// The second path leaves the workspace by "..": the guest's runtime resolves it to /home/.env
	// (a guest path: the workspace is mounted at /workspace) and finds no grant holding that.
	for _, tt := range []struct{ path, shown string }{{secret, secret}, {"/workspace/../home/.env", "/home/.env"}} {
		path := tt.path
		out, errOut, code := c.run(t, "", "tools", "call", "hostile-fsescape.read", `{"path":"`+path+`"}`)
		if code != ExitError {
			t.Fatalf("read %s: exit %d, want %d (the plugin's own error)\nstdout: %s\nstderr: %s", path, code, ExitError, out, errOut)
		}
		want := "denied: " + tt.shown + " is outside the plugin's file grants\n"
		if !strings.HasPrefix(errOut, want) {
			t.Errorf("read %s: stderr does not start with %q:\n%s", path, want, errOut)
		}
		if !strings.Contains(errOut, "Bad file number") {
			t.Errorf("read %s: the plugin's own error is gone:\n%s", path, errOut)
		}
	}
	out, errOut, code := c.run(t, "", "tools", "call", "hostile-fsescape.read", `{"path":"/workspace/note.txt"}`)
	if code != 0 || !strings.Contains(out, `"hi"`) || strings.Contains(errOut, "denied") {
		t.Fatalf("read inside the grant: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var events []struct {
		Plugin, Tool, Kind, Op, Target, Outcome, Detail string
	}
	if err := json.Unmarshal([]byte(c.mustRun(t, "plugins", "activity", "hostile-fsescape", "--json")), &events); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range events {
		if e.Target == secret && e.Outcome == "denied" && e.Kind == "fs" && e.Tool == "read" && strings.Contains(e.Detail, "outside the plugin's file grants") {
			found = true
		}
	}
	if !found {
		t.Errorf("no denial of %s in the activity: %+v", secret, events)
	}
}

// `hermes run` shows, under the tool call, the line the host told about it (a path outside the
// plugin's file grants), indented on stderr.
func TestRunSaysAPathIsOutsideTheGrants(t *testing.T) {
	model := newScriptedModelFor(t, "hostile-fsescape__read", `{"path":"/home/x/.env"}`)
	c := newCLI(t)
	c.mustRun(t, "config", "set", "model.base_url", model.URL+"/v1")
	c.mustRun(t, "config", "set", "model.name", "scripted")
	c.mustRun(t, "config", "set", "OPENROUTER_API_KEY", "sk-or-v1-x")
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/hostile/fsescape"), "--yes", "--allow-unsigned")
	out, errOut, code := c.run(t, "", "run", "read my secrets")
	if code != 0 || !strings.Contains(errOut, "\n  denied: /home/x/.env is outside the plugin's file grants\n") {
		t.Fatalf("run: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
