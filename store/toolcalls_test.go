package store

import (
	"context"
	"slices"
	"testing"
)

func TestSessionsWithToolCall(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	call := func(sid, name, args string) {
		t.Helper()
		if _, err := db.AppendMessage(ctx, Message{SessionID: sid, Role: RoleAssistant,
			ToolCalls: []ToolCall{{ID: "c1", Name: name, Arguments: args}}}); err != nil {
			t.Fatal(err)
		}
	}
	used, other, invalid, api := newSession(t, db, "cli"), newSession(t, db, "cli"), newSession(t, db, "cli"), newSession(t, db, "api")
	appendText(t, db, used.ID, RoleUser, "hi")
	call(used.ID, "skill_view", `{"name":"fruit"}`)
	call(other.ID, "skill_view", `{"name":"veg"}`)
	call(invalid.ID, "skill_view", `{"name":"fruit"`) // stored verbatim, never matches
	call(api.ID, "skill_view", `{"name":"fruit","file":"SKILL.md"}`)
	appendText(t, db, other.ID, RoleUser, `skill_view {"name":"fruit"}`) // text is not a call; other is now the latest updated

	for _, tt := range []struct {
		name, tool, key, value string
		f                      SessionFilter
		want                   []string
	}{
		{"by argument, every source", "skill_view", "name", "fruit", all, []string{api.ID, used.ID}},
		{"by argument, one source", "skill_view", "name", "fruit", cliOnly, []string{used.ID}},
		{"any arguments", "skill_view", "", "", cliOnly, []string{other.ID, invalid.ID, used.ID}},
		{"limit", "skill_view", "", "", SessionFilter{AllSources: true, Limit: 1}, []string{other.ID}},
		{"other tool", "terminal", "", "", all, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.SessionsWithToolCall(ctx, tt.tool, tt.key, tt.value, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name, key string
		f         SessionFilter
	}{
		{"injected key", "name') OR 1=1 --", all},
		{"no source", "name", SessionFilter{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := db.SessionsWithToolCall(ctx, "skill_view", tt.key, "x", tt.f); err == nil {
				t.Fatalf("no error, got %v", got)
			}
		})
	}
}
