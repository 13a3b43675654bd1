package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// TestFilesUpdateFromTheFirstRelease: a home that installed files 0.1.0 (under an fs_read grant)
// gets the shipped plugin, which writes and edits under fs_write, with `plugins update files`.
// The shipped plugin changed its module and its grant since 0.1.0, so it must carry a new
// version: at 0.1.0 the update is refused as the same version with other bytes.
func TestFilesUpdateFromTheFirstRelease(t *testing.T) {
	c := newCLI(t)
	shipped := testplugins.Dir(t, "plugins/files")
	old := testplugins.CopyTree(t, shipped)
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
	if info := c.mustRun(t, "plugins", "info", "files"); !strings.Contains(info, "files 0.1.0") || strings.Contains(info, "read and write") {
		t.Fatalf("the 0.1.0 install:\n%s", info)
	}

	c.mustRun(t, "plugins", "update", "files", "--from", shipped, "--yes", "--allow-unsigned")
	info := c.mustRun(t, "plugins", "info", "files")
	for _, want := range []string{"files 0.2.0", "may read and write files in your workspace", "files.write", "files.edit"} {
		if !strings.Contains(info, want) {
			t.Errorf("plugins info after the update lacks %q:\n%s", want, info)
		}
	}
}
