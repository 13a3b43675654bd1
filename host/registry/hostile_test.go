package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/testplugins"
)

const secret = "sk-or-v1-THE-SECRET-VALUE"

// plantSecrets puts a secret in the home's .env and state next to it, as a real home has.
func (f *fixture) plantSecrets(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(f.paths.Env, []byte("OPENROUTER_API_KEY="+secret+"\nHOSTILE_ALLOWED=fine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertNoLeak fails if the secret appears in a tool's output or error.
func assertNoLeak(t *testing.T, out []byte, err error) {
	t.Helper()
	if strings.Contains(string(out), secret) || (err != nil && strings.Contains(err.Error(), secret)) {
		t.Fatalf("secret leaked: out=%s err=%v", out, err)
	}
}

// assertGoodPluginAnswers checks the host still serves a well-behaved plugin.
func (f *fixture) assertGoodPluginAnswers(t *testing.T) {
	t.Helper()
	if _, err := f.reg.Get(context.Background(), "files"); err != nil {
		f.add(t, testplugins.Dir(t, "plugins/files"))
	}
	os.WriteFile(filepath.Join(f.ws, "hello.txt"), []byte("hello from the workspace\n"), 0o644)
	out, err := f.reg.Call(context.Background(), "files.read", []byte(`{"path":"hello.txt"}`))
	if err != nil || !strings.Contains(string(out), "hello from the workspace") {
		t.Fatalf("files.read after a hostile plugin: out=%s err=%v", out, err)
	}
}

func TestHostileFileAccess(t *testing.T) {
	f := newFixture(t, nil)
	f.plantSecrets(t)
	f.add(t, testplugins.Dir(t, "testdata/hostile/fsescape"))
	os.MkdirAll(filepath.Join(f.ws, "out"), 0o755)
	// Planted inside the granted tree, pointing out of it.
	os.Symlink(f.paths.Env, filepath.Join(f.ws, "link-to-env"))
	os.Symlink(f.paths.Home, filepath.Join(f.ws, "link-to-home"))
	os.Symlink(f.paths.Env, filepath.Join(f.ws, "out", "link-to-env"))
	rel, _ := filepath.Rel(f.ws, f.paths.Env)

	reads := []string{
		"/workspace/../home/.env",
		"/workspace/" + rel,
		"/workspace/../../../../../../" + strings.TrimPrefix(f.paths.Env, "/"),
		f.paths.Env,
		f.paths.StateDB,
		"/workspace/link-to-env",
		"/workspace/link-to-home/.env",
		"/workspace/link-to-home/state.db",
		"/workspace/out/link-to-env",
		"/etc/passwd",
	}
	for _, path := range reads {
		t.Run("read "+path, func(t *testing.T) {
			out, err := f.reg.Call(context.Background(), "hostile-fsescape.read", []byte(fmt.Sprintf(`{"path":%q}`, path)))
			assertNoLeak(t, out, err)
			if err == nil {
				t.Fatalf("read %s succeeded: %s", path, out)
			}
			if code := abi.CodeOf(err); code != abi.CodeToolError {
				t.Fatalf("want the plugin's own error (its open failed), got %s: %v", code, err)
			}
		})
	}
	writes := []struct {
		path string
		ok   bool
	}{
		{"/workspace/out/result.txt", true},
		{"/workspace/evil.txt", false}, // read-only part of the grant
		{"/workspace/out/../evil.txt", false},
		{"/workspace/out/link-to-env", false}, // through a symlink out of the tree
		{f.paths.Env, false},
		{"/tmp/evil.txt", false},
	}
	for _, w := range writes {
		t.Run("write "+w.path, func(t *testing.T) {
			_, err := f.reg.Call(context.Background(), "hostile-fsescape.write", []byte(fmt.Sprintf(`{"path":%q,"content":"pwned"}`, w.path)))
			if (err == nil) != w.ok {
				t.Fatalf("write %s: err=%v, want ok=%v", w.path, err, w.ok)
			}
		})
	}
	if b, _ := os.ReadFile(f.paths.Env); !strings.Contains(string(b), secret) || strings.Contains(string(b), "pwned") {
		t.Fatalf(".env was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(f.ws, "evil.txt")); !os.IsNotExist(err) {
		t.Fatal("write to the read-only workspace went through")
	}
	if b, _ := os.ReadFile(filepath.Join(f.ws, "out", "result.txt")); string(b) != "pwned" {
		t.Fatalf("write inside the read-write grant: %q", b)
	}
	f.assertGoodPluginAnswers(t)
}

func TestHostileHTTP(t *testing.T) {
	var forbiddenHits atomic.Int32
	forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		forbiddenHits.Add(1)
		w.Write([]byte("internal data"))
	}))
	defer forbidden.Close()
	allowed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, forbidden.URL+"/", http.StatusFound)
		case "/metadata":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 2<<20)))
		default:
			w.Write([]byte("hello"))
		}
	}))
	defer allowed.Close()
	allowedHost := strings.TrimPrefix(allowed.URL, "http://")
	_, port, _ := net.SplitHostPort(allowedHost)

	f := newFixture(t, nil)
	dir := copyPlugin(t, "testdata/hostile/httpescape", func(m string) string {
		m = strings.Replace(m, `http = ["127.0.0.1:1"]`, fmt.Sprintf(`http = [%q, "localhost:%s"]`, allowedHost, port), 1)
		return m + "\n[limits]\nhttp_response_bytes = 1048576\n"
	})
	f.add(t, dir)

	fetch := func(url string) ([]byte, error) {
		return f.reg.Call(context.Background(), "hostile-httpescape.fetch", []byte(fmt.Sprintf(`{"url":%q}`, url)))
	}
	if out, err := fetch(allowed.URL + "/"); err != nil || !strings.Contains(string(out), "hello") {
		t.Fatalf("allowed fetch: %s %v", out, err)
	}
	tests := []struct {
		name, url string
		code      abi.Code
		mention   string
	}{
		{"unlisted host", forbidden.URL + "/", abi.CodeDenied, "allow-list"},
		{"listed host redirecting to an unlisted one", allowed.URL + "/redirect", abi.CodeDenied, strings.TrimPrefix(forbidden.URL, "http://")},
		{"redirect to cloud metadata", allowed.URL + "/metadata", abi.CodeDenied, "169.254.169.254"},
		{"IP literal not listed", "http://10.0.0.1:" + port + "/", abi.CodeDenied, "10.0.0.1"},
		{"metadata address", "http://169.254.169.254/latest/meta-data/", abi.CodeDenied, "169.254.169.254"},
		{"listed name resolving to loopback", "http://localhost:" + port + "/", abi.CodeDenied, "localhost"},
		{"file scheme", "file:///etc/passwd", abi.CodeDenied, "file"},
		{"response over the limit", allowed.URL + "/big", abi.CodeLimitExceeded, "http_response_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := fetch(tt.url)
			if err == nil {
				t.Fatalf("fetch %s succeeded: %s", tt.url, out)
			}
			wantCode(t, err, tt.code, tt.mention)
		})
	}
	if n := forbiddenHits.Load(); n != 0 {
		t.Fatalf("the unlisted server received %d requests", n)
	}
	f.assertGoodPluginAnswers(t)
}

func TestHostileEnv(t *testing.T) {
	f := newFixture(t, nil)
	f.plantSecrets(t)
	f.add(t, testplugins.Dir(t, "testdata/hostile/envsnoop"))
	out, err := f.reg.Call(context.Background(), "hostile-envsnoop.get", []byte(`{"key":"HOSTILE_ALLOWED"}`))
	if err != nil || !strings.Contains(string(out), "fine") {
		t.Fatalf("granted key: %s %v", out, err)
	}
	for _, key := range []string{"OPENROUTER_API_KEY", "HOME", "PATH", "hostile_allowed", "HOSTILE_ALLOWED_X"} {
		t.Run(key, func(t *testing.T) {
			out, err := f.reg.Call(context.Background(), "hostile-envsnoop.get", []byte(fmt.Sprintf(`{"key":%q}`, key)))
			assertNoLeak(t, out, err)
			wantCode(t, err, abi.CodeDenied, key, `"env"`)
		})
	}
	t.Run("loose .env refused", func(t *testing.T) {
		g := newFixture(t, nil)
		g.plantSecrets(t)
		os.Chmod(g.paths.Env, 0o644)
		g.add(t, testplugins.Dir(t, "testdata/hostile/envsnoop"))
		_, err := g.reg.Call(context.Background(), "hostile-envsnoop.get", []byte(`{"key":"HOSTILE_ALLOWED"}`))
		wantCode(t, err, abi.CodeDenied, "chmod 600")
	})
	f.assertGoodPluginAnswers(t)
}

func TestHostileKV(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	// Another plugin's data.
	if err := f.db.KVSet(ctx, "files", "secret", []byte(secret), 0); err != nil {
		t.Fatal(err)
	}
	f.add(t, testplugins.Dir(t, "testdata/hostile/kvsnoop"))
	for _, key := range []string{"secret", "../files/secret", "files:secret", "files/secret", "files\x00secret", "' OR plugin='files"} {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			args, _ := json.Marshal(map[string]string{"key": key})
			out, err := f.reg.Call(ctx, "hostile-kvsnoop.get", args)
			assertNoLeak(t, out, err)
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ Found bool }
			if json.Unmarshal(out, &got) != nil || got.Found {
				t.Fatalf("key %q found something: %s", key, out)
			}
		})
	}
	// Its own data persists across a fresh registry (a new process).
	if _, err := f.reg.Call(ctx, "hostile-kvsnoop.set", []byte(`{"key":"mine","value":"kept"}`)); err != nil {
		t.Fatal(err)
	}
	f.reg.Close(ctx)
	f2 := &fixture{reg: New(f.db, f.reg.engine, f.paths, f.reg.cfg), db: f.db, paths: f.paths, ws: f.ws}
	out, err := f2.reg.Call(ctx, "hostile-kvsnoop.get", []byte(`{"key":"mine"}`))
	if err != nil || !strings.Contains(string(out), "kept") {
		t.Fatalf("own kv after restart: %s %v", out, err)
	}
	if v, _, _ := f.db.KVGet(ctx, "files", "secret"); string(v) != secret {
		t.Fatal("the other plugin's data changed")
	}
	// Oversized values hit the store's limit, named.
	_, err = f2.reg.Call(ctx, "hostile-kvsnoop.set", []byte(`{"key":"big","value":"`+strings.Repeat("x", 2<<20)+`"}`))
	wantCode(t, err, abi.CodeLimitExceeded, "kv")
	f2.assertGoodPluginAnswers(t)
	f2.reg.Close(ctx)
}
