package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

func TestConfigCommands(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "config", "set", "OPENROUTER_API_KEY", "sk-or-v1-0123456789abcdef")
	env := filepath.Join(c.home, ".env")
	if info, err := os.Stat(env); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf(".env: %v %v", info, err)
	}
	c.mustRun(t, "config", "set", "terminal.backend", "docker")
	if b, _ := os.ReadFile(filepath.Join(c.home, "config.toml")); strings.Contains(string(b), "sk-or") || !strings.Contains(string(b), "docker") {
		t.Fatalf("config.toml:\n%s", b)
	}
	list := c.mustRun(t, "config", "list")
	if strings.Contains(list, "0123456789abcdef") || !strings.Contains(list, "OPENROUTER_API_KEY") || !strings.Contains(list, "terminal.backend") {
		t.Fatalf("config list leaks or misses:\n%s", list)
	}
	if got := c.mustRun(t, "config", "get", "terminal.backend"); got != "docker\n" {
		t.Fatalf("get: %q", got)
	}
	c.wantExit(t, ExitUsage, "terminal.backnd", "config", "set", "terminal.backnd", "local")
	c.wantExit(t, ExitUsage, "terminal.docker.cpus", "config", "set", "terminal.docker.cpus", "lots")
	os.Chmod(env, 0o644)
	c.wantExit(t, ExitError, "chmod 600", "config", "list")
}

func TestDoctor(t *testing.T) {
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk-good-key-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"data":[{"id":"m"}]}`))
	}))
	defer provider.Close()
	c := newCLI(t)
	c.mustRun(t, "config", "set", "model.base_url", provider.URL+"/v1")
	c.mustRun(t, "config", "set", "OPENROUTER_API_KEY", "sk-good-key-123")
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	out := c.mustRun(t, "doctor")
	if !strings.Contains(out, "ok   model provider") || !strings.Contains(out, "ok   plugin textstats") {
		t.Fatalf("doctor:\n%s", out)
	}
	// A bad key, a readable .env and a tampered plugin are each reported with a fix.
	c.mustRun(t, "config", "set", "OPENROUTER_API_KEY", "sk-bad-key-456")
	os.Chmod(filepath.Join(c.home, ".env"), 0o644)
	os.WriteFile(filepath.Join(c.home, "plugins", "textstats", "textstats.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o600)
	out, _, code := c.run(t, "", "doctor")
	if code == 0 || !strings.Contains(out, "refused the key") || !strings.Contains(out, "chmod 600") || !strings.Contains(out, "sha256") {
		t.Fatalf("exit %d, doctor:\n%s", code, out)
	}
}
