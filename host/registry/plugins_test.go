package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// The first-party plugins, run by the host as a user runs them.

func TestFilesPlugin(t *testing.T) {
	f := newFixture(t, nil)
	f.add(t, testplugins.Dir(t, "plugins/files"))
	os.MkdirAll(filepath.Join(f.ws, "src", "sub"), 0o755)
	os.WriteFile(filepath.Join(f.ws, "README.md"), []byte("# project\nTODO: write docs\nline three\n"), 0o644)
	os.WriteFile(filepath.Join(f.ws, "src", "main.go"), []byte("package main\n// TODO: more\n"), 0o644)
	os.WriteFile(filepath.Join(f.ws, "src", "sub", "blob.bin"), []byte{0, 1, 2, 'T', 'O', 'D', 'O'}, 0o644)
	ctx := context.Background()
	call := func(tool, args string) map[string]any {
		t.Helper()
		out, err := f.reg.Call(ctx, "files."+tool, []byte(args))
		if err != nil {
			t.Fatalf("files.%s %s: %v", tool, args, err)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := call("read", `{"path":"README.md","offset":2,"limit":1}`); got["content"] != "TODO: write docs\n" {
		t.Fatalf("read: %v", got)
	}
	if got := call("list", `{"path":"src","recursive":true}`); len(got["entries"].([]any)) != 3 {
		t.Fatalf("list: %v", got)
	}
	got := call("search", `{"pattern":"TODO","literal":true}`)
	matches, _ := json.Marshal(got)
	if !strings.Contains(string(matches), "README.md") || !strings.Contains(string(matches), "main.go") || strings.Contains(string(matches), "blob.bin") {
		t.Fatalf("search: %s", matches)
	}
	_, err := f.reg.Call(ctx, "files.read", []byte(`{"path":"../etc/passwd"}`))
	wantCode(t, err, abi.CodeToolError)
	_, err = f.reg.Call(ctx, "files.read", []byte(`{"path":"README.md","bogus":1}`))
	wantCode(t, err, abi.CodeInvalidArgs, "bogus")
}

func TestWebPlugin(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>Release notes</title><script>var secret=1</script></head>
<body><nav>menu</nav><h1>Version 2</h1><p>It is <b>faster</b>.</p><ul><li>one</li><li>two</li></ul></body></html>`)
	}))
	defer site.Close()
	f := newFixture(t, nil)
	dir := copyPlugin(t, "plugins/web", func(m string) string {
		i := strings.Index(m, "http = [")
		j := strings.Index(m[i:], "]") + i + 1
		return m[:i] + fmt.Sprintf("http = [%q]", strings.TrimPrefix(site.URL, "http://")) + m[j:]
	})
	f.add(t, dir)
	out, err := f.reg.Call(context.Background(), "web.fetch", []byte(fmt.Sprintf(`{"url":%q}`, site.URL+"/notes")))
	if err != nil {
		t.Fatal(err)
	}
	var page struct {
		Status int
		Title  string
		Text   string
	}
	json.Unmarshal(out, &page)
	if page.Status != 200 || page.Title != "Release notes" || !strings.Contains(page.Text, "Version 2") || !strings.Contains(page.Text, "It is faster.") || strings.Contains(page.Text, "secret") {
		t.Fatalf("fetch: %s", out)
	}
	_, err = f.reg.Call(context.Background(), "web.fetch", []byte(`{"url":"http://example.com/"}`))
	wantCode(t, err, abi.CodeDenied, "allow-list")
}
