package docker

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/hermes-agent/hermes/sandbox"
)

// statusField reads a field of /proc/self/status as seen by a process in the sandbox.
func statusFields(t *testing.T, b *Backend) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, line := range strings.Split(mustSucceed(t, b, "cat /proc/self/status"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

func TestCapabilitiesAndNoNewPrivs(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	const (
		capChown       = 0
		capDacOverride = 1
		capFowner      = 3
	)
	want := uint64(1<<capChown | 1<<capDacOverride | 1<<capFowner) // 0xb
	status := statusFields(t, b)
	for _, set := range []string{"CapEff", "CapPrm", "CapBnd"} {
		got, err := strconv.ParseUint(status[set], 16, 64)
		if err != nil {
			t.Fatalf("%s = %q: %v", set, status[set], err)
		}
		if got != want {
			t.Errorf("%s = %#x, want %#x (CHOWN, DAC_OVERRIDE, FOWNER)", set, got, want)
		}
	}
	if amb, _ := strconv.ParseUint(status["CapAmb"], 16, 64); amb != 0 {
		t.Errorf("CapAmb = %#x, want 0", amb)
	}
	if status["NoNewPrivs"] != "1" {
		t.Errorf("NoNewPrivs = %q, want 1", status["NoNewPrivs"])
	}
}

func TestContainerSettings(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	mustSucceed(t, b, "true")
	ins, err := b.cli.ContainerInspect(context.Background(), b.ContainerID())
	if err != nil {
		t.Fatal(err)
	}
	hc := ins.HostConfig
	switch {
	case hc.Privileged:
		t.Error("privileged")
	case !slices.Equal(hc.CapDrop, []string{"ALL"}):
		t.Errorf("CapDrop = %v", hc.CapDrop)
	case len(hc.CapAdd) != 3:
		t.Errorf("CapAdd = %v", hc.CapAdd)
	case !slices.Equal(hc.SecurityOpt, []string{"no-new-privileges"}):
		t.Errorf("SecurityOpt = %v", hc.SecurityOpt)
	case hc.PidsLimit == nil || *hc.PidsLimit != 256:
		t.Errorf("PidsLimit = %v", hc.PidsLimit)
	case hc.Tmpfs["/tmp"] != "rw,nosuid,size=512m" || hc.Tmpfs["/var/tmp"] != "rw,noexec,nosuid,size=256m" || hc.Tmpfs["/run"] != "rw,noexec,nosuid,size=64m":
		t.Errorf("Tmpfs = %v", hc.Tmpfs)
	case hc.NetworkMode != "none":
		t.Errorf("NetworkMode = %q", hc.NetworkMode)
	case hc.Init == nil || !*hc.Init:
		t.Error("no init")
	case hc.NanoCPUs != 1e9 || hc.Memory != 2<<30 || hc.MemorySwap != hc.Memory:
		t.Errorf("NanoCPUs %d Memory %d MemorySwap %d", hc.NanoCPUs, hc.Memory, hc.MemorySwap)
	case hc.PidMode.IsHost() || hc.IpcMode.IsHost() || hc.UTSMode.IsHost() || hc.UsernsMode.IsHost() || hc.NetworkMode.IsHost():
		t.Error("a host namespace is shared")
	case ins.Config.WorkingDir != WorkspaceDir:
		t.Errorf("WorkingDir = %q", ins.Config.WorkingDir)
	}
	if len(ins.Mounts) != 1 || ins.Mounts[0].Destination != WorkspaceDir || !ins.Mounts[0].RW || ins.Mounts[0].Source != b.cfg.Workspace {
		t.Errorf("mounts = %+v", ins.Mounts)
	}
	if out := mustSucceed(t, b, "cat /proc/1/cmdline | tr '\\0' ' '"); !strings.Contains(out, "docker-init") {
		t.Errorf("PID 1 is %q, want docker-init", out)
	}
	// The settings come fresh from one function: changing a returned value changes nothing.
	s := SecurityDefaults()
	s.CapAdd[0] = "SYS_ADMIN"
	*s.PidsLimit = 0
	s.Tmpfs["/tmp"] = "rw"
	if again := SecurityDefaults(); again.CapAdd[0] != "DAC_OVERRIDE" || *again.PidsLimit != 256 || again.Tmpfs["/tmp"] != "rw,nosuid,size=512m" {
		t.Error("SecurityDefaults shares state between calls")
	}
}

// hostTicks measures, until stop is called, the longest pause of a 10 ms ticker on the host.
func hostTicks() (stop func() time.Duration) {
	done := make(chan struct{})
	worst := make(chan time.Duration)
	go func() {
		var w time.Duration
		last := time.Now()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				worst <- w
				return
			case now := <-tick.C:
				w = max(w, now.Sub(last))
				last = now
			}
		}
	}()
	return func() time.Duration {
		close(done)
		return <-worst
	}
}

func TestForkBombIsContained(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	mustSucceed(t, b, "touch /tmp/marker")
	for _, bomb := range []struct{ name, command string }{
		// The classic: it runs into the pids limit and burns out, or runs until the timeout.
		{"classic", `bomb() { bomb | bomb & }; bomb`},
		// A flood that holds the container at its pids limit until killed (the subshell stops
		// when it can no longer fork; the command lives on as a sleep); the kill then has to find
		// a process slot.
		{"flood", `(while :; do sleep 1000 & done); exec sleep 1000`},
		// The case: timeout(1) returns at once (the bomb backgrounds itself), in a group
		// of its own.
		{"under timeout", `timeout 10 sh -c 'f(){ f|f& };f'`},
	} {
		t.Run(bomb.name, func(t *testing.T) {
			stop := hostTicks()
			start := time.Now()
			res := run(t, b, bomb.command, 3*time.Second)
			elapsed := time.Since(start)
			worst := stop()
			if bomb.name == "flood" && (!res.TimedOut || res.ExitCode != sandbox.ExitTimeout) {
				t.Errorf("exit %d, timed out %v, want 124 and true", res.ExitCode, res.TimedOut)
			}
			if bomb.name == "flood" && !strings.Contains(res.Output, "fork") && !strings.Contains(res.Output, "Resource temporarily unavailable") {
				t.Errorf("never reached the pids limit? output %.200q", res.Output)
			}
			if elapsed > 15*time.Second {
				t.Errorf("took %v to stop", elapsed)
			}
			if worst > time.Second {
				t.Errorf("host stalled for %v", worst)
			}
			if out := mustSucceed(t, b, "echo ok"); out != "ok\n" {
				t.Errorf("after the bomb: %q", out)
			}
			// The classic bomb backgrounds itself, so its command returns at once: what it forked
			// was killed when it returned (or, if that could not even start, the saturated
			// container was restarted). Nothing is left; no waiting.
			if left := strings.Count(mustSucceed(t, b, "ps -o pid"), "\n") - 1; left > 5 {
				t.Errorf("%d processes left after the bomb's command returned", left)
				// Do not leave it burning at the machine's pace: kill is a shell builtin.
				run(t, b, "kill -9 -1", 0)
			}
			// The tree was killed, not the container (which would have lost its /tmp).
			if res := run(t, b, "test -e /tmp/marker", 0); res.ExitCode != 0 {
				t.Log("the container was restarted")
			}
			t.Logf("stopped after %v (exit %d); worst host tick gap %v", elapsed, res.ExitCode, worst)
		})
	}
}

func TestVarTmpIsNoexec(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	script := `printf '#!/bin/sh\necho ran\n' > %s/x.sh && chmod +x %s/x.sh && %s/x.sh`
	res := run(t, b, strings.ReplaceAll(script, "%s", "/var/tmp"), 0)
	if res.ExitCode == 0 || strings.Contains(res.Output, "ran") {
		t.Errorf("script in /var/tmp ran: exit %d, %q", res.ExitCode, res.Output)
	}
	if !strings.Contains(strings.ToLower(res.Output), "permission denied") {
		t.Errorf("want permission denied, got %q", res.Output)
	}
	// Docker adds noexec and nodev to every tmpfs whose options do not say otherwise, so /tmp
	// (upstream's "rw,nosuid,size=512m") is noexec too.
	mounts := mustSucceed(t, b, "grep tmpfs /proc/mounts")
	for _, want := range []string{" /tmp tmpfs rw,nosuid,nodev,noexec,relatime,size=524288k", " /var/tmp tmpfs rw,nosuid,nodev,noexec,relatime,size=262144k", " /run tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k"} {
		if !strings.Contains(mounts, want) {
			t.Errorf("no %q in\n%s", want, mounts)
		}
	}
}

func TestTmpIsSizeLimited(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	res := run(t, b, "dd if=/dev/zero of=/tmp/big bs=1M count=600; s=$?; rm -f /tmp/big; exit $s", 0)
	if res.ExitCode == 0 {
		t.Errorf("writing 600 MiB to /tmp succeeded: %q", res.Output)
	}
	if !strings.Contains(res.Output, "No space left on device") {
		t.Errorf("want no space left, got %q", res.Output)
	}
}

// sleepers lists the processes in the sandbox whose command line mentions "sleep 10".
func sleepers(t *testing.T, b *Backend) []string {
	var found []string
	for _, line := range strings.Split(mustSucceed(t, b, "ps -o pid,args"), "\n") {
		if strings.Contains(line, "sleep 10") && !strings.Contains(line, "ps -o") {
			found = append(found, strings.TrimSpace(line))
		}
	}
	return found
}

func TestTimeoutKillsTheTree(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	// A background child, an orphan (its parent exits: it is re-parented to the init), a nested
	// shell and a foreground sleep.
	start := time.Now()
	res := run(t, b, `echo started; sleep 1000 & (sleep 1001 &); sh -c 'sleep 1002 & sleep 1003'`, time.Second)
	elapsed := time.Since(start)
	if !res.TimedOut || res.ExitCode != sandbox.ExitTimeout {
		t.Errorf("exit %d, timed out %v, want 124 and true", res.ExitCode, res.TimedOut)
	}
	if res.Output != "started\n" {
		t.Errorf("output %q", res.Output)
	}
	if elapsed > 4*time.Second {
		t.Errorf("a 1s timeout took %v", elapsed)
	}
	if left := sleepers(t, b); len(left) > 0 {
		t.Errorf("left running: %v", left)
	}
}

func TestCancelKillsTheTree(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	mustSucceed(t, b, "true")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	_, err := b.Run(ctx, sandbox.Request{Command: "sleep 1000 & sleep 1001"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("cancellation took %v", time.Since(start))
	}
	if left := sleepers(t, b); len(left) > 0 {
		t.Errorf("left running: %v", left)
	}
}

func TestExitCodeAndClosedOutput(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	res := run(t, b, "echo out; echo err >&2; exit 7", 0)
	if res.ExitCode != 7 || res.TimedOut || !strings.Contains(res.Output, "out\n") || !strings.Contains(res.Output, "err\n") {
		t.Errorf("got %+v", res)
	}
	// A command that closes its output and goes on is waited for.
	start := time.Now()
	res = run(t, b, "echo bye; exec >&- 2>&-; sleep 1; exit 3", 10*time.Second)
	if res.ExitCode != 3 || res.Output != "bye\n" || time.Since(start) < time.Second {
		t.Errorf("got %+v after %v", res, time.Since(start))
	}
}

func TestOutputIsCapped(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.OutputLimit = 1000
	b := newBackend(t, &cfg)
	res := run(t, b, `printf HEAD; head -c 200000 /dev/zero | tr '\0' x; printf TAIL`, 0)
	if !res.Truncated || !strings.HasPrefix(res.Output, "HEAD") || !strings.HasSuffix(res.Output, "TAIL") {
		t.Fatalf("truncated %v, output %.60q...", res.Truncated, res.Output)
	}
	if !strings.Contains(res.Output, "\n[... 199008 characters cut ...]\n") {
		t.Errorf("no or wrong marker in %q", res.Output)
	}
	if want := strings.Repeat("x", 396); !strings.HasPrefix(res.Output, "HEAD"+want+"\n[") {
		t.Errorf("head is not the first 400 characters")
	}

	// Far more output than fits in memory comfortably streams through a bounded buffer.
	res = run(t, b, `head -c 50000000 /dev/zero | tr '\0' y; echo; echo END`, 0)
	if !res.Truncated || !strings.HasSuffix(res.Output, "\nEND\n") || len(res.Output) > 1100 {
		t.Errorf("50 MB: truncated %v, %d bytes, ends %q", res.Truncated, len(res.Output), res.Output[max(0, len(res.Output)-20):])
	}
}

func TestOnlyRequestEnvPassesThrough(t *testing.T) {
	t.Setenv("HERMES_SECRET_TEST", "s3cret-value")
	b := newBackend(t, nil)
	res, err := b.Run(context.Background(), sandbox.Request{
		Command: `echo "A=$A"; echo "B=$B"; echo "S=${HERMES_SECRET_TEST-unset}"; env; cat /proc/$$/cmdline; ps -o args`,
		Env:     map[string]string{"A": "1", "B": "two words; $(echo injected)"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := res.Output
	for _, want := range []string{"A=1\n", "B=two words; $(echo injected)\n", "S=unset\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cret-value") {
		t.Errorf("the host's variable leaked:\n%s", out)
	}
	if strings.Count(out, "two words") != 2 { // the echo and env, never a command line
		t.Errorf("B's value shows up elsewhere:\n%s", out)
	}
	if _, err := b.Run(context.Background(), sandbox.Request{Command: "true", Env: map[string]string{"A=B": "x"}}); err == nil {
		t.Error("a variable name with = was accepted")
	}
}

func TestWorkspacePersists(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	if out := mustSucceed(t, b, "pwd; echo hello > note.txt"); out != "/workspace\n" {
		t.Errorf("pwd = %q", out)
	}
	if out := mustSucceed(t, b, "cat /workspace/note.txt"); out != "hello\n" {
		t.Errorf("second command read %q", out)
	}
	data, err := os.ReadFile(filepath.Join(b.cfg.Workspace, "note.txt"))
	if err != nil || string(data) != "hello\n" {
		t.Errorf("host workspace: %q, %v", data, err)
	}
}

func TestContainerIsFoundAgain(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	b1 := newBackend(t, &cfg)
	mustSucceed(t, b1, "echo one > /tmp/state")
	id := b1.ContainerID()
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b1.Run(ctx, sandbox.Request{Command: "true"}); err == nil {
		t.Error("Run after Close succeeded")
	}

	b2 := newBackend(t, &cfg)
	if out := mustSucceed(t, b2, "cat /tmp/state"); out != "one\n" || b2.ContainerID() != id {
		t.Errorf("second backend: container %s (want %s), /tmp/state %q", b2.ContainerID(), id, out)
	}
	// Stopped behind our back: started again, same container.
	if err := b2.cli.ContainerStop(ctx, id, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	mustSucceed(t, b2, "true")
	if b2.ContainerID() != id {
		t.Errorf("after a stop: container %s, want %s", b2.ContainerID(), id)
	}
	// Removed behind our back: recreated, and the workspace is still there.
	mustSucceed(t, b2, "echo kept > kept.txt")
	if err := b2.cli.ContainerRemove(ctx, id, removeOptions); err != nil {
		t.Fatal(err)
	}
	if out := mustSucceed(t, b2, "cat kept.txt"); out != "kept\n" || b2.ContainerID() == id || b2.ContainerID() == "" {
		t.Errorf("after removal: container %s (old %s), %q", b2.ContainerID(), id, out)
	}
	list, err := b2.find(ctx)
	if err != nil || len(list) != 1 {
		t.Errorf("containers for the task: %d, %v", len(list), err)
	}
}

func TestConcurrentRunsShareOneContainer(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := b.Run(context.Background(), sandbox.Request{Command: "echo " + strconv.Itoa(i)})
			if err == nil && res.Output != strconv.Itoa(i)+"\n" {
				err = errors.New("output " + res.Output)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if list, err := b.find(context.Background()); err != nil || len(list) != 1 {
		t.Errorf("containers: %d, %v", len(list), err)
	}
}

func TestRemove(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	mustSucceed(t, b, "true")
	id := b.ContainerID()
	ctx := context.Background()
	if err := b.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.cli.ContainerInspect(ctx, id); !cerrdefs.IsNotFound(err) {
		t.Errorf("container still there: %v", err)
	}
	if err := b.Remove(ctx); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// deadPID is the pid of a process that has exited.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if _, alive := processStart(pid); alive {
		t.Skip("pid reused already")
	}
	return pid
}

// TestReap is not parallel: the other tests' New reap too, and could remove the adopted
// container between its creation and its adoption.
func TestReap(t *testing.T) {
	ctx := context.Background()
	me := self()
	home := t.TempDir()
	mkIn := func(home string, o owner) *Backend {
		cfg := testConfig(t)
		cfg.Home = home
		b := newBackend(t, &cfg)
		if err := b.EnsureImage(ctx); err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		id, err := b.create(ctx, o)
		b.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		b.id = id
		return b
	}
	mk := func(o owner) *Backend { return mkIn(home, o) }
	dead := mk(owner{PID: deadPID(t), Host: me.Host, Start: me.Start})
	reused := mk(owner{PID: me.PID, Host: me.Host, Start: "another-boot:1"})
	live := mk(me)
	otherHost := mk(owner{PID: deadPID(t), Host: me.Host + "-elsewhere", Start: "x"})
	adopted := mk(owner{PID: deadPID(t), Host: me.Host, Start: me.Start})
	adopted.mu.Lock()
	adopted.adopt(ctx, adopted.id) // a live process (this one) took it over
	adopted.mu.Unlock()
	stopped := mk(owner{PID: deadPID(t), Host: me.Host, Start: me.Start})
	if err := stopped.cli.ContainerStop(ctx, stopped.id, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}

	// Another home's container, its owner gone and idle: never this home's to remove.
	elsewhere := mkIn(t.TempDir(), owner{PID: deadPID(t), Host: me.Host, Start: me.Start})

	// Used within the idle timeout (all were just made): nothing is abandoned yet, although
	// some owners are gone, as a CLI call's owner is as soon as it returns.
	if removed, err := Reap(ctx, live.cli, home, time.Hour); err != nil || len(removed) != 0 {
		t.Fatalf("reap within the idle timeout removed %v (%v)", removed, err)
	}
	removed, err := Reap(ctx, live.cli, home, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    *Backend
		gone bool
	}{{"dead owner", dead, true}, {"reused pid", reused, true}, {"stopped, dead owner", stopped, true},
		{"live owner", live, false}, {"other host", otherHost, false}, {"adopted by a live process", adopted, false},
		{"another home", elsewhere, false}} {
		// (A parallel test's New may have reaped the stale ones first.)
		_, err := live.cli.ContainerInspect(ctx, c.b.id)
		if gone := cerrdefs.IsNotFound(err); gone != c.gone || !c.gone && slices.Contains(removed, c.b.id) {
			t.Errorf("%s: removed %v, want %v (inspect: %v)", c.name, gone, c.gone, err)
		}
	}
}

func TestNetworkIsOffByDefault(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	out := mustSucceed(t, b, "ls /sys/class/net")
	if strings.Fields(out)[0] != "lo" || len(strings.Fields(out)) != 1 {
		t.Errorf("interfaces: %q, want only lo", out)
	}
	if out := mustSucceed(t, b, "ip -o link"); strings.Count(out, "\n") != 1 || !strings.Contains(out, "lo:") {
		t.Errorf("ip link: %q", out)
	}
	res := run(t, b, "wget -T 3 -q -O- http://1.1.1.1/ || nc -w 3 1.1.1.1 53 </dev/null", 10*time.Second)
	if res.ExitCode == 0 {
		t.Errorf("network reachable: %q", res.Output)
	}
}

func TestMissingImageError(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Image = "hermes-no-such-image:0"
	b := newBackend(t, &cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	start := time.Now()
	_, err := b.Run(ctx, sandbox.Request{Command: "true"})
	var imgErr *ImageError
	if !errors.As(err, &imgErr) {
		t.Fatalf("err = %v, want an ImageError", err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, `docker: image "hermes-no-such-image:0" is not available locally and could not be pulled: `) ||
		!strings.HasSuffix(msg, "; build or load it, or set terminal.docker.image in config.toml") || strings.Contains(msg, "\n") {
		t.Errorf("message: %s", msg)
	}
	t.Logf("%s (after %v)", msg, time.Since(start))
}

func TestDaemonUnavailable(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	cfg := DefaultConfig()
	cfg.Workspace, cfg.Home = t.TempDir(), t.TempDir()
	_, err := New(context.Background(), cfg)
	if !errors.Is(err, ErrDaemonUnavailable) || !strings.Contains(err.Error(), `start Docker, or set terminal.backend = "local"`) {
		t.Errorf("err = %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	if _, err := (Config{}).withDefaults(); err == nil {
		t.Error("no workspace accepted")
	}
	if _, err := (Config{Workspace: filepath.Join(t.TempDir(), "missing")}).withDefaults(); err == nil {
		t.Error("missing workspace accepted")
	}
	if _, err := (Config{Workspace: "."}).withDefaults(); err == nil || err.Error() != "docker: no hermes home configured (Config.Home)" {
		t.Errorf("no home: %v", err)
	}
	c, err := (Config{Workspace: ".", Home: "h"}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if c.Image != DefaultImage || c.CPUs != 1 || c.MemoryBytes != 2<<30 || c.Network || c.Timeout != 180*time.Second ||
		c.OutputLimit != sandbox.DefaultOutputLimit || c.Profile != "default" || !filepath.IsAbs(c.Workspace) ||
		!filepath.IsAbs(c.Home) || c.IdleTimeout != time.Hour ||
		d.Image != c.Image || d.MemoryBytes != c.MemoryBytes {
		t.Errorf("defaults: %+v", c)
	}
	if n := containerName("/h", "my profile", "task/1"); n != containerName("/h", "my profile", "task/1") || n == containerName("/h", "my profile", "task-1") ||
		n == containerName("/other", "my profile", "task/1") || strings.ContainsAny(n, " /") {
		t.Errorf("container name %q", n)
	}
}

func TestNetworkWhenConfigured(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.Network = true
	b := newBackend(t, &cfg)
	if out := mustSucceed(t, b, "ls /sys/class/net"); !strings.Contains(out, "eth0") {
		t.Errorf("interfaces: %q, want eth0 and lo", out)
	}
}

func TestChangedConfigReplacesContainer(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	b1 := newBackend(t, &cfg)
	mustSucceed(t, b1, "true")
	cfg.Network = true
	b2 := newBackend(t, &cfg)
	mustSucceed(t, b2, "true")
	if b2.ContainerID() == b1.ContainerID() {
		t.Error("a container made without network was reused with network = true")
	}
	if list, err := b2.find(context.Background()); err != nil || len(list) != 1 || list[0].ID != b2.ContainerID() {
		t.Errorf("containers for the task: %+v, %v", list, err)
	}
}

// A command's background processes outlive it (the exec ends with its main process, as with
// `docker exec`), so a command may start a server for the next one; only a timeout or a
// cancellation kills the tree.
// TestBackgroundProcessesEndWithTheCommand: what a command leaves running — a background job,
// an orphan re-parented to the init, a process group of its own (timeout) — is killed and reaped
// when the command returns, not only at a timeout; the command's output and exit code stand.
func TestBackgroundProcessesEndWithTheCommand(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	for _, command := range []string{
		"sleep 1005 & echo started",
		"(sleep 1006 &); echo started",
		"timeout 100 sleep 1007 & echo started",
		"sh -c 'sleep 1008 & exit 3' ; echo started; exit 3",
		"setsid sleep 1009 & echo started",
	} {
		t.Run(command, func(t *testing.T) {
			res := run(t, b, command, 0)
			if res.Output != "started\n" || res.TimedOut || (res.ExitCode != 0) != strings.Contains(command, "exit 3") {
				t.Errorf("exit %d, timed out %v, output %q", res.ExitCode, res.TimedOut, res.Output)
			}
			if left := sleepers(t, b); len(left) != 0 {
				t.Errorf("left running: %v", left)
			}
		})
	}
}

// A command that kills every process, the container's main one included, stops the container;
// the next Run starts it again.
func TestContainerStoppedByACommand(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	mustSucceed(t, b, "echo here > /workspace/f")
	id := b.ContainerID()
	run(t, b, "kill -9 -1", 0)
	if out := mustSucceed(t, b, "cat /workspace/f"); out != "here\n" || b.ContainerID() != id {
		t.Errorf("after kill -9 -1: %q in %s (was %s)", out, b.ContainerID(), id)
	}
}

// TestHomesAndProfilesKeepTheirContainers: two hermes homes with the same profile, task and
// workspace get two containers (B cannot read what A left in /tmp), and neither B nor another
// profile of A removes A's container, although its owner — a CLI call — has exited.
func TestHomesAndProfilesKeepTheirContainers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	me := self()
	cfgA := testConfig(t)
	a := newBackend(t, &cfgA)
	if err := a.EnsureImage(ctx); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	idA, err := a.create(ctx, owner{PID: deadPID(t), Host: me.Host, Start: me.Start})
	a.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	a.id = idA
	mustSucceed(t, a, "echo secret-of-A > /tmp/A.txt")

	cfgB := cfgA
	cfgB.Home = t.TempDir()
	b := newBackend(t, &cfgB)
	if res := run(t, b, "cat /tmp/A.txt", 0); res.ExitCode == 0 || strings.Contains(res.Output, "secret-of-A") {
		t.Fatalf("home B read home A's file: exit %d %q", res.ExitCode, res.Output)
	}
	if b.ContainerID() == idA {
		t.Fatal("home B uses home A's container")
	}

	cfgP := cfgA
	cfgP.Profile = "hermes-test-other"
	p := newBackend(t, &cfgP)
	mustSucceed(t, p, "true")

	if _, err := a.cli.ContainerInspect(ctx, idA); err != nil {
		t.Fatalf("home A's container is gone after B and another profile ran: %v", err)
	}
	if out := mustSucceed(t, a, "cat /tmp/A.txt"); out != "secret-of-A\n" || a.ContainerID() != idA {
		t.Fatalf("home A's container: %q in %s (was %s)", out, a.ContainerID(), idA)
	}
	labels := map[string]string{}
	if ci, err := a.cli.ContainerInspect(ctx, idA); err == nil {
		labels = ci.Config.Labels
	}
	if labels[labelHome] != cfgA.Home || labels[labelProfile] != cfgA.Profile || labels[labelTask] != cfgA.Task {
		t.Fatalf("labels %v", labels)
	}
}

// TestSaturatedContainerIsReplaced: when another command holds the container at its pids limit,
// so that a new command cannot even start, the container is restarted (its processes all end)
// and the new command runs.
func TestSaturatedContainerIsReplaced(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	b := newBackend(t, &cfg)
	mustSucceed(t, b, "true")
	flooded := make(chan sandbox.Result, 1)
	go func() {
		// Fills the process table, says so in the workspace, and lives on without a process slot.
		res, _ := b.Run(context.Background(), sandbox.Request{Command: `(while sleep 1000 & do :; done) 2>/dev/null; sleep 1000 & echo full > /workspace/full; exec sleep 1000`, Timeout: time.Minute})
		flooded <- res
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(cfg.Workspace, "full")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flood never filled the container")
		}
	}
	id := b.ContainerID()
	if out := mustSucceed(t, b, "echo ok; sleep 0; echo forked"); out != "ok\nforked\n" {
		t.Fatalf("in a saturated container: %q", out)
	}
	if b.ContainerID() != id {
		t.Errorf("container %s replaced by %s: want the same one, restarted", id, b.ContainerID())
	}
	if res := <-flooded; res.ExitCode == 0 || res.TimedOut {
		t.Errorf("the flooding command was not ended with its container: %+v", res)
	}
	if left := strings.Count(mustSucceed(t, b, "ps -o pid"), "\n") - 1; left > 5 {
		t.Errorf("%d processes left after the replacement", left)
		run(t, b, "kill -9 -1", 0)
	}
}
