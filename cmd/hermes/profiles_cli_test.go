package main

import (
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// TestProfilesAreIsolated: plugins, config, secrets, approvals and sessions of one profile are
// invisible from another.
func TestProfilesAreIsolated(t *testing.T) {
	model := newScriptedModel(t, `{"text":"a"}`)
	c := newCLI(t)
	work := []string{"--profile", "work"}
	run := func(profile []string, args ...string) string { return c.mustRun(t, append(profile, args...)...) }
	run(work, "config", "set", "model.base_url", model.URL+"/v1")
	run(work, "config", "set", "WORK_API_TOKEN", "work-secret-value-123")
	run(work, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	run(work, "run", "count a")

	if out := run(nil, "plugins", "list"); !strings.Contains(out, "No plugins") {
		t.Fatalf("default profile sees work's plugins:\n%s", out)
	}
	if out := run(nil, "config", "list"); strings.Contains(out, "WORK_API_TOKEN") || strings.Contains(out, model.URL) {
		t.Fatalf("default profile sees work's config or keys:\n%s", out)
	}
	if out := run(nil, "sessions", "list", "--all"); !strings.Contains(out, "No sessions") {
		t.Fatalf("default profile sees work's sessions:\n%s", out)
	}
	if out := run(work, "sessions", "list"); !strings.Contains(out, "count a") {
		t.Fatalf("work's own session is missing:\n%s", out)
	}
	t.Setenv("HERMES_PROFILE", "work")
	if out := run(nil, "plugins", "list"); !strings.Contains(out, "textstats") {
		t.Fatalf("HERMES_PROFILE=work does not select the work profile:\n%s", out)
	}
}
