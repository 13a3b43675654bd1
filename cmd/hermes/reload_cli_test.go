package main

import (
	"encoding/json"
	"strings"
	"testing"
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
