package evolve

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/store"
)

func TestSessionCases(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	add := func(sid string, ms ...store.Message) {
		t.Helper()
		for i := range ms {
			ms[i].SessionID = sid
		}
		if _, err := db.AppendMessages(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}
	view := func(args string) store.Message {
		return store.Message{Role: store.RoleAssistant, ToolCalls: []store.ToolCall{{ID: "c1", Name: "skill_view", Arguments: args}}}
	}
	result := store.Message{Role: store.RoleTool, ToolCallID: "c1", Name: "skill_view", Content: "the skill"}
	user := func(s string) store.Message { return store.Message{Role: store.RoleUser, Content: s} }
	say := func(s string) store.Message { return store.Message{Role: store.RoleAssistant, Content: s} }

	cli, err := db.CreateSession(ctx, "cli", "default", "m", "")
	if err != nil {
		t.Fatal(err)
	}
	api, err := db.CreateSession(ctx, "api", "default", "m", "")
	if err != nil {
		t.Fatal(err)
	}
	add(cli.ID,
		user("what is 2+2?"), say("4"), // the skill was not read in this turn
		user("name a yellow fruit, my key is sk-secret-123"), view(`{"name":"fruit"}`), result, say("banana (sk-secret-123)"),
		user("and a reference?"), view(`{"name":"fruit","file":"references/x.md"}`), result, say("no"), // a reference only
		user("again: name a yellow fruit, my key is sk-secret-123"), view(`{"name":"fruit"}`), result, say("banana"),
	)
	add(api.ID, user("name a red fruit"), view(`{"name":"fruit"}`), result, say("apple"),
		user("name a yellow fruit, my key is sk-secret-123"), view(`{"name":"fruit"}`), result, say("banana")) // same task: once
	redact := func(s string) string { return strings.ReplaceAll(s, "sk-secret-123", "[REDACTED:KEY]") }

	cases, err := SessionCases(ctx, db, "fruit", redact)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []string
	for _, c := range cases {
		tasks = append(tasks, c.Task)
		if strings.Contains(c.Task+c.Rubric, "sk-secret-123") {
			t.Errorf("a secret is in a case: %+v", c)
		}
		if c.Rubric == "" || !strings.HasPrefix(c.Source, "session ") {
			t.Errorf("case %+v", c)
		}
	}
	want := []string{"name a red fruit", "name a yellow fruit, my key is [REDACTED:KEY]", "again: name a yellow fruit, my key is [REDACTED:KEY]"}
	if strings.Join(tasks, "|") != strings.Join(want, "|") {
		t.Fatalf("tasks %q, want %q", tasks, want)
	}
	if !strings.Contains(cases[0].Rubric, "apple") {
		t.Errorf("the rubric does not quote the earlier answer: %s", cases[0].Rubric)
	}
	if err := CheckCases(cases); err != nil {
		t.Error(err)
	}
	if none, err := SessionCases(ctx, db, "veg", redact); err != nil || len(none) != 0 {
		t.Errorf("cases of a skill never read: %+v, %v", none, err)
	}
}
