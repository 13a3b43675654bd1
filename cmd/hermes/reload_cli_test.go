package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// offeredTools is the names of the tools in the last chat request the prompt model received
// (capture on).
func offeredTools(t *testing.T, m *promptModel) []string {
	t.Helper()
	b := m.request.Load()
	if b == nil {
		t.Fatal("no request captured")
	}
	var req struct {
		Tools []struct {
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(*b, &req); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range req.Tools {
		names = append(names, tool.Function.Name)
	}
	return names
}

// TestAPIFollowsPluginChanges: a running `hermes api` picks up `hermes plugins disable` and
// `enable` run in another process: the next turn no longer offers the disabled plugin's tool
// and a call to it is refused, and after enable it runs again — the server never restarted.
func TestAPIFollowsPluginChanges(t *testing.T) {
	model := newPromptModel(t)
	c := apiHome(t, model)
	p := startAPI(t, c, nil)
	model.capture.Store(true)
	if got := completionText(t, apiPost(t, p.url, "", chatRequestBody("count: one two", false))); got != `The tool says: {"bytes":7,"lines":1,"words":2}` {
		t.Fatalf("answer %q", got)
	}
	if tools := offeredTools(t, model); !strings.Contains(strings.Join(tools, " "), "textstats__count") {
		t.Fatalf("tools offered at start: %v", tools)
	}

	c.mustRun(t, "plugins", "disable", "textstats")
	got := completionText(t, apiPost(t, p.url, "", chatRequestBody("count: one two", false)))
	if !strings.Contains(got, "error: not_found: no tool is named \"textstats__count\"") || strings.Contains(got, "words") {
		t.Fatalf("answer after disable elsewhere %q", got)
	}
	if tools := offeredTools(t, model); strings.Contains(strings.Join(tools, " "), "textstats") {
		t.Fatalf("tools offered after disable elsewhere: %v", tools)
	}

	c.mustRun(t, "plugins", "enable", "textstats")
	if got := completionText(t, apiPost(t, p.url, "", chatRequestBody("count: a", false))); got != `The tool says: {"bytes":1,"lines":1,"words":1}` {
		t.Fatalf("answer after enable elsewhere %q", got)
	}
	if tools := offeredTools(t, model); !strings.Contains(strings.Join(tools, " "), "textstats__count") {
		t.Fatalf("tools offered after enable elsewhere: %v", tools)
	}
}

// TestGatewayFollowsPluginChanges: a running `hermes gateway run` stops offering a plugin
// disabled in another terminal from the next message on; the gateway keeps serving.
func TestGatewayFollowsPluginChanges(t *testing.T) {
	model := newPromptModel(t)
	fake := telegramFake(t)
	fake.args = []string{"--backend", "local"}
	c := newCLI(t)
	profile := "reload"
	os.MkdirAll(filepath.Join(c.home, "profiles", profile), 0o700)
	hermes := func(args ...string) string { return c.mustRun(t, append([]string{"--profile", profile}, args...)...) }
	for _, kv := range append([][2]string{{"model.base_url", model.URL + "/v1"}, {"model.name", "scripted"}, {"gateway.allow_local_backend", "true"}}, fake.settings...) {
		hermes("config", "set", kv[0], kv[1])
	}
	hermes("plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	proc := startGateway(t, c, profile, fake)
	next := func() string {
		t.Helper()
		_, text := fake.next(t, proc.stderr)
		return text
	}
	fake.push("42", "count: one two")
	if got := next(); got != `The tool says: {"bytes":7,"lines":1,"words":2}` {
		t.Fatalf("reply %q; stderr:\n%s", got, proc.stderr.String())
	}
	hermes("plugins", "disable", "textstats")
	fake.push("42", "count: one two")
	if got := next(); !strings.Contains(got, `no tool is named "textstats__count"`) || strings.Contains(got, "words") {
		t.Fatalf("reply after disable elsewhere %q; stderr:\n%s", got, proc.stderr.String())
	}
	hermes("plugins", "enable", "textstats")
	fake.push("42", "count: a")
	if got := next(); got != `The tool says: {"bytes":1,"lines":1,"words":1}` {
		t.Fatalf("reply after enable elsewhere %q; stderr:\n%s", got, proc.stderr.String())
	}
}
