//go:build !wasip1

package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

// workspace makes a temporary workspace with files, and points root at it.
func workspace(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := root
	root = dir
	t.Cleanup(func() { root = old })
	return dir
}

// call runs a tool through the SDK's fake host, like hermes would, and decodes its result.
func call[R any](t *testing.T, tool string, args any) (R, error) {
	t.Helper()
	var r R
	in, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	out, err := hermes.CallForTest(tool, in)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%s: %v in %s", tool, err, out)
	}
	return r, nil
}

func toolMessage(t *testing.T, err error) string {
	t.Helper()
	var ce *hermes.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("want a tool error, got %v", err)
	}
	return ce.Message
}

func TestDescribe(t *testing.T) {
	out, err := hermes.Describe()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"name":"read"`, `"name":"list"`, `"name":"search"`, `"required":["path"]`, `"required":["pattern"]`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("describe lacks %s:\n%s", want, out)
		}
	}
}

func TestResolve(t *testing.T) {
	workspace(t, nil)
	for _, tc := range []struct{ in, rel string }{
		{"", "."}, {".", "."}, {"a/b.txt", "a/b.txt"}, {"./a/../b", "b"}, {"/workspace", "."},
		{"/workspace/", "."}, {"/workspace/x/y", "x/y"}, {"/workspace/x/../y", "y"}, {"a//b/", "a/b"},
	} {
		fsPath, rel, err := resolve(tc.in)
		if err != nil || rel != tc.rel || fsPath != filepath.Join(root, filepath.FromSlash(tc.rel)) {
			t.Errorf("resolve(%q) = %q, %q, %v; want rel %q", tc.in, fsPath, rel, err, tc.rel)
		}
	}
	for _, in := range []string{"..", "../x", "a/../../x", "/etc/passwd", "/workspace/../etc", "/workspacex", "/root/.hermes/.env", "/", "a\x00b"} {
		if _, _, err := resolve(in); err == nil {
			t.Errorf("resolve(%q) accepted", in)
		}
	}
}

func TestSymlinks(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := workspace(t, map[string]string{"docs/a.txt": "inside", "b.txt": "bee"})
	links := map[string]string{
		"abs":          filepath.Join(outside, "secret"),
		"absdir":       outside,
		"up":           "../" + filepath.Base(outside) + "/secret",
		"docs/up2":     "../../x",
		"ok":           "docs/a.txt",
		"docs/sibling": "../b.txt",
		"okdir":        "docs",
		"loop":         "loop",
		"chain":        "okdir/../docs/sibling",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for p, want := range map[string]string{"ok": "inside", "docs/sibling": "bee", "okdir/a.txt": "inside", "chain": "bee"} {
		r, err := call[readResult](t, "read", map[string]any{"path": p})
		if err != nil || r.Content != want || r.Path != p {
			t.Errorf("read %s: %+v, %v", p, r, err)
		}
	}
	for p, want := range map[string]string{
		"abs": "absolute path", "absdir/secret": "absolute path", "up": "leads out", "docs/up2": "leads out",
		"loop": "too many levels",
	} {
		_, err := hermes.CallForTest("read", []byte(`{"path":"`+p+`"}`))
		if msg := toolMessage(t, err); !strings.Contains(msg, want) || strings.Contains(msg, "SECRET") {
			t.Errorf("read %s: %q, want %q", p, msg, want)
		}
	}
	if _, err := hermes.CallForTest("list", []byte(`{"path":"absdir"}`)); err == nil {
		t.Error("list followed a link out of the workspace")
	}
	r, err := call[searchResult](t, "search", map[string]any{"pattern": "SECRET"})
	if err != nil || len(r.Matches) != 0 {
		t.Errorf("search followed a link out of the workspace: %+v, %v", r, err)
	}
}

func TestRead(t *testing.T) {
	workspace(t, map[string]string{
		"a.txt":      "one\ntwo\nthree\nfour\n",
		"noeol.txt":  "x\ny",
		"bin.dat":    "abc\x00def",
		"dir/u.txt":  "héllo wörld",
		"dir/e.txt":  "",
		"long.txt":   strings.Repeat("z", 200<<10) + "\nend\n",
		"escape.txt": "ok",
	})
	r, err := call[readResult](t, "read", map[string]any{"path": "a.txt"})
	if err != nil || r.Content != "one\ntwo\nthree\nfour\n" || r.Truncated || r.Path != "a.txt" {
		t.Errorf("read a.txt: %+v, %v", r, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "/workspace/a.txt", "offset": 2, "limit": 2})
	if err != nil || r.Content != "two\nthree\n" || !r.Truncated || r.NextOffset != 4 {
		t.Errorf("read offset 2 limit 2: %+v, %v", r, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "a.txt", "offset": 4, "limit": 1})
	if err != nil || r.Content != "four\n" || r.Truncated {
		t.Errorf("read last line: %+v, %v", r, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "a.txt", "offset": 10})
	if err != nil || r.Content != "" || r.Truncated {
		t.Errorf("read past the end: %+v, %v", r, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "noeol.txt", "offset": 2})
	if err != nil || r.Content != "y" {
		t.Errorf("read noeol: %+v, %v", r, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "dir/u.txt", "max_bytes": 2})
	if err != nil || r.Content != "h" || !r.Truncated || r.NextOffset != 1 {
		t.Errorf("read cut inside a rune: %+v, %v", r, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "dir/e.txt"})
	if err != nil || r.Content != "" || r.Truncated {
		t.Errorf("read empty: %+v, %v", r, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "long.txt"})
	if err != nil || len(r.Content) != defaultReadBytes || !r.Truncated || r.NextOffset != 1 {
		t.Errorf("read long: %d bytes, truncated %v, next %d, %v", len(r.Content), r.Truncated, r.NextOffset, err)
	}
	r, err = call[readResult](t, "read", map[string]any{"path": "long.txt", "offset": 2})
	if err != nil || r.Content != "end\n" {
		t.Errorf("read after a long line: %q, %v", r.Content, err)
	}

	for args, want := range map[string]string{
		`{"path":"bin.dat"}`:                  "binary",
		`{"path":"dir"}`:                      "directory",
		`{"path":"missing.txt"}`:              "missing.txt: no such file",
		`{"path":"../escape.txt"}`:            "leads out of the workspace",
		`{"path":"/etc/passwd"}`:              "outside the workspace",
		`{"path":"/workspace/../etc/passwd"}`: "outside the workspace",
		`{"path":"a.txt","offset":-1}`:        "negative",
	} {
		_, err := hermes.CallForTest("read", []byte(args))
		if msg := toolMessage(t, err); !strings.Contains(msg, want) {
			t.Errorf("read %s: %q, want %q", args, msg, want)
		}
		if err != nil && strings.Contains(err.Error(), root) {
			t.Errorf("read %s: error reveals the host path: %v", args, err)
		}
	}
}

func TestList(t *testing.T) {
	dir := workspace(t, map[string]string{
		"a.txt":        "12345",
		"sub/b.txt":    "",
		"sub/deep/c":   "c",
		".git/config":  "x",
		".git/objects": "y",
	})
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	r, err := call[listResult](t, "list", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]entry{}
	for _, e := range r.Entries {
		got[e.Name] = e
	}
	if len(got) != 4 || got["a.txt"] != (entry{"a.txt", "file", 5}) || got["sub"].Type != "dir" || got[".git"].Type != "dir" || got["link"].Type != "symlink" {
		t.Errorf("list: %+v", r)
	}

	r, err = call[listResult](t, "list", map[string]any{"path": "/workspace", "recursive": true})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range r.Entries {
		names = append(names, e.Name)
	}
	if want := ".git a.txt link sub sub/b.txt sub/deep sub/deep/c"; strings.Join(names, " ") != want {
		t.Errorf("recursive list: %q, want %q", strings.Join(names, " "), want)
	}

	r, err = call[listResult](t, "list", map[string]any{"path": "sub", "recursive": true, "max_entries": 2})
	if err != nil || len(r.Entries) != 2 || !r.Truncated || r.Entries[0].Name != "b.txt" {
		t.Errorf("bounded list: %+v, %v", r, err)
	}

	r, err = call[listResult](t, "list", map[string]any{"path": "sub/deep/c"})
	if err != nil || len(r.Entries) != 1 || r.Entries[0] != (entry{"c", "file", 1}) {
		t.Errorf("list a file: %+v, %v", r, err)
	}

	for args, want := range map[string]string{
		`{"path":"nope"}`:       "no such file",
		`{"path":"/tmp"}`:       "outside the workspace",
		`{"path":"sub/../../"}`: "leads out",
	} {
		_, err := hermes.CallForTest("list", []byte(args))
		if msg := toolMessage(t, err); !strings.Contains(msg, want) {
			t.Errorf("list %s: %q, want %q", args, msg, want)
		}
	}
}

func TestSearch(t *testing.T) {
	workspace(t, map[string]string{
		"main.go":       "package main\n\nfunc main() {\n\tprintln(\"Hello\")\n}\n",
		"doc/readme.md": "# Hello\nsay hello (politely)\r\n",
		"bin/tool":      "hello\x00world",
		".git/HEAD":     "hello from git",
		"big.txt":       strings.Repeat("x", 1000) + "needle" + strings.Repeat("y", 1000) + "\n",
		"many.txt":      strings.Repeat("match\n", 50),
	})
	r, err := call[searchResult](t, "search", map[string]any{"pattern": "hello", "ignore_case": true, "glob": "*.*"})
	if err != nil {
		t.Fatal(err)
	}
	want := []match{{"doc/readme.md", 1, "# Hello"}, {"doc/readme.md", 2, "say hello (politely)"}, {"main.go", 4, "\tprintln(\"Hello\")"}}
	if len(r.Matches) != len(want) || r.Truncated {
		t.Fatalf("search: %+v", r)
	}
	for i := range want {
		if r.Matches[i] != want[i] {
			t.Errorf("match %d: %+v, want %+v", i, r.Matches[i], want[i])
		}
	}

	r, err = call[searchResult](t, "search", map[string]any{"pattern": "hello", "ignore_case": true})
	if err != nil || r.FilesSkipped != 1 {
		t.Errorf("binary file not skipped: %+v, %v", r, err)
	}
	for _, m := range r.Matches {
		if strings.HasPrefix(m.File, "bin/") || strings.HasPrefix(m.File, ".git/") {
			t.Errorf("searched %s", m.File)
		}
	}

	r, err = call[searchResult](t, "search", map[string]any{"pattern": "(politely)", "literal": true, "path": "doc"})
	if err != nil || len(r.Matches) != 1 || r.Matches[0].Line != 2 {
		t.Errorf("literal search: %+v, %v", r, err)
	}

	r, err = call[searchResult](t, "search", map[string]any{"pattern": "^func", "path": "/workspace/main.go"})
	if err != nil || len(r.Matches) != 1 || r.Matches[0].File != "main.go" || r.Matches[0].Line != 3 {
		t.Errorf("search a file: %+v, %v", r, err)
	}

	r, err = call[searchResult](t, "search", map[string]any{"pattern": "needle"})
	if err != nil || len(r.Matches) != 1 {
		t.Fatalf("search long line: %+v, %v", r, err)
	}
	if text := r.Matches[0].Text; !strings.Contains(text, "needle") || len(text) > maxMatchText+8 || !strings.HasPrefix(text, "…") || !strings.HasSuffix(text, "…") {
		t.Errorf("long line excerpt: %q", text)
	}

	r, err = call[searchResult](t, "search", map[string]any{"pattern": "match", "max_results": 10})
	if err != nil || len(r.Matches) != 10 || !r.Truncated {
		t.Errorf("bounded search: %d matches, truncated %v, %v", len(r.Matches), r.Truncated, err)
	}

	for args, want := range map[string]string{
		`{"pattern":"("}`:                 "invalid regular expression",
		`{"pattern":"x","path":"/etc"}`:   "outside the workspace",
		`{"pattern":"x","path":"nope"}`:   "no such file",
		`{"pattern":"x","glob":"[" }`:     "invalid glob",
		`{"pattern":""}`:                  "empty",
		`{"pattern":"x","path":"../../"}`: "leads out",
	} {
		_, err := hermes.CallForTest("search", []byte(args))
		if msg := toolMessage(t, err); !strings.Contains(msg, want) {
			t.Errorf("search %s: %q, want %q", args, msg, want)
		}
	}
}
