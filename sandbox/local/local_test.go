//go:build unix

package local

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/classify"
)

// counting answers with a fixed decision and counts the questions.
type counting struct {
	mu sync.Mutex
	d  approval.Decision
	n  int
}

func (c *counting) Ask(ctx context.Context, q approval.Question) (approval.Decision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return c.d, nil
}

func (c *counting) asked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// newBackend returns a backend working in a fresh directory, with HOME set to another fresh
// directory (before New reads the environment), and a prompter answering d.
func newBackend(t *testing.T, cfg Config, d approval.Decision) (*Backend, *counting, string) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	if cfg.Workdir == "" {
		cfg.Workdir = t.TempDir()
	}
	p := &counting{d: d}
	b := New(cfg, approval.NewGate(classify.Rules{Home: home}, p, nil))
	t.Cleanup(func() { b.Close() })
	return b, p, home
}

func TestRunOutputAndExitCodes(t *testing.T) {
	b, p, _ := newBackend(t, Config{}, approval.Deny)
	for _, tc := range []struct {
		name     string
		command  string
		wantOut  string
		wantCode int
	}{
		{name: "stdout and stderr interleaved", command: "echo hi; echo err >&2; echo bye", wantOut: "hi\nerr\nbye\n"},
		{name: "many interleaved writes keep order", command: "for i in 1 2 3 4 5; do echo o$i; echo e$i >&2; done",
			wantOut: "o1\ne1\no2\ne2\no3\ne3\no4\ne4\no5\ne5\n"},
		{name: "exit code", command: "echo partial; exit 3", wantOut: "partial\n", wantCode: 3},
		{name: "false", command: "false", wantCode: 1},
		{name: "command not found", command: "no-such-command-hermes-test 2>/dev/null", wantCode: 127},
		{name: "killed by a signal", command: "kill -TERM $$", wantCode: 128 + int(syscall.SIGTERM)},
		{name: "runs in the workdir", command: "pwd", wantOut: b.cfg.Workdir + "\n"},
		{name: "stdin is empty", command: "cat; echo done", wantOut: "done\n"},
		{name: "empty command", command: "", wantOut: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := b.Run(context.Background(), sandbox.Request{Command: tc.command, Origin: "you"})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.wantCode || res.Output != tc.wantOut || res.TimedOut || res.Truncated {
				t.Errorf("Run = %+v, want exit %d output %q", res, tc.wantCode, tc.wantOut)
			}
			if res.Duration <= 0 {
				t.Errorf("Duration %v", res.Duration)
			}
		})
	}
	if p.asked() != 0 {
		t.Errorf("benign commands asked about %d times", p.asked())
	}
	if b.Name() != "local" {
		t.Errorf("Name %q", b.Name())
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: kill -0 is all we have
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// pids reads the process ids the command wrote to file, one per line.
func pids(t *testing.T, file string) []int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, f := range strings.Fields(string(data)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

func TestRunKillsTheWholeTree(t *testing.T) {
	// The command records its own pid and its background child's, then waits on both; a
	// grandchild shell adds another level.
	const tree = `sleep 1000 & echo $! >> pids; sh -c 'sleep 1000 & echo $! >> pids; echo $$ >> pids; wait' & echo $$ >> pids; echo started; sleep 1000; wait`
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		cancel  time.Duration // > 0: cancel the context after this long instead
		wantErr error
	}{
		{name: "timeout", timeout: 300 * time.Millisecond},
		{name: "cancel", timeout: time.Minute, cancel: 300 * time.Millisecond, wantErr: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, _ := newBackend(t, Config{}, approval.Deny)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			start := time.Now()
			res, err := b.Run(ctx, sandbox.Request{Command: tree, Timeout: tc.timeout, Origin: "the agent"})
			el := time.Since(start)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if res.ExitCode != sandbox.ExitTimeout || !res.TimedOut {
				t.Errorf("Run = %+v, want exit 124, timed out", res)
			}
			if !strings.Contains(res.Output, "started") {
				t.Errorf("output before the kill lost: %q", res.Output)
			}
			if el > 5*time.Second {
				t.Errorf("took %v to return", el)
			}
			ps := pids(t, filepath.Join(b.cfg.Workdir, "pids"))
			if len(ps) != 4 {
				t.Fatalf("recorded pids %v, want 4", ps)
			}
			deadline := time.Now().Add(5 * time.Second)
			for _, pid := range ps {
				for alive(pid) && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if alive(pid) {
					t.Errorf("process %d survived", pid)
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			// No live (non-zombie: reaping orphans is init's business) member left in any of
			// the groups the recorded processes were in.
			for _, pid := range ps {
				out, err := exec.Command("pgrep", "-g", strconv.Itoa(pid), "-r", "R,S,D,T,t").Output()
				if err == nil && len(out) > 0 {
					t.Errorf("process group %d still has live members: %s", pid, out)
				}
			}
		})
	}
}

func TestRunLeavesBackgroundProcessBehind(t *testing.T) {
	// A command that starts a daemon and exits returns promptly; the daemon keeps the output
	// pipe but is not waited for (nor killed: it was started on purpose).
	b, _, _ := newBackend(t, Config{}, approval.Deny)
	start := time.Now()
	res, err := b.Run(context.Background(), sandbox.Request{Command: "sleep 30 & echo $! > daemon; echo ok"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 || res.Output != "ok\n" || res.TimedOut {
		t.Errorf("Run = %+v", res)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
	for _, pid := range pids(t, filepath.Join(b.cfg.Workdir, "daemon")) {
		if !alive(pid) {
			t.Errorf("background process %d was killed", pid)
		}
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func TestRunOutputCap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int
		command string
		full    func() string // what the command prints
	}{
		{name: "under the limit", limit: 100, command: "printf 'abc'", full: func() string { return "abc" }},
		{name: "just over", limit: 10, command: "printf '0123456789X'", full: func() string { return "0123456789X" }},
		{name: "far over: the middle is never held", limit: 1000, command: "seq 1 200000",
			full: func() string {
				var b strings.Builder
				for i := 1; i <= 200000; i++ {
					b.WriteString(strconv.Itoa(i) + "\n")
				}
				return b.String()
			}},
		{name: "multi-byte characters", limit: 50, command: `i=0; while [ $i -lt 300 ]; do printf 'é€😀'; i=$((i+1)); done`,
			full: func() string { return strings.Repeat("é€😀", 300) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, _, _ := newBackend(t, Config{OutputLimit: tc.limit}, approval.Deny)
			res, err := b.Run(context.Background(), sandbox.Request{Command: tc.command})
			if err != nil {
				t.Fatal(err)
			}
			want, wantTrunc := sandbox.CapOutput(tc.full(), tc.limit)
			if res.Output != want || res.Truncated != wantTrunc {
				t.Errorf("output (truncated %v):\n%.300q\nwant (truncated %v):\n%.300q", res.Truncated, res.Output, wantTrunc, want)
			}
		})
	}
}

func TestOutputBufferMatchesCapOutput(t *testing.T) {
	// Written in chunks of every size, so the ring wraps at every offset.
	full := strings.Repeat("abcdefghij€😀\n", 500)
	for _, limit := range []int{1, 2, 7, 50, 333, 10000} {
		for _, chunk := range []int{1, 3, 64, 1000, len(full)} {
			o := newOutputBuffer(limit)
			for i := 0; i < len(full); i += chunk {
				o.Write([]byte(full[i:min(i+chunk, len(full))]))
			}
			got, gotTrunc := o.capped()
			want, wantTrunc := sandbox.CapOutput(full, limit)
			if got != want || gotTrunc != wantTrunc {
				t.Errorf("limit %d chunk %d: got %.80q, want %.80q", limit, chunk, got, want)
			}
			if held := len(o.head) + cap(o.ring); held > 8*limit+8 {
				t.Errorf("limit %d: holds %d bytes", limit, held)
			}
		}
	}
}

func TestRunEnvironment(t *testing.T) {
	t.Setenv("OPENROUTER_API_KEY", "sk-test")
	t.Setenv("HERMES_TEST_SECRET", "s3cret")
	t.Setenv("LANG", "C.UTF-8")
	b, _, home := newBackend(t, Config{}, approval.Deny)
	res, err := b.Run(context.Background(), sandbox.Request{
		Command: "env",
		Env:     map[string]string{"PASSED": "yes", "LANG": "fr_FR.UTF-8"},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(res.Output), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	for _, tc := range []struct {
		name    string
		key     string
		want    string
		present bool
	}{
		{name: "hermes' API key is not passed", key: "OPENROUTER_API_KEY", present: false},
		{name: "other variables are not passed", key: "HERMES_TEST_SECRET", present: false},
		{name: "request env is passed", key: "PASSED", want: "yes", present: true},
		{name: "request env overrides the base", key: "LANG", want: "fr_FR.UTF-8", present: true},
		{name: "HOME is passed", key: "HOME", want: home, present: true},
		{name: "PATH is passed", key: "PATH", want: os.Getenv("PATH"), present: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := env[tc.key]
			if ok != tc.present || v != tc.want {
				t.Errorf("%s = %q (set %v), want %q (set %v)", tc.key, v, ok, tc.want, tc.present)
			}
		})
	}
	for k := range env {
		switch k {
		case "PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "SHELL", "PASSED",
			"PWD", "SHLVL", "_", "OLDPWD": // the shell sets the last four itself
		default:
			t.Errorf("unexpected variable %s in the command's environment", k)
		}
	}

	if _, err := b.Run(context.Background(), sandbox.Request{Command: "true", Env: map[string]string{"A=B": "x"}}); err == nil {
		t.Error("a variable name with = accepted")
	}
	// An explicit BaseEnv replaces the default.
	b2 := New(Config{BaseEnv: []string{"ONLY=this"}}, b.gate)
	res, err = b2.Run(context.Background(), sandbox.Request{Command: `echo "$ONLY:$OPENROUTER_API_KEY:$HOME"`})
	if err != nil || res.Output != "this::\n" {
		t.Errorf("explicit BaseEnv: %q, %v", res.Output, err)
	}
}

func TestRunApproval(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prompter  func() approval.Prompter
		wantAsked int
		wantRun   bool
		wantErr   string
	}{
		{name: "no prompt refuses", prompter: func() approval.Prompter { return approval.NoPrompt{Reason: "no terminal"} },
			wantErr: "run it yourself, or approve it in an interactive hermes session"},
		{name: "denied at the prompt", prompter: func() approval.Prompter { return &counting{d: approval.Deny} }, wantAsked: 1,
			wantErr: "denied at the prompt"},
		{name: "approved once runs", prompter: func() approval.Prompter { return &counting{d: approval.Once} }, wantAsked: 1, wantRun: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			t.Setenv("HOME", home)
			work := t.TempDir()
			target := filepath.Join(work, "x")
			if err := os.MkdirAll(filepath.Join(target, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := tc.prompter()
			b := New(Config{Workdir: work}, approval.NewGate(classify.Rules{Home: home}, p, nil))
			defer b.Close()
			res, err := b.Run(context.Background(), sandbox.Request{Command: "rm -rf ./x", Origin: "the agent"})
			if c, ok := p.(*counting); ok && c.asked() != tc.wantAsked {
				t.Errorf("asked %d times, want %d", c.asked(), tc.wantAsked)
			}
			_, statErr := os.Stat(target)
			if tc.wantRun {
				if err != nil || res.ExitCode != 0 {
					t.Fatalf("Run = %+v, %v", res, err)
				}
				if !os.IsNotExist(statErr) {
					t.Errorf("approved command did not run: %v", statErr)
				}
				return
			}
			var denied *approval.DeniedError
			if !errors.As(err, &denied) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want *approval.DeniedError saying %q", err, tc.wantErr)
			}
			if statErr != nil {
				t.Errorf("refused command ran: %v", statErr)
			}
		})
	}
}

type failIfAsked struct{ t *testing.T }

func (f failIfAsked) Ask(ctx context.Context, q approval.Question) (approval.Decision, error) {
	f.t.Errorf("asked about %q", q.Command)
	return approval.Always, nil
}

func TestRunHardlineNeverAsks(t *testing.T) {
	home := t.TempDir() // never the real home: this test runs rm -rf ~ if the gate fails
	t.Setenv("HOME", home)
	canary := filepath.Join(home, "canary")
	if err := os.WriteFile(canary, []byte("still here"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := New(Config{Workdir: t.TempDir()}, approval.NewGate(classify.Rules{Home: home}, failIfAsked{t}, nil))
	defer b.Close()
	for _, tc := range []struct {
		name    string
		command string
	}{
		{name: "rm -rf ~", command: "rm -rf ~"},
		{name: "rm -rf $HOME", command: "rm -rf $HOME"},
		{name: "rm -rf home path", command: "rm -rf " + home},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Run(context.Background(), sandbox.Request{Command: tc.command, Origin: "the agent"})
			var denied *approval.DeniedError
			if !errors.As(err, &denied) || denied.Verdict.Class != classify.Hardline {
				t.Errorf("err = %v, want a hardline refusal", err)
			}
			if data, err := os.ReadFile(canary); err != nil || string(data) != "still here" {
				t.Fatalf("HOME was touched: %q, %v", data, err)
			}
		})
	}
}

func TestCloseKillsAndRefuses(t *testing.T) {
	b, _, _ := newBackend(t, Config{}, approval.Deny)
	done := make(chan error, 1)
	go func() {
		_, err := b.Run(context.Background(), sandbox.Request{Command: "echo started; sleep 1000"})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "backend closed") {
			t.Errorf("running command after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop the running command")
	}
	if _, err := b.Run(context.Background(), sandbox.Request{Command: "true"}); err == nil {
		t.Error("Run after Close succeeded")
	}
}

func TestConcurrentRuns(t *testing.T) {
	b, _, _ := newBackend(t, Config{}, approval.Deny)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			want := strconv.Itoa(i)
			res, err := b.Run(context.Background(), sandbox.Request{Command: "echo " + want})
			if err != nil || res.Output != want+"\n" {
				t.Errorf("run %d: %q, %v", i, res.Output, err)
			}
		})
	}
	wg.Wait()
}

func TestDefaults(t *testing.T) {
	t.Setenv("HOME", "/home/test")
	t.Setenv("OPENROUTER_API_KEY", "sk-test")
	b := New(Config{}, nil)
	if b.cfg.Shell != "/bin/sh" || b.cfg.Timeout != 180*time.Second || b.cfg.OutputLimit != sandbox.DefaultOutputLimit {
		t.Errorf("defaults %+v", b.cfg)
	}
	for _, kv := range b.cfg.BaseEnv {
		if strings.HasPrefix(kv, "OPENROUTER_API_KEY=") {
			t.Errorf("default BaseEnv has %s", kv)
		}
	}
	if _, err := b.Run(context.Background(), sandbox.Request{Command: "true"}); err == nil {
		t.Error("a backend without a gate ran a command")
	}
}
