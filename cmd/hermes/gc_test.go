package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/testplugins"
)

func TestCommandPathChoosesCollector(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		long bool
	}{
		{[]string{"tools", "call", "echo.echo", "{}"}, "tools", false},
		{[]string{"--profile", "work", "mcp", "serve"}, "mcp serve", true},
		{[]string{"--log-level=debug", "gateway", "run", "--platform", "telegram"}, "gateway run", true},
		{[]string{"--log-level", "debug", "api", "--port", "9000"}, "api", true},
		{[]string{"chat"}, "chat", true},
		{[]string{"gateway", "status"}, "gateway", false},
		{[]string{"--help"}, "", false},
	} {
		got := commandPath(tc.args)
		if got != tc.want || longRunning[got] != tc.long {
			t.Errorf("commandPath(%q) = %q (long-running %v), want %q (%v)", tc.args, got, longRunning[got], tc.want, tc.long)
		}
	}
}

// A cold `tools call` allocates ~15 MB loading its plugin; as a one-shot command it runs no
// collection for it, and an explicit GOGC still wins.
func TestOneShotCallRunsNoCollection(t *testing.T) {
	c := newCLI(t)
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "testdata/echo"), "--yes", "--allow-unsigned")
	// gcs runs the call and returns how many collections it ran in all, and how many started
	// within oneShotQuiet (gctrace's @ is the time since the program started, which is before
	// setupGC): on a machine slow enough that the call outlives its quiet second, the collector
	// is switched back on then, by design.
	gcs := func(env ...string) (all, quiet int) {
		cmd := c.cmd("", "tools", "call", "echo.echo", `{"message":"hi"}`)
		cmd.Env = append(cmd.Env, append(env, "GODEBUG=gctrace=1")...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("tools call: %v\n%s", err, errb.String())
		}
		for _, l := range strings.Split(errb.String(), "\n") {
			if !strings.HasPrefix(l, "gc ") {
				continue
			}
			all++
			f := strings.Fields(l) // gc 1 @0.012s 3%: …
			at, err := time.ParseDuration(strings.TrimPrefix(f[min(2, len(f)-1)], "@"))
			if err != nil {
				t.Fatalf("gctrace line %q: %v", l, err)
			}
			if at < oneShotQuiet {
				quiet++
			}
		}
		return all, quiet
	}
	if all, n := gcs(); n != 0 {
		t.Errorf("tools call ran %d collections within %v (%d in all), want none", n, oneShotQuiet, all)
	}
	if n, _ := gcs("GOGC=100"); n == 0 {
		t.Errorf("tools call with GOGC=100 ran no collection; the explicit GOGC was not used")
	}
}
