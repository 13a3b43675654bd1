package main

import "testing"

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
