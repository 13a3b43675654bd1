package backend

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/sandbox/docker"
	"github.com/hermes-agent/hermes/sandbox/local"
	"github.com/hermes-agent/hermes/store"
)

// recordingPrompter denies, remembering who asked.
type recordingPrompter struct {
	mu      sync.Mutex
	origins []string
}

func (p *recordingPrompter) Ask(_ context.Context, q approval.Question) (approval.Decision, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.origins = append(p.origins, q.Origin)
	return approval.Deny, nil
}

// pluginHost adds the execescape fixture to a fresh home whose plugins run commands through
// the backend open returns. Home is a temporary HOME with a canary file in it.
func pluginHost(t *testing.T, open func(ctx context.Context, home, workspace string, db *store.DB) (sandbox.Backend, error)) (reg *registry.Registry, home string) {
	t.Helper()
	root := t.TempDir()
	home = filepath.Join(root, "home")
	workspace := filepath.Join(root, "workspace")
	os.MkdirAll(home, 0o755)
	os.MkdirAll(workspace, 0o755)
	os.WriteFile(filepath.Join(home, "canary"), []byte("alive"), 0o644)
	os.WriteFile(filepath.Join(workspace, "in-workspace.txt"), []byte("hello"), 0o644)
	t.Setenv("HOME", home)

	var db *store.DB // set below; the backend opens on the first command, after that
	exec := NewPluginExecutor(func(ctx context.Context) (sandbox.Backend, error) { return open(ctx, home, workspace, db) }, nil, 30*time.Second)
	t.Cleanup(func() { exec.Close() }) // runs after the home's cleanups: plugins first
	h := registrytest.New(t, registrytest.Options{Workspace: workspace, Executor: exec, Plugins: []string{"testdata/hostile/execescape"}})
	db, reg = h.DB, h.Registry
	return reg, home
}

func run(reg *registry.Registry, command string) (abi.ExecResult, error) {
	args, _ := json.Marshal(map[string]string{"command": command})
	out, err := reg.Call(context.Background(), "hostile-execescape.run", args)
	var res abi.ExecResult
	if err == nil {
		err = json.Unmarshal(out, &res)
	}
	return res, err
}

func TestPluginExecLocal(t *testing.T) {
	prompter := &recordingPrompter{}
	reg, home := pluginHost(t, func(_ context.Context, home, workspace string, db *store.DB) (sandbox.Backend, error) {
		gate := approval.NewGate(classify.Rules{Home: home}, prompter, db)
		return local.New(local.Config{Workdir: workspace}, gate), nil
	})
	res, err := run(reg, "cat in-workspace.txt")
	if err != nil || res.ExitCode != 0 || res.Output != "hello" {
		t.Fatalf("benign command: %+v %v", res, err)
	}
	for _, cmd := range []string{"rm -rf ~", "rm -rf $HOME", "cd / && rm -rf " + home, "/bin/r''m -r -f ~/"} {
		t.Run(cmd, func(t *testing.T) {
			_, err := run(reg, cmd)
			if abi.CodeOf(err) != abi.CodeDenied || !strings.Contains(err.Error(), "never run") {
				t.Fatalf("want a hardline refusal, got %v", err)
			}
		})
	}
	if len(prompter.origins) != 0 {
		t.Fatalf("hardline commands were asked about: %v", prompter.origins)
	}
	// A dangerous command is asked about, naming the plugin; the prompter denies.
	os.MkdirAll(filepath.Join(home, "..", "workspace", "build"), 0o755)
	_, err = run(reg, "rm -rf build")
	if abi.CodeOf(err) != abi.CodeDenied {
		t.Fatalf("dangerous command: %v", err)
	}
	if len(prompter.origins) != 1 || prompter.origins[0] != "plugin hostile-execescape" {
		t.Fatalf("prompt origins: %v", prompter.origins)
	}
	if b, err := os.ReadFile(filepath.Join(home, "canary")); err != nil || string(b) != "alive" {
		t.Fatalf("home was touched: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, "..", "workspace", "build")); err != nil {
		t.Fatal("a denied rm ran")
	}
}

func TestPluginExecDocker(t *testing.T) {
	image := os.Getenv("HERMES_SANDBOX_TEST_IMAGE")
	if image == "" {
		image = "hermes-sandbox-test:1"
	}
	var opened *docker.Backend
	reg, home := pluginHost(t, func(ctx context.Context, _, workspace string, _ *store.DB) (sandbox.Backend, error) {
		cfg := docker.DefaultConfig()
		cfg.Image, cfg.Workspace, cfg.Home, cfg.Profile, cfg.Task = image, workspace, filepath.Join(workspace, "..", "hermes-home"), "hermes-test", "plugin-exec-"+time.Now().Format("150405.000000")
		b, err := docker.New(ctx, cfg)
		opened = b
		return b, err
	})
	t.Cleanup(func() {
		if opened != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			opened.Remove(ctx)
		}
	})
	res, err := run(reg, "rm -rf ~ ; echo done; cat /workspace/in-workspace.txt")
	if errors.Is(err, docker.ErrDaemonUnavailable) && os.Getenv("CI") != "true" {
		t.Skip("no Docker daemon")
	}
	if err != nil || res.ExitCode != 0 || !strings.Contains(res.Output, "done") || !strings.Contains(res.Output, "hello") {
		t.Fatalf("under docker: %+v %v", res, err)
	}
	if b, err := os.ReadFile(filepath.Join(home, "canary")); err != nil || string(b) != "alive" {
		t.Fatalf("the host home was touched: %v", err)
	}
}

// TestDenyRulesOnEveryBackend: terminal.deny refuses a matching command on the local and docker
// backends alike, asked directly or through a plugin's exec, and the command never runs.
func TestDenyRulesOnEveryBackend(t *testing.T) {
	image := os.Getenv("HERMES_SANDBOX_TEST_IMAGE")
	if image == "" {
		image = "hermes-sandbox-test:1"
	}
	for _, name := range []string{"local", "docker"} {
		t.Run(name, func(t *testing.T) {
			var opened sandbox.Backend
			reg, home := pluginHost(t, func(ctx context.Context, home, workspace string, db *store.DB) (sandbox.Backend, error) {
				rules := classify.Rules{Deny: []string{`^echo DENYME`}, Home: home}
				cfg := docker.DefaultConfig()
				cfg.Image, cfg.Workspace, cfg.Home, cfg.Profile, cfg.Task = image, workspace, filepath.Join(workspace, "..", "hermes-home"), "hermes-test", "deny-"+time.Now().Format("150405.000000")
				b, err := Open(ctx, Options{
					Name:   name,
					Local:  local.Config{Workdir: workspace},
					Docker: cfg,
					Gate:   approval.NewGate(rules, approval.NoPrompt{}, db),
					Rules:  rules,
				})
				opened = b
				return b, err
			})
			t.Cleanup(func() {
				if d, ok := opened.(*denying); ok {
					opened = d.Backend
				}
				if d, ok := opened.(*docker.Backend); ok {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					d.Remove(ctx)
				}
			})
			workspace := filepath.Join(home, "..", "workspace")
			res, err := run(reg, "echo allowed > ok.txt; cat ok.txt")
			if errors.Is(err, docker.ErrDaemonUnavailable) && os.Getenv("CI") != "true" {
				t.Skip("no Docker daemon")
			}
			if err != nil || res.ExitCode != 0 || strings.TrimSpace(res.Output) != "allowed" {
				t.Fatalf("a command outside the deny rules: %+v %v", res, err)
			}
			for _, cmd := range []string{"echo DENYME now > denied.txt", "true && sh -c 'echo DENYME > denied.txt'"} {
				_, err := run(reg, cmd)
				want := "refused: matches your deny rule \"^echo DENYME\" (deny-rule); terminal.deny rules never run, on any backend; change the command or the rule in config.toml"
				if abi.CodeOf(err) != abi.CodeDenied || !strings.Contains(err.Error(), want) {
					t.Fatalf("plugin exec of %q: want %q, got %v", cmd, want, err)
				}
				// The agent's terminal and hermes exec use the backend directly.
				_, err = opened.Run(context.Background(), sandbox.Request{Command: cmd, Origin: "the agent"})
				var denied *approval.DeniedError
				if !errors.As(err, &denied) || err.Error() != name+": "+want {
					t.Fatalf("run %q: %v", cmd, err)
				}
			}
			if _, err := os.Stat(filepath.Join(workspace, "denied.txt")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a denied command ran: %v", err)
			}
		})
	}
}
