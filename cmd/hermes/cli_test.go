package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hermes-agent/hermes/host/testplugins"
)

var hermesBin string

// TestMain builds the binary once (or uses the one `make test` built), so the CLI is tested
// as a user runs it.
func TestMain(m *testing.M) {
	if os.Getenv(floorServerEnv) != "" { // BenchmarkAPIServerChatWithTool's floor (apifloor_test.go)
		os.Exit(runFloorServer())
	}
	hermesBin = os.Getenv("HERMES_TEST_BIN")
	if hermesBin == "" {
		dir, err := os.MkdirTemp("", "hermes-bin-")
		if err != nil {
			panic(err)
		}
		hermesBin = filepath.Join(dir, "hermes")
		cmd := exec.Command("go", "build", "-o", hermesBin, ".")
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build hermes:", err)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

type cliHome struct {
	home, workspace string
}

func newCLI(t *testing.T) *cliHome {
	t.Helper()
	root := t.TempDir()
	c := &cliHome{home: filepath.Join(root, "home"), workspace: filepath.Join(root, "workspace")}
	os.MkdirAll(c.workspace, 0o755)
	return c
}

func (c *cliHome) cmd(stdin string, args ...string) *exec.Cmd {
	cmd := exec.Command(hermesBin, args...)
	cmd.Dir = c.workspace
	cmd.Env = append(os.Environ(), "HERMES_HOME="+c.home)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

// run runs hermes and returns stdout, stderr and the exit code.
func (c *cliHome) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := c.cmd(stdin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func (c *cliHome) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := c.run(t, "", args...)
	if code != 0 {
		t.Fatalf("hermes %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (c *cliHome) wantExit(t *testing.T, want int, mention string, args ...string) string {
	t.Helper()
	out, errOut, code := c.run(t, "", args...)
	if code != want {
		t.Fatalf("hermes %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errOut)
	}
	if !strings.Contains(errOut, mention) {
		t.Fatalf("hermes %s: stderr %q does not mention %q", strings.Join(args, " "), errOut, mention)
	}
	if lines := strings.Count(strings.TrimSpace(errOut), "\n"); lines != 0 {
		t.Errorf("error is not one line: %q", errOut)
	}
	return errOut
}

func TestPluginLifecycle(t *testing.T) {
	c := newCLI(t)
	dir := testplugins.Dir(t, "sdk/c/example")
	out := c.mustRun(t, "plugins", "install", dir, "--yes", "--allow-unsigned")
	for _, want := range []string{"textstats 0.1.0", "textstats.count", "It asks for:", "nothing: no files", "Installed textstats 0.1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("add output lacks %q:\n%s", want, out)
		}
	}
	var list struct {
		Plugins []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(c.mustRun(t, "plugins", "list", "--json")), &list); err != nil || len(list.Plugins) != 1 || list.Plugins[0]["name"] != "textstats" {
		t.Fatalf("plugins list --json: %v %v", list, err)
	}
	info := c.mustRun(t, "plugins", "info", "textstats")
	for _, want := range []string{"Granted:", "Limits:", "parameters: {"} {
		if !strings.Contains(info, want) {
			t.Errorf("info lacks %q:\n%s", want, info)
		}
	}
	var tools []map[string]any
	if err := json.Unmarshal([]byte(c.mustRun(t, "tools", "list", "--json")), &tools); err != nil || len(tools) != 2 {
		t.Fatalf("tools list --json: %v %v", tools, err)
	}
	if got := c.mustRun(t, "tools", "call", "textstats.count", `{"text":"a b"}`); !strings.Contains(got, `"words":2`) {
		t.Fatalf("tools call: %s", got)
	}
	// Arguments on stdin with '-'.
	cmd := c.cmd(`{"message":"from stdin"}`, "tools", "call", "textstats.echo", "-")
	got, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(got)) != `{"message":"from stdin"}` {
		t.Fatalf("tools call -: %s %v", got, err)
	}
	c.mustRun(t, "plugins", "remove", "textstats")
	c.wantExit(t, ExitNotFound, "no such plugin", "tools", "call", "textstats.count", `{"text":"x"}`)
}

func TestExitCodes(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	loop := testplugins.CopyTree(t, testplugins.Dir(t, "testdata/hostile/loop"))
	appendFile(t, filepath.Join(loop, "plugin.toml"), "\n[limits]\ntimeout = \"300ms\"\n")
	c.mustRun(t, "plugins", "install", loop, "--yes", "--allow-unsigned")

	tests := []struct {
		name    string
		code    int
		mention string
		args    []string
	}{
		{"tool error", ExitError, "tool_error", []string{"tools", "call", "textstats.count", `{"text":"x","deep":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`}},
		{"bad JSON", ExitUsage, "not valid JSON", []string{"tools", "call", "textstats.count", `{"text":`}},
		{"schema mismatch", ExitUsage, "invalid_arguments", []string{"tools", "call", "textstats.count", `{"text":5}`}},
		{"unknown tool", ExitNotFound, "no such tool", []string{"tools", "call", "textstats.nope", `{}`}},
		{"unknown plugin", ExitNotFound, "no such plugin", []string{"plugins", "info", "nope"}},
		{"ungranted import", ExitDenied, "extism:host/env.http_request", []string{"plugins", "install", testplugins.Dir(t, "testdata/hostile/ungranted"), "--yes", "--allow-unsigned"}},
		{"schema whose $ref cycle never ends", ExitBadPlugin, "leads back to itself without moving into the arguments", []string{"plugins", "install", testplugins.Dir(t, "testdata/hostile/cyclicschema"), "--yes", "--allow-unsigned"}},
		{"abi 99", ExitBadPlugin, "host: 1, plugin: 99", []string{"plugins", "install", testplugins.Dir(t, "testdata/hostile/abi99"), "--yes", "--allow-unsigned"}},
		{"timeout", ExitDenied, "timeout", []string{"tools", "call", "hostile-loop.spin", `{}`}},
		{"no args", ExitUsage, "tools call takes", []string{"tools", "call"}},
		{"bad flag", ExitUsage, "flag provided but not defined: -nope (see: hermes tools list --help)", []string{"tools", "list", "--nope"}},
		{"bad flag after an argument", ExitUsage, "flag provided but not defined: --nope (see: hermes tools call --help)", []string{"tools", "call", "textstats.count", `{}`, "--nope"}},
		{"install without a terminal", ExitUsage, "--yes", []string{"plugins", "install", testplugins.Dir(t, "sdk/rust/example"), "--allow-unsigned"}},
		{"install unsigned", ExitDenied, "--allow-unsigned", []string{"plugins", "install", testplugins.Dir(t, "sdk/rust/example"), "--yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.wantExit(t, tt.code, tt.mention, tt.args...)
		})
	}
	// Nothing was added by the refused commands.
	out := c.mustRun(t, "plugins", "list")
	if strings.Contains(out, "hashing") || strings.Contains(out, "hostile-ungranted") {
		t.Fatalf("a refused plugin was added:\n%s", out)
	}
}

// TestAddPromptOnTerminal answers the real y/N prompt through a pseudo-terminal.
func TestAddPromptOnTerminal(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		added  bool
	}{
		{"yes", "y\r", true},
		{"enter means no", "\r", false},
		{"anything else means no", "sure\r", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			cmd := c.cmd("", "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--allow-unsigned")
			cmd.Stdin = nil
			tty, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer tty.Close()
			screen := readUntil(t, tty, "[y/N]")
			if !strings.Contains(screen, "It asks for:") {
				t.Fatalf("prompt shown without the permissions:\n%s", screen)
			}
			if !strings.Contains(screen, "compiling textstats.wasm") {
				t.Errorf("no compilation progress on a terminal:\n%s", screen)
			}
			tty.Write([]byte(tt.answer))
			rest, _ := io.ReadAll(tty)
			cmd.Wait()
			added := strings.Contains(string(rest), "Installed textstats")
			if added != tt.added {
				t.Fatalf("answer %q: added=%v\n%s", tt.answer, added, rest)
			}
			if !tt.added && cmd.ProcessState.ExitCode() != ExitDenied {
				t.Fatalf("declined add exit code %d", cmd.ProcessState.ExitCode())
			}
		})
	}
}

func readUntil(t *testing.T, r io.Reader, marker string) string {
	t.Helper()
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		b := make([]byte, 1024)
		for !strings.Contains(buf.String(), marker) {
			n, err := r.Read(b)
			buf.Write(b[:n])
			if err != nil {
				break
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("no %q on the terminal; got:\n%s", marker, buf.String())
	}
	return buf.String()
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(text)
	f.Close()
}
