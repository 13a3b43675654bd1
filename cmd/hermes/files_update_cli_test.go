package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// TestFilesUpdateFromTheFirstRelease: a home that installed files 0.1.0 (read, list and search
// under an fs_read grant) gets files.write and files.edit with `plugins update files`, after a
// review that names the wider grant. The shipped plugin changed its module and its grant, so it
// must carry a new version: the same version with other bytes is refused as a moved tag.
func TestFilesUpdateFromTheFirstRelease(t *testing.T) {
	c := newCLI(t)
	shipped := testplugins.Dir(t, "plugins/files")
	old := copyDir(t, shipped)
	manifest := filepath.Join(old, "plugin.toml")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^version\s*=.*$`).ReplaceAllString(string(data), `version     = "0.1.0"`)
	m = regexp.MustCompile(`(?m)^fs_write\s*=`).ReplaceAllString(m, "fs_read =")
	if m == string(data) || !strings.Contains(m, `"0.1.0"`) || !strings.Contains(m, "fs_read =") {
		t.Fatalf("could not make the 0.1.0 manifest from:\n%s", data)
	}
	if err := os.WriteFile(manifest, []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	c.mustRun(t, "plugins", "install", old, "--yes", "--allow-unsigned")

	out := c.mustRun(t, "plugins", "update", "files", "--from", shipped, "--yes", "--allow-unsigned")
	for _, want := range []string{"0.2.0", "write"} {
		if !strings.Contains(out, want) {
			t.Errorf("update output lacks %q:\n%s", want, out)
		}
	}
	tools := c.mustRun(t, "tools", "list")
	for _, want := range []string{"files.write", "files.edit", "files.read"} {
		if !strings.Contains(tools, want) {
			t.Errorf("tools list lacks %s after the update:\n%s", want, tools)
		}
	}
}
