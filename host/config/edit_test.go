package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIsSecretKey(t *testing.T) {
	for key, want := range map[string]bool{
		"OPENROUTER_API_KEY": true, "GITHUB_TOKEN": true, "DB_PASSWORD": true, "MY_SECRET": true, "HF_TOKEN": true,
		"terminal.backend": false, "WORKSPACE": false, "model.name": false,
	} {
		if IsSecretKey(key) != want {
			t.Errorf("IsSecretKey(%q) != %v", key, want)
		}
	}
}

func TestSetDotEnvKeepsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(path, []byte("# my keys\nA=1\n\n# github\nGITHUB_TOKEN=old\nB=2\n"), 0o600)
	if err := SetDotEnv(path, "GITHUB_TOKEN", "ghp_new value"); err != nil {
		t.Fatal(err)
	}
	if err := SetDotEnv(path, "NEW_KEY", "x"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "# my keys\nA=1\n\n# github\nGITHUB_TOKEN=\"ghp_new value\"\nB=2\nNEW_KEY=x\n"
	if string(b) != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b, want)
	}
	env, err := ReadDotEnv(path)
	if err != nil || env["GITHUB_TOKEN"] != "ghp_new value" {
		t.Fatalf("%v %v", env, err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o", info.Mode().Perm())
	}
	if err := SetDotEnv(path, "BAD KEY", "x"); err == nil {
		t.Fatal("bad key accepted")
	}
	if err := SetDotEnv(path, "K", "two\nlines"); err == nil {
		t.Fatal("multi-line value accepted")
	}
}

func TestDeleteDotEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := DeleteDotEnv(path, "A"); err != nil {
		t.Fatalf("missing file: %v", err)
	}
	os.WriteFile(path, []byte("# A=keep this comment\nA=1\nexport B=2\nC=3\n"), 0o600)
	for _, k := range []string{"A", "B", "NOT_THERE"} {
		if err := DeleteDotEnv(path, k); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "# A=keep this comment\nC=3\n" {
		t.Errorf("got %q", b)
	}
	if err := DeleteDotEnv(path, "BAD KEY"); err == nil || err.Error() != `"BAD KEY" is not a variable name` {
		t.Errorf("bad key: %v", err)
	}
}

func TestSetTOML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	steps := []struct{ key, value string }{
		{"terminal.backend", "docker"},
		{"terminal.timeout", "45s"},
		{"terminal.env_passthrough", "GITHUB_TOKEN, NPM_TOKEN"},
		{"terminal.docker.network", "true"},
		{"model.name", "qwen2.5-coder"},
		{"plugins.limits.memory_pages", "512"},
	}
	for _, s := range steps {
		if err := SetTOML(path, s.key, s.value); err != nil {
			t.Fatalf("set %s: %v", s.key, err)
		}
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Terminal.Backend != "docker" || cfg.Terminal.Timeout.String() != "45s" || len(cfg.Terminal.EnvPassthrough) != 2 ||
		!cfg.Terminal.Docker.Network || cfg.Model.Name != "qwen2.5-coder" || cfg.Plugins.Limits.MemoryPages != 512 {
		t.Fatalf("%+v", cfg)
	}
	if v, _ := cfg.Get("terminal.env_passthrough"); v != `["GITHUB_TOKEN", "NPM_TOKEN"]` {
		t.Fatalf("get: %s", v)
	}
	for name, kv := range map[string][2]string{
		"unknown key":   {"terminal.backnd", "local"},
		"wrong type":    {"terminal.docker.network", "maybe"},
		"invalid value": {"terminal.backend", "vm"},
		"bad duration":  {"terminal.timeout", "soon"},
	} {
		t.Run(name, func(t *testing.T) {
			before, _ := os.ReadFile(path)
			err := SetTOML(path, kv[0], kv[1])
			if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), kv[0]) {
				t.Fatalf("want a one-line error naming %s, got %v", kv[0], err)
			}
			if after, _ := os.ReadFile(path); string(after) != string(before) {
				t.Fatal("a refused set changed the file")
			}
		})
	}
}
