//go:build unix

// Package local is the sandbox backend that runs commands on the host itself, after the
// approval gate (sandbox/approval) has let them through.
//
// Each command runs as Shell -c Command in its own process group, with a minimal environment
// (hermes' own secrets never reach it), stdin from /dev/null, and stdout and stderr on one
// pipe so they interleave as the command wrote them. Output is kept in a bounded buffer (the
// head and a ring of the tail), never more than the output limit needs. At the timeout, or
// when the caller's context is cancelled, the whole process group is killed with SIGKILL.
//
// A process that leaves its process group (setsid, setpgid) escapes the kill; the local backend
// is not a sandbox.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/approval"
)

// Defaults for Config's zero fields.
const (
	DefaultShell   = "/bin/sh"
	DefaultTimeout = 180 * time.Second
)

// DefaultEnvNames are the variables a command inherits from hermes' environment when
// Config.BaseEnv is nil. Nothing else is passed: hermes' own keys (OPENROUTER_API_KEY, ...)
// never reach a command; terminal.env_passthrough arrives per request in Request.Env.
var DefaultEnvNames = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR", "SHELL"}

// drainDelay is how long Run keeps reading output after the shell has exited, for background
// processes it left behind that still hold the output pipe. After it, Run returns without them
// (they are not killed; their later writes fail).
const drainDelay = 250 * time.Millisecond

// Config configures a Backend.
type Config struct {
	Shell       string        // "" means DefaultShell
	Timeout     time.Duration // default per-command timeout; 0 means DefaultTimeout
	OutputLimit int           // characters kept of a command's output; 0 or less means sandbox.DefaultOutputLimit
	Workdir     string        // where commands run; "" means hermes' working directory
	// BaseEnv is the environment every command starts from, as "KEY=value" entries; nil means
	// DefaultEnvNames taken from hermes' environment when New is called.
	BaseEnv []string
}

// Backend runs commands on the host.
type Backend struct {
	cfg  Config
	gate *approval.Gate

	mu      sync.Mutex
	closed  bool
	running map[*exec.Cmd]context.CancelFunc
}

var _ sandbox.Backend = (*Backend)(nil)

// New returns a host backend whose commands must first pass gate. A nil gate refuses every
// command.
func New(cfg Config, gate *approval.Gate) *Backend {
	if cfg.Shell == "" {
		cfg.Shell = DefaultShell
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.OutputLimit <= 0 {
		cfg.OutputLimit = sandbox.DefaultOutputLimit
	}
	if cfg.BaseEnv == nil {
		cfg.BaseEnv = envFrom(DefaultEnvNames)
	}
	cfg.BaseEnv = append([]string(nil), cfg.BaseEnv...)
	return &Backend{cfg: cfg, gate: gate, running: map[*exec.Cmd]context.CancelFunc{}}
}

func envFrom(names []string) []string {
	env := []string{}
	for _, n := range names {
		if v, ok := os.LookupEnv(n); ok {
			env = append(env, n+"="+v)
		}
	}
	return env
}

// Name is "local".
func (b *Backend) Name() string { return "local" }

// Close kills the commands still running and makes later Runs fail.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for _, cancel := range b.running {
		cancel()
	}
	return nil
}

// Run asks the gate, then runs req.Command. A refusal is an error wrapping
// *approval.DeniedError. A command that ran is a Result, whatever its exit code; one killed at
// its timeout has ExitCode 124 and TimedOut. When ctx is cancelled while the command runs, its
// process group is killed too and Run returns that Result (124, TimedOut) together with an
// error wrapping ctx's error.
func (b *Backend) Run(ctx context.Context, req sandbox.Request) (sandbox.Result, error) {
	if b.gate == nil {
		return sandbox.Result{}, errors.New("local: no approval gate")
	}
	if _, err := b.gate.Check(ctx, req.Command, req.Origin); err != nil {
		return sandbox.Result{}, fmt.Errorf("local: %w", err)
	}
	env, err := b.env(req.Env)
	if err != nil {
		return sandbox.Result{}, fmt.Errorf("local: %w", err)
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = b.cfg.Timeout
	}

	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, b.cfg.Shell, "-c", req.Command)
	cmd.Dir = b.cfg.Workdir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var killed atomic.Bool
	cmd.Cancel = func() error {
		killed.Store(true)
		// The shell has not been reaped yet (exec calls Cancel only before Wait returns), so
		// its pid is still the group's id.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		return sandbox.Result{}, fmt.Errorf("local: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw // one pipe: stdout and stderr interleave in write order

	if !b.track(cmd, cancel) {
		pr.Close()
		pw.Close()
		return sandbox.Result{}, errors.New("local: backend closed")
	}
	defer b.untrack(cmd)

	buf := newOutputBuffer(b.cfg.OutputLimit)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return sandbox.Result{}, fmt.Errorf("local: start %s: %w", b.cfg.Shell, err)
	}
	pw.Close() // the child holds its own copies
	copied := make(chan struct{})
	go func() {
		io.Copy(buf, pr)
		close(copied)
	}()

	waitErr := cmd.Wait()
	select {
	case <-copied:
	case <-time.After(drainDelay):
	}
	pr.Close() // ends the copy if leftover background processes still hold the pipe
	<-copied
	dur := time.Since(start)

	res := sandbox.Result{Duration: dur}
	res.Output, res.Truncated = buf.capped()
	switch {
	case killed.Load():
		// Killed by us at the timeout, on cancellation or by Close.
		res.ExitCode, res.TimedOut = sandbox.ExitTimeout, true
		if ctx.Err() != nil {
			return res, fmt.Errorf("local: %w", context.Cause(ctx))
		}
		if b.isClosed() {
			return res, errors.New("local: killed: backend closed")
		}
		return res, nil
	case cmd.ProcessState != nil:
		res.ExitCode = exitCode(cmd.ProcessState)
		return res, nil
	}
	return res, fmt.Errorf("local: wait: %w", waitErr)
}

func (b *Backend) track(cmd *exec.Cmd, cancel context.CancelFunc) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.running[cmd] = cancel
	return true
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

func (b *Backend) untrack(cmd *exec.Cmd) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.running, cmd)
}

// exitCode is the process's exit status, or 128+signal when a signal killed it (as shells
// report it).
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// env is BaseEnv overlaid with extra, one entry per name, sorted.
func (b *Backend) env(extra map[string]string) ([]string, error) {
	m := map[string]string{}
	for _, kv := range b.cfg.BaseEnv {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		m[k] = v
	}
	for k, v := range extra {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("invalid environment variable %q", k)
		}
		m[k] = v
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+m[k])
	}
	return env, nil
}

// outputBuffer keeps what sandbox.CapOutput(all, limit) would keep of everything written to
// it, without holding everything: the first bytes that can hold the head's runes, and a ring
// of the last bytes that can hold the tail's runes. It counts the runes of what it drops.
type outputBuffer struct {
	limit    int
	headRune int // runes CapOutput keeps from the start
	tailRune int // and from the end
	head     []byte
	headCap  int
	ring     []byte // capacity tailCap; ring[pos:] then ring[:pos] once full
	pos      int
	full     bool
	total    int64 // bytes written
	runes    int64 // rune starts written (non-continuation bytes)
}

func newOutputBuffer(limit int) *outputBuffer {
	head := limit * 4 / 10
	tail := limit - head
	return &outputBuffer{
		limit:    limit,
		headRune: head,
		tailRune: tail,
		headCap:  utf8.UTFMax*head + utf8.UTFMax,
		ring:     make([]byte, 0, utf8.UTFMax*tail+utf8.UTFMax),
	}
}

func (o *outputBuffer) Write(p []byte) (int, error) {
	n := len(p)
	o.total += int64(n)
	for _, c := range p {
		if !utf8.RuneStart(c) {
			continue
		}
		o.runes++
	}
	if room := o.headCap - len(o.head); room > 0 {
		k := min(room, len(p))
		o.head = append(o.head, p[:k]...)
		p = p[k:]
	}
	for len(p) > 0 {
		if !o.full {
			room := cap(o.ring) - len(o.ring)
			k := min(room, len(p))
			o.ring = append(o.ring, p[:k]...)
			p = p[k:]
			if len(o.ring) == cap(o.ring) {
				o.full = true
				o.pos = 0
			}
			continue
		}
		if len(p) >= len(o.ring) { // only the last len(ring) bytes matter
			p = p[len(p)-len(o.ring):]
			copy(o.ring, p)
			o.pos = 0
			p = nil
			continue
		}
		k := copy(o.ring[o.pos:], p)
		p = p[k:]
		o.pos = (o.pos + k) % len(o.ring)
	}
	return n, nil
}

// tail returns the ring's bytes in write order.
func (o *outputBuffer) tail() []byte {
	if !o.full {
		return o.ring
	}
	return append(append([]byte(nil), o.ring[o.pos:]...), o.ring[:o.pos]...)
}

// dropped reports whether bytes between the head and the ring were lost.
func (o *outputBuffer) dropped() bool {
	return o.total > int64(len(o.head)+len(o.ring))
}

// capped returns the output as sandbox.CapOutput(all output, limit) would.
func (o *outputBuffer) capped() (string, bool) {
	if !o.dropped() {
		return sandbox.CapOutput(string(o.head)+string(o.tail()), o.limit)
	}
	headRunes := []rune(string(o.head))[:o.headRune]
	t := o.tail()
	for i := 0; i < utf8.UTFMax-1 && len(t) > 0 && !utf8.RuneStart(t[0]); i++ {
		t = t[1:] // the ring began inside a rune
	}
	tailRunes := []rune(string(t))
	tailRunes = tailRunes[len(tailRunes)-o.tailRune:]
	cut := o.runes - int64(o.headRune) - int64(o.tailRune)
	return string(headRunes) + fmt.Sprintf("\n[... %d characters cut ...]\n", cut) + string(tailRunes), true
}
