//go:build !wasip1

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

func readFile(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noTempFiles fails if a write left a temporary file behind.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".hermes-") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

func TestWrite(t *testing.T) {
	dir := workspace(t, map[string]string{"old.txt": "old content\n"})
	r, err := call[writeResult](t, "write", map[string]any{"path": "new.txt", "content": "fresh\n"})
	if err != nil || r != (writeResult{Path: "new.txt", Bytes: 6, Created: true}) || readFile(t, dir, "new.txt") != "fresh\n" {
		t.Fatalf("create: %+v, %v", r, err)
	}
	r, err = call[writeResult](t, "write", map[string]any{"path": "/workspace/old.txt", "content": ""})
	if err != nil || r != (writeResult{Path: "old.txt", Bytes: 0}) || readFile(t, dir, "old.txt") != "" {
		t.Fatalf("replace: %+v, %v", r, err)
	}
	if _, err := call[writeResult](t, "write", map[string]any{"path": "a/b/c.txt", "content": "x"}); err == nil || !strings.Contains(toolMessage(t, err), "set make_dirs") {
		t.Fatalf("a missing parent: %v", err)
	}
	if r, err := call[writeResult](t, "write", map[string]any{"path": "a/b/c.txt", "content": "x", "make_dirs": true}); err != nil || !r.Created || readFile(t, dir, "a/b/c.txt") != "x" {
		t.Fatalf("make_dirs: %+v, %v", r, err)
	}
	noTempFiles(t, dir)
}

// TestWriteHostile: paths out of the workspace, through links, at directories, and oversize
// content are refused with a reason, and nothing is written anywhere.
func TestWriteHostile(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "victim"), []byte("KEEP"), 0o600)
	dir := workspace(t, map[string]string{"docs/a.txt": "inside"})
	for name, target := range map[string]string{
		"abs":      filepath.Join(outside, "victim"),
		"absdir":   outside,
		"up":       "../" + filepath.Base(outside) + "/victim",
		"docs/up2": "../../" + filepath.Base(outside),
		"ok":       "docs/a.txt",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, path, content, want string }{
		{"dot-dot", "../" + filepath.Base(outside) + "/victim", "x", "leads out of the workspace"},
		{"dot-dot inside", "docs/../../x", "x", "leads out of the workspace"},
		{"absolute", filepath.Join(outside, "victim"), "x", "outside the workspace"},
		{"home", "/root/.hermes/.env", "x", "outside the workspace"},
		{"symlink to a file outside", "abs", "x", "symbolic link to an absolute path"},
		{"symlink to a directory outside", "absdir/victim", "x", "symbolic link to an absolute path"},
		{"relative symlink out", "up", "x", "leads out of the workspace"},
		{"relative symlink dir out", "docs/up2/victim", "x", "leads out of the workspace"},
		{"the workspace", "/workspace", "x", "the workspace itself"},
		{"a directory", "docs", "x", "is a directory"},
		{"empty path", "", "x", "path is empty"},
		{"NUL", "a\x00b", "x", "NUL"},
		{"oversize", "big.txt", strings.Repeat("x", maxFileBytes+1), "at most 4194304"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call[writeResult](t, "write", map[string]any{"path": tc.path, "content": tc.content})
			if msg := toolMessage(t, err); !strings.Contains(msg, tc.want) {
				t.Fatalf("write %q: %q, want %q", tc.path, msg, tc.want)
			}
		})
	}
	if got := readFile(t, outside, "victim"); got != "KEEP" {
		t.Fatalf("the file outside was changed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "big.txt")); !os.IsNotExist(err) {
		t.Fatalf("an oversize write left a file: %v", err)
	}
	// A link that stays inside is written through; the link stays a link.
	if _, err := call[writeResult](t, "write", map[string]any{"path": "ok", "content": "via link"}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "ok")); err != nil || fi.Mode()&os.ModeSymlink == 0 || readFile(t, dir, "docs/a.txt") != "via link" {
		t.Fatalf("write through an inside link: %v %v", fi, err)
	}
	noTempFiles(t, dir)
}

func TestEditText(t *testing.T) {
	dir := workspace(t, map[string]string{
		"a.go":   "package a\n\nfunc A() int { return 1 }\n\nfunc B() int { return 1 }\n",
		"bin":    "x\x00y",
		"aaa":    "aaa",
		"big":    strings.Repeat("y", maxFileBytes+1),
		"growth": strings.Repeat("z", maxFileBytes-1),
	})
	r, err := call[editResult](t, "edit", map[string]any{"path": "a.go", "old_text": "func A() int { return 1 }", "new_text": "func A() int { return 2 }"})
	if err != nil || r.Hunks != 1 || readFile(t, dir, "a.go") != "package a\n\nfunc A() int { return 2 }\n\nfunc B() int { return 1 }\n" {
		t.Fatalf("edit: %+v, %v", r, err)
	}
	before := readFile(t, dir, "a.go")
	for _, tc := range []struct {
		name string
		args map[string]any
		want string
	}{
		{"ambiguous", map[string]any{"path": "a.go", "old_text": "return", "new_text": "give"}, "occurs 2 times in a.go (at lines 3, 5), so which one to change is ambiguous"},
		{"overlapping", map[string]any{"path": "aaa", "old_text": "aa", "new_text": "b"}, "occurs 2 times"},
		{"stale", map[string]any{"path": "a.go", "old_text": "func A() int { return 1 }", "new_text": "x"}, "does not occur in a.go (stale"},
		{"empty old_text", map[string]any{"path": "a.go", "old_text": "", "new_text": "x"}, "old_text is empty"},
		{"no new_text", map[string]any{"path": "a.go", "old_text": "func"}, "new_text is missing"},
		{"nothing", map[string]any{"path": "a.go"}, "give old_text and new_text, or a diff"},
		{"both", map[string]any{"path": "a.go", "old_text": "a", "new_text": "b", "diff": "@@ -1 +1 @@\n-a\n+b\n"}, "not both"},
		{"missing file", map[string]any{"path": "nope.go", "old_text": "a", "new_text": "b"}, "no such file"},
		{"binary", map[string]any{"path": "bin", "old_text": "x", "new_text": "z"}, "binary file"},
		{"too big", map[string]any{"path": "big", "old_text": "y", "new_text": "z"}, "edit changes files up to"},
		{"grows too big", map[string]any{"path": "growth", "old_text": strings.Repeat("z", maxFileBytes-1), "new_text": strings.Repeat("w", maxFileBytes+1)}, "would be 4194305 bytes"},
		{"outside", map[string]any{"path": "../x", "old_text": "a", "new_text": "b"}, "leads out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call[editResult](t, "edit", tc.args)
			if msg := toolMessage(t, err); !strings.Contains(msg, tc.want) {
				t.Fatalf("%q, want %q", msg, tc.want)
			}
		})
	}
	if readFile(t, dir, "a.go") != before || readFile(t, dir, "aaa") != "aaa" {
		t.Fatal("a refused edit changed the file")
	}
	noTempFiles(t, dir)
}

func TestEditDiff(t *testing.T) {
	const orig = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n"
	for _, tc := range []struct {
		name, file, diff, want, moved string
	}{
		{"two hunks", orig, "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n@@ -5,3 +5,4 @@\n five\n six\n+six and a half\n seven\n",
			"one\nTWO\nthree\nfour\nfive\nsix\nsix and a half\nseven\n", ""},
		{"hunks only", orig, "@@ -4 +4 @@\n-four\n+4\n", "one\ntwo\nthree\n4\nfive\nsix\nseven\n", ""},
		{"git headers", orig, "diff --git a/f.txt b/f.txt\nindex 1..2 100644\n--- a/f.txt\n+++ b/f.txt\n@@ -7 +7 @@\n-seven\n+7\n", "one\ntwo\nthree\nfour\nfive\nsix\n7\n", ""},
		{"wrong line number, unique", orig, "@@ -2,2 +2,2 @@\n five\n-six\n+SIX\n", "one\ntwo\nthree\nfour\nfive\nSIX\nseven\n", "hunk 1: line 2 -> 5"},
		{"insertion at the start", orig, "@@ -0,0 +1 @@\n+zero\n", "zero\n" + orig, ""},
		{"add a newline at the end", "a\nb", "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n", "a\nb\n", ""},
		{"remove the newline at the end", "a\nb\n", "@@ -1,2 +1,2 @@\n a\n-b\n+b\n\\ No newline at end of file\n", "a\nb", ""},
		{"delete all", "x\ny\n", "@@ -1,2 +0,0 @@\n-x\n-y\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := workspace(t, map[string]string{"f.txt": tc.file})
			r, err := call[editResult](t, "edit", map[string]any{"path": "f.txt", "diff": tc.diff})
			if err != nil {
				t.Fatalf("%v", err)
			}
			if got := readFile(t, dir, "f.txt"); got != tc.want || r.Bytes != len(tc.want) || strings.Join(r.Moved, ";") != tc.moved {
				t.Fatalf("file %q, result %+v; want %q moved %q", got, r, tc.want, tc.moved)
			}
		})
	}
}

// TestEditDiffRefused: a diff that does not fit the file (stale), fits at several places
// (ambiguous) or is malformed changes nothing and says why.
func TestEditDiffRefused(t *testing.T) {
	const file = "x\nsame\nsame\ny\nsame\nsame\nz\n"
	for _, tc := range []struct{ name, diff, want string }{
		{"stale", "@@ -1,2 +1,2 @@\n x\n-SAME\n+other\n", `does not match f.txt: line 2 is "same\n", the diff expects "SAME\n" (stale`},
		{"ambiguous", "@@ -9,2 +9,2 @@\n same\n-same\n+other\n", "occur 2 times later in f.txt, so where it applies is ambiguous"},
		{"second hunk stale", "@@ -1 +1 @@\n-x\n+X\n@@ -7 +7 @@\n-zz\n+Z\n", "diff hunk 2 (@@ -7,1 +7,1 @@) does not match"},
		{"insert past the end", "@@ -20,0 +21 @@\n+new\n", "inserts after line 20, but f.txt has 7 lines"},
		{"bad counts", "@@ -1,3 +1,3 @@\n x\n-same\n+other\n", "counts 3 original and 3 new lines, but its body has 2 and 2"},
		{"two files", "--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-x\n+X\n--- a/g.txt\n+++ b/g.txt\n@@ -1 +1 @@\n-x\n+X\n", "diff changes 2 files"},
		{"not a diff", "please change x to y", "not a unified diff"},
		{"empty", "  \n", "diff is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := workspace(t, map[string]string{"f.txt": file})
			_, err := call[editResult](t, "edit", map[string]any{"path": "f.txt", "diff": tc.diff})
			if msg := toolMessage(t, err); !strings.Contains(msg, tc.want) {
				t.Fatalf("%q, want %q", msg, tc.want)
			}
			if got := readFile(t, dir, "f.txt"); got != file {
				t.Fatalf("a refused diff changed the file: %q", got)
			}
			noTempFiles(t, dir)
		})
	}
}

func TestDescribeWriteTools(t *testing.T) {
	out, err := hermes.Describe()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"write"`, `"name":"edit"`, `"required":["path","content"]`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("describe lacks %s:\n%s", want, out)
		}
	}
}
