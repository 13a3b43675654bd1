package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/hermes-agent/hermes/sandbox"
)

// sweepFunc defines sweep ROOT START [self]: it kills the process tree of the command whose
// wrapper had pid ROOT and start time START (field 22 of /proc/PID/stat): the process group
// (one atomic kill, which also stops a fork bomb; not when the wrapper sweeps for itself, as it
// is in that group), then every process whose session or group is ROOT or whose parent is in
// the tree, every process that left the session (setsid: busybox timeout's watcher, daemons)
// after the command started unless it belongs to another exec (a session whose leader has no
// parent in the container), and every process group they are in (timeout(1) and job control
// make groups of their own), repeated until two passes in a row find none: a process killed
// in the middle of a fork leaves a child that may appear only after the next pass listed /proc
// (a timeout(1) watcher was once left so). Shell builtins only, so it needs no
// process slot even when the command used up the pids limit. Status 0 when the tree is gone,
// 1 when something survived.
const sweepFunc = `sweep() {
	r=$1 st=$2 own=$3 me=$$ i=0 clear=
	while [ $i -lt 100 ]; do
		i=$((i+1))
		[ -z "$own" ] && kill -9 -$r 2>/dev/null
		tree=" $r "
		found=
		groups=
		for d in /proc/[0-9]*; do
			{ read -r l < $d/stat; } 2>/dev/null || continue
			p=${d#/proc/}
			l=${l##*) }
			set -- $l
			state=$1 pp=$2 pg=$3 sid=$4 t=${20}
			[ "$state" = Z ] || [ "$p" = "$me" ] && continue
			[ -z "$own" ] && [ "$sid" = "$me" ] && continue
			case $tree in *" $pp "*) ;; *)
				if [ "$p" != "$r" ] && [ "$pg" != "$r" ] && [ "$sid" != "$r" ]; then
					[ -n "$st" ] && [ "$t" -ge "$st" ] 2>/dev/null || continue
					if { read -r sl < /proc/$sid/stat; } 2>/dev/null; then
						sl=${sl##*) }
						set -- $sl
						[ "$2" = 0 ] && continue
					fi
				fi ;;
			esac
			tree="$tree$p "
			found="$found $p"
			[ "$pg" -gt 1 ] 2>/dev/null && [ "$pg" != "$me" ] && [ "$pg" != "$r" -o -z "$own" ] && groups="$groups -$pg"
		done
		if [ -z "$found" ]; then
			[ -n "$clear" ] && return 0
			clear=1
			continue
		fi
		clear=
		kill -9 $groups $found 2>/dev/null
	done
	return 1
}
`

// wrapperScript runs each command ($1). It first prints its own pid and start time as the first
// line of stdout, which Run strips from the output, and records the start time in usedFile
// (when the container was last used, for reaping). If it cannot fork (the container's process
// table is full: runc still gets an exec in, but nothing in it can start a program) it adds
// " full" to the line and runs nothing; Run then restarts the container. Otherwise it runs the
// command's shell as its child, and when that returns, sweeps what the command left behind and
// exits with the command's status. The wrapper leads its own session and process group (runc
// makes every exec a session leader), which everything the command starts inherits unless it
// calls setsid. If the sweep cannot clear the tree (a fork bomb in the wrapper's own group), the
// wrapper kills its whole group, itself included: exit 137, which makes Run sweep from outside.
const wrapperScript = sweepFunc + `c=$1
{ read -r s < /proc/$$/stat; } 2>/dev/null
s=${s##*) }
set -- $s
if ! ( : ) 2>/dev/null; then echo "$$ ${20} full"; exit 125; fi
echo "$$ ${20}"
{ echo "${20}" > ` + usedFile + `; } 2>/dev/null
st=${20}
/bin/sh -c "$c"
rc=$?
sweep $$ "$st" self || kill -9 -$$
exit $rc`

// killScript sweeps (see sweepFunc) the tree of the command whose wrapper had pid $1 and start
// time $2, from a second exec: at a timeout, at a cancellation, or after a wrapper that had to
// kill itself. It does nothing when the pid now belongs to another process.
const killScript = sweepFunc + `r=$1 st=$2
if { read -r l < /proc/$r/stat; } 2>/dev/null; then
	l=${l##*) }
	set -- $l
	if [ -n "$st" ] && [ "${20}" != "$st" ]; then exit 0; fi
fi
sweep "$r" "$st"`

// killGrace bounds the work after a timeout or cancellation: killing the tree, draining output.
const killGrace = 10 * time.Second

// goneError marks a failure because the container vanished or stopped; Run retries once.
type goneError struct{ err error }

func (e *goneError) Error() string { return e.err.Error() }
func (e *goneError) Unwrap() error { return e.err }

// Run implements sandbox.Backend: the command runs as an exec in the container, with only
// req.Env in its environment (on top of the image's own), in /workspace.
func (b *Backend) Run(ctx context.Context, req sandbox.Request) (sandbox.Result, error) {
	start := time.Now()
	env, err := envList(req.Env)
	if err != nil {
		return sandbox.Result{}, err
	}
	timeout := req.Timeout
	if timeout <= 0 {
		timeout = b.cfg.Timeout
	}
	for attempt := 0; ; attempt++ {
		id, err := b.container(ctx)
		if err != nil {
			return sandbox.Result{}, err
		}
		res, err := b.run(ctx, id, req.Command, env, timeout)
		var gone *goneError
		if errors.As(err, &gone) && attempt == 0 && ctx.Err() == nil {
			b.forget(id) // vanished or stopped behind our back: find, restart or recreate it, once
			continue
		}
		res.Duration = time.Since(start)
		return res, err
	}
}

// envList turns req.Env into the exec's KEY=value list, sorted.
func envList(m map[string]string) ([]string, error) {
	env := make([]string, 0, len(m))
	for k, v := range m {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("docker: environment variable %q: invalid name or value", k)
		}
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env, nil
}

// run runs one command in container id.
func (b *Backend) run(ctx context.Context, id, command string, env []string, timeout time.Duration) (sandbox.Result, error) {
	var (
		created container.ExecCreateResponse
		hj      types.HijackedResponse
		err     error
	)
	// Starting an exec right after the container (re)started can fail with a daemon-side 500
	// before anything ran ("unable to upgrade to tcp"); that is safe to try again, briefly.
	for attempt := 0; ; attempt++ {
		created, err = b.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
			Cmd:          []string{"/bin/sh", "-c", wrapperScript, "hermes-exec", command},
			Env:          env,
			WorkingDir:   WorkspaceDir,
			AttachStdout: true,
			AttachStderr: true,
		})
		if err != nil {
			return sandbox.Result{}, b.execError("create exec", err)
		}
		hj, err = b.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(err.Error(), "unable to upgrade") || ctx.Err() != nil {
			return sandbox.Result{}, b.execError("start exec", err)
		}
		time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
	}
	defer hj.Close()

	out := newCapture(b.cfg.OutputLimit)
	copied := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(out.stdout(), out.stderr(), hj.Reader)
		copied <- err
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()

	var res sandbox.Result
	var stream <-chan error = copied // nil once the output ended
	// The exec is inspected from the start, not only once the output ends: background processes
	// that hold the output open would otherwise delay the end (by the daemon's I/O grace).
	delay := 2 * time.Millisecond
	poll := time.After(delay)
	cancelled := false
	// drain waits a moment for the rest of the output, once the tree is killed.
	drain := func() {
		if stream != nil {
			select {
			case <-stream:
			case <-time.After(2 * time.Second):
				hj.Close()
				<-stream
			}
			stream = nil
		}
	}
wait:
	for {
		select {
		case err := <-stream:
			stream = nil
			if err != nil {
				return res, b.wrap("read command output", err)
			}
			poll = time.After(0)
		case <-poll:
			// The output is closed; the command has normally exited too, unless it closed its
			// stdout and stderr and went on, or the daemon has not recorded the exit yet.
			ins, err := b.cli.ContainerExecInspect(ctx, created.ID)
			if err != nil {
				if ctx.Err() != nil {
					cancelled = true
					break wait
				}
				return res, b.wrap("inspect exec", err)
			}
			if !ins.Running && stream != nil && !out.ran() {
				// It exited before any of its output arrived, not even the wrapper's first line:
				// the output is on its way (a loaded daemon delivers it after recording the exit),
				// and only with it can a command that ran be told from a wrapper that never
				// started. Judged on the next poll, or when the output ends.
				poll = time.After(delay)
				delay = min(delay*2, 250*time.Millisecond)
				continue
			}
			if !ins.Running {
				res.ExitCode = ins.ExitCode
				if out.saturated() {
					// Processes the container cannot be rid of (another command's, still running)
					// hold it at its pids limit: start it afresh and try again.
					if err := b.replace(context.WithoutCancel(ctx), id); err != nil {
						return res, err
					}
					return res, &goneError{fmt.Errorf("docker: container %s is at its limit of 256 processes and was restarted", shortID(id))}
				}
				if stream != nil && out.ran() {
					// Exited, but what it left running holds the output open: end it now.
					kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killGrace)
					defer cancel()
					killErr := b.killTree(kctx, id, created.ID, out)
					drain()
					res.Output, res.Truncated = out.result()
					return res, killErr
				}
				res.Output, res.Truncated = out.result()
				if ins.ExitCode != 0 && !out.ran() {
					// The wrapper never ran: the runtime could not start the exec (the daemon's
					// reason is in the output). The container stopped meanwhile, or it is
					// saturated (its process limit used up by what escaped an earlier command):
					// either way Run starts it afresh — killed first if need be — and tries again.
					if b.stopping(ctx, id) {
						return res, &goneError{fmt.Errorf("docker: container %s stopped: %s", shortID(id), res.Output)}
					}
					why := fmt.Errorf("docker: the command could not be started in container %s (exit %d%s); "+
						"its limit of 256 processes may be used up: the container was restarted",
						shortID(id), ins.ExitCode, strings.TrimSpace(": "+strings.TrimSpace(res.Output)))
					if err := b.replace(context.WithoutCancel(ctx), id); err != nil {
						return res, errors.Join(why, err)
					}
					return res, &goneError{why}
				}
				// The command is done, and the wrapper swept what it started — unless it had to
				// kill itself doing so (137, as for any command killed by SIGKILL): sweep again.
				if ins.ExitCode == 137 {
					kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killGrace)
					defer cancel()
					return res, b.killTree(kctx, id, created.ID, out)
				}
				return res, nil
			}
			poll = time.After(delay)
			delay = min(delay*2, 250*time.Millisecond)
		case <-timer.C:
			res.TimedOut, res.ExitCode = true, sandbox.ExitTimeout
			break wait
		case <-ctx.Done():
			cancelled = true
			break wait
		}
	}

	// Timed out or cancelled: kill the whole tree, then give the output a moment to drain.
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killGrace)
	defer cancel()
	killErr := b.killTree(kctx, id, created.ID, out)
	drain()
	res.Output, res.Truncated = out.result()
	if cancelled {
		res.ExitCode = -1
		return res, fmt.Errorf("docker: command cancelled: %w", errors.Join(context.Cause(ctx), killErr))
	}
	return res, killErr
}

// stopping says whether container id is gone or stops within a second (the daemon may still
// report a container whose processes all died as running for a moment).
func (b *Backend) stopping(ctx context.Context, id string) bool {
	deadline := time.Now().Add(time.Second)
	for {
		ci, err := b.cli.ContainerInspect(ctx, id)
		if cerrdefs.IsNotFound(err) || err == nil && (ci.State == nil || !ci.State.Running) {
			return true
		}
		if err != nil || time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// execError classifies an exec failure: gone (container removed or stopped) or other.
func (b *Backend) execError(what string, err error) error {
	if cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) {
		return &goneError{fmt.Errorf("docker: %s: %w", what, err)}
	}
	return b.wrap(what, err)
}

// killTree kills the command's process tree with killScript, run as a second exec. If that
// cannot be done (no process slot left, say), the container itself is killed: all its
// processes die, and the next Run starts it again.
func (b *Backend) killTree(ctx context.Context, id, execID string, out *capture) error {
	pid, start := out.pidInfo(ctx, 3*time.Second)
	if pid == "" {
		// The wrapper never reported: if the exec is not running, there is nothing to kill.
		if ins, err := b.cli.ContainerExecInspect(ctx, execID); err == nil && !ins.Running {
			return nil
		}
	} else {
		for attempt := 0; attempt < 5 && ctx.Err() == nil; attempt++ {
			_, code, err := execSimple(ctx, b.cli, id, []string{"/bin/sh", "-c", killScript, "hermes-kill", pid, start})
			if err == nil && code == 0 {
				return nil
			}
			time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		}
	}
	if err := b.replace(ctx, id); err != nil {
		return fmt.Errorf("kill the command's processes: %w", err)
	}
	return nil
}

// replace kills container id, whose processes can no longer be trusted to end (a saturated
// process table); the next Run starts it again, with nothing of the old processes left.
func (b *Backend) replace(ctx context.Context, id string) error {
	if err := b.cli.ContainerKill(ctx, id, "KILL"); err != nil && !cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) {
		return b.wrap("kill container "+shortID(id), err)
	}
	b.forget(id)
	// Wait for it to stop, so that the next Run starts it instead of finding it still running.
	waited, errs := b.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-waited:
	case <-errs:
	case <-ctx.Done():
	}
	return nil
}

// execSimple runs cmd in container id and returns its output (the first 64 KiB) and exit code.
func execSimple(ctx context.Context, cli client.APIClient, id string, cmd []string) (string, int, error) {
	created, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{Cmd: cmd, AttachStdout: true, AttachStderr: true})
	if err != nil {
		return "", 0, err
	}
	hj, err := cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", 0, err
	}
	defer hj.Close()
	stop := context.AfterFunc(ctx, func() { hj.Close() })
	defer stop()
	var buf limitedBuffer
	buf.max = 64 << 10
	_, err = stdcopy.StdCopy(&buf, &buf, hj.Reader)
	if err != nil {
		return buf.String(), 0, err
	}
	delay := time.Millisecond
	for {
		ins, err := cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return buf.String(), 0, err
		}
		if !ins.Running {
			return buf.String(), ins.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return buf.String(), 0, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 50*time.Millisecond)
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// capture collects a command's output: stdout and stderr interleaved as they arrive, bounded
// (head and tail kept, see bounded), minus the wrapper's first stdout line (pid and start time).
type capture struct {
	mu       sync.Mutex
	buf      *bounded
	line     []byte // the wrapper's line so far
	lineDone bool
	started  bool          // the line was the wrapper's
	full     bool          // the wrapper found the process table full and ran nothing
	pidKnown chan struct{} // closed once the wrapper's line is in (or was not there)
	pid      string
	start    string
}

func newCapture(limit int) *capture {
	return &capture{buf: newBounded(limit), pidKnown: make(chan struct{})}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (c *capture) stdout() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		n := len(p)
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.lineDone {
			i := bytes.IndexByte(p, '\n')
			if i < 0 && len(c.line)+len(p) <= 64 {
				c.line = append(c.line, p...)
				return n, nil
			}
			c.lineDone = true
			defer close(c.pidKnown)
			if i >= 0 {
				line := append(c.line, p[:i]...)
				if m := wrapperLine().FindSubmatch(line); m != nil {
					c.started, c.pid, c.start, c.full = true, string(m[1]), string(m[2]), len(m[3]) > 0
					p = p[i+1:]
				}
			}
			if !c.started { // not the wrapper's line: output (such as the daemon's error)
				c.buf.Write(c.line)
			}
			c.line = nil
		}
		c.buf.Write(p)
		return n, nil
	})
}

// wrapperLine is what wrapperScript prints first: its pid and start time.
// " full" ends it when the wrapper could not fork: the container's process table is full.
var wrapperLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([0-9]+) ([0-9]*)( full)?$`) })

// ran says whether the wrapper printed its line, that is, whether the command ran at all.
func (c *capture) ran() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// saturated says whether the wrapper found the process table full (and ran nothing).
func (c *capture) saturated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.full
}

func (c *capture) stderr() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.buf.Write(p)
		return len(p), nil
	})
}

func (c *capture) result() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.result()
}

// pidInfo waits up to d for the wrapper's pid and start time.
func (c *capture) pidInfo(ctx context.Context, d time.Duration) (pid, start string) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-c.pidKnown:
	default:
		select {
		case <-c.pidKnown:
		case <-timer.C:
			return "", ""
		case <-ctx.Done():
			return "", ""
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pid, c.start
}
