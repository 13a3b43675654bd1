package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// TestFilesWriteInTheSandbox: files.write and files.edit through the real module in the real
// sandbox. Inside the workspace (its fs_write grant) they write; out of it, through links, with
// .., oversize or ambiguous they are refused with a reason and nothing outside changes; and a
// files plugin granted only fs_read cannot write at all, even where the plugin's own checks
// would let it.
func TestFilesWriteInTheSandbox(t *testing.T) {
	f := newFixture(t, nil)
	f.plantSecrets(t)
	c := f.add(t, testplugins.Dir(t, "plugins/files"))
	if got := strings.Join(c.Manifest.Capabilities.Describe(), "; "); got != "may read and write files in your workspace" {
		t.Fatalf("the install review says %q", got)
	}
	os.Symlink(f.paths.Env, filepath.Join(f.ws, "link-to-env"))
	os.Symlink(f.paths.Home, filepath.Join(f.ws, "link-to-home"))
	os.WriteFile(filepath.Join(f.ws, "main.go"), []byte("a\nsame\nb\nsame\n"), 0o644)
	ctx := context.Background()
	call := func(tool string, args string) ([]byte, error) { return f.reg.Call(ctx, tool, []byte(args)) }

	if out, err := call("files.write", `{"path":"notes/todo.txt","content":"ship it\n","make_dirs":true}`); err != nil || !strings.Contains(string(out), `"created":true`) {
		t.Fatalf("write: %s %v", out, err)
	}
	if got, _ := os.ReadFile(filepath.Join(f.ws, "notes/todo.txt")); string(got) != "ship it\n" {
		t.Fatalf("written: %q", got)
	}
	if out, err := call("files.edit", `{"path":"main.go","diff":"@@ -1,2 +1,2 @@\n-a\n+A\n same\n"}`); err != nil {
		t.Fatalf("edit: %s %v", out, err)
	}
	if got, _ := os.ReadFile(filepath.Join(f.ws, "main.go")); string(got) != "A\nsame\nb\nsame\n" {
		t.Fatalf("edited: %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(f.ws, "main.go")); fi.Mode().Perm() != 0o644 {
		t.Fatalf("an edited file has mode %v, was 0644", fi.Mode().Perm())
	}

	envBefore, _ := os.ReadFile(f.paths.Env)
	for _, tc := range []struct{ name, tool, args, want string }{
		{"dot-dot", "files.write", `{"path":"../home/.env","content":"X=1"}`, "leads out of the workspace"},
		{"absolute", "files.write", fmt.Sprintf(`{"path":%q,"content":"X=1"}`, f.paths.Env), "outside the workspace"},
		{"symlink to a file outside", "files.write", `{"path":"link-to-env","content":"X=1"}`, "symbolic link to an absolute path"},
		{"symlink to a directory outside", "files.write", `{"path":"link-to-home/.env","content":"X=1"}`, "symbolic link to an absolute path"},
		{"edit through a symlink", "files.edit", `{"path":"link-to-env","old_text":"OPENROUTER","new_text":"X"}`, "symbolic link to an absolute path"},
		{"oversize", "files.write", fmt.Sprintf(`{"path":"big.txt","content":%q}`, strings.Repeat("x", 4<<20+1)), "at most 4194304"},
		{"ambiguous edit", "files.edit", `{"path":"main.go","old_text":"same","new_text":"other"}`, "occurs 2 times in main.go (at lines 2, 4)"},
		{"stale edit", "files.edit", `{"path":"main.go","old_text":"gone","new_text":"x"}`, "stale"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(tc.tool, tc.args)
			assertNoLeak(t, out, err)
			if err == nil || abi.CodeOf(err) != abi.CodeToolError || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: %s %v; want a tool_error with %q", tc.tool, out, err, tc.want)
			}
		})
	}
	if after, _ := os.ReadFile(f.paths.Env); string(after) != string(envBefore) {
		t.Fatal(".env changed")
	}
	if got, _ := os.ReadFile(filepath.Join(f.ws, "main.go")); string(got) != "A\nsame\nb\nsame\n" {
		t.Fatalf("a refused edit changed the file: %q", got)
	}
	if _, err := os.Stat(filepath.Join(f.ws, "big.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an oversize write left a file: %v", err)
	}

	// Granted only fs_read: the sandbox refuses the write the plugin attempts.
	ro := newFixture(t, nil)
	ro.add(t, copyPlugin(t, "plugins/files", func(m string) string {
		return strings.Replace(m, `fs_write = ["{workspace}"]`, `fs_read = ["{workspace}"]`, 1)
	}))
	os.WriteFile(filepath.Join(ro.ws, "keep.txt"), []byte("keep\n"), 0o644)
	for _, args := range []string{`{"path":"keep.txt","content":"gone"}`, `{"path":"new.txt","content":"x"}`} {
		out, err := ro.reg.Call(ctx, "files.write", []byte(args))
		if err == nil || !strings.Contains(err.Error(), "not inside a directory the files plugin may write: grant it fs_write") {
			t.Fatalf("read-only write %s: %s %v", args, out, err)
		}
	}
	out, err := ro.reg.Call(ctx, "files.edit", []byte(`{"path":"keep.txt","old_text":"keep","new_text":"gone"}`))
	if err == nil || !strings.Contains(err.Error(), "grant it fs_write") {
		t.Fatalf("read-only edit: %s %v", out, err)
	}
	if got, _ := os.ReadFile(filepath.Join(ro.ws, "keep.txt")); string(got) != "keep\n" {
		t.Fatalf("a read-only plugin changed a file: %q", got)
	}
	if entries, _ := os.ReadDir(ro.ws); len(entries) != 1 {
		t.Fatalf("a read-only plugin left files: %v", entries)
	}
	f.assertGoodPluginAnswers(t)
}
