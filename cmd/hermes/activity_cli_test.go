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
