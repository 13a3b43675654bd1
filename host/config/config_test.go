package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	cfg, err := Load(path)
	if err != nil || cfg.Plugins.Limits != DefaultLimits() {
		t.Fatalf("missing file: %+v %v", cfg, err)
	}
	os.WriteFile(path, []byte("workspace = \"/w\"\n[plugins.limits]\ntimeout = \"5s\"\n"), 0o600)
	cfg, err = Load(path)
	if err != nil || cfg.Workspace != "/w" || time.Duration(cfg.Plugins.Limits.Timeout) != 5*time.Second || cfg.Plugins.Limits.MemoryPages != DefaultLimits().MemoryPages {
		t.Fatalf("partial file: %+v %v", cfg, err)
	}
	for name, doc := range map[string]string{
		"unknown key":   "workspce = \"/w\"",
		"wrong type":    "[plugins]\nmax_instances = \"four\"",
		"zero memory":   "[plugins.limits]\nmemory_pages = 0",
		"not TOML":      "[plugins",
		"negative pool": "[plugins]\nmax_instances = -1",
		"bad backend":   "[terminal]\nbackend = \"vm\"",
		"bad deny rule": "[terminal]\ndeny = [\"(\"]",
		"bad env name":  "[terminal]\nenv_passthrough = [\"A B\"]",
		"zero cpus":     "[terminal.docker]\ncpus = 0.0",
	} {
		t.Run(name, func(t *testing.T) {
			os.WriteFile(path, []byte(doc), 0o600)
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want a one-line error naming the file, got %v", err)
			}
		})
	}
}

func TestReadDotEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	os.WriteFile(path, []byte("# comment\nA=1\nexport B=\"two words\"\nC='x'\nnot a pair\n"), 0o600)
	env, err := ReadDotEnv(path)
	if err != nil || env["A"] != "1" || env["B"] != "two words" || env["C"] != "x" || len(env) != 3 {
		t.Fatalf("%v %v", env, err)
	}
	os.Chmod(path, 0o640)
	if _, err := ReadDotEnv(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable .env: %v", err)
	}
	if env, err := ReadDotEnv(filepath.Join(t.TempDir(), "none")); err != nil || len(env) != 0 {
		t.Fatalf("missing .env: %v %v", env, err)
	}
}

func TestResolvePaths(t *testing.T) {
	t.Setenv("HERMES_HOME", "/tmp/hh")
	t.Setenv("HERMES_PROFILE", "")
	p, err := ResolvePaths("")
	if err != nil || p.Home != "/tmp/hh" || p.StateDB != "/tmp/hh/state.db" {
		t.Fatalf("%+v %v", p, err)
	}
	p, err = ResolvePaths("work")
	if err != nil || p.Home != "/tmp/hh/profiles/work" {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := ResolvePaths("../escape"); err == nil {
		t.Fatal("profile name with a path accepted")
	}
	home := filepath.Join(t.TempDir(), "h")
	if err := PathsAt(home).Ensure(); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(home); info.Mode().Perm() != 0o700 {
		t.Fatalf("home mode %o", info.Mode().Perm())
	}
}
