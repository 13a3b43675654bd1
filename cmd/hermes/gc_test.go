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
	gcs := func(env ...string) int {
		cmd := c.cmd("", "tools", "call", "echo.echo", `{"message":"hi"}`)
		cmd.Env = append(cmd.Env, append(env, "GODEBUG=gctrace=1")...)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("tools call: %v\n%s", err, errb.String())
		}
		if len(env) == 0 && time.Since(start) >= oneShotQuiet {
			// A machine slow enough that the call outlived its quiet second has switched the
			// collector back on; there is nothing to assert.
			t.Skipf("tools call took %v, more than %v", time.Since(start), oneShotQuiet)
		}
		n := 0
		for _, l := range strings.Split(errb.String(), "\n") {
			if strings.HasPrefix(l, "gc ") {
				n++
			}
		}
		return n
	}
	if n := gcs(); n != 0 {
		t.Errorf("tools call ran %d collections, want none", n)
	}
	if n := gcs("GOGC=100"); n == 0 {
		t.Errorf("tools call with GOGC=100 ran no collection; the explicit GOGC was not used")
	}
}
