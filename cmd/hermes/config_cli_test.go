package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
