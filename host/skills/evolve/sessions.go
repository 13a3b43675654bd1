package evolve

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hermes-agent/hermes/store"
)

// SessionReader is the part of *store.DB that --from-sessions reads.
type SessionReader interface {
	SessionsWithToolCall(ctx context.Context, tool, argKey, argValue string, f store.SessionFilter) ([]string, error)
	Messages(ctx context.Context, sessionID string, f store.SessionFilter) ([]store.Message, error)
}

var _ SessionReader = (*store.DB)(nil)

// Limits on cases made from sessions.
const (
	MaxSessionCases  = 20   // cases taken from past sessions, newest first
	maxSessionAnswer = 2000 // characters of the earlier answer a rubric quotes
)

// SessionCases turns past turns in which the agent read skill (skill_view of its SKILL.md)
// into cases: the user's message is the task, and a rubric asks the judge whether the answer is
// at least as good as the one given then. Everything is passed through redact (the .env
// secrets known now, which may be more than when the session was stored). Sessions of every
// source are read; at most MaxSessionCases cases, newest session first, one per distinct task.
func SessionCases(ctx context.Context, db SessionReader, skill string, redact func(string) string) ([]Case, error) {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	all := store.SessionFilter{AllSources: true}
	ids, err := db.SessionsWithToolCall(ctx, "skill_view", "name", skill, store.SessionFilter{AllSources: true, Limit: MaxSessionCases})
	if err != nil {
		return nil, fmt.Errorf("read past sessions: %w", err)
	}
	var out []Case
	seen := map[string]bool{}
	for _, id := range ids {
		msgs, err := db.Messages(ctx, id, all)
		if err != nil {
			return nil, fmt.Errorf("read past sessions: %w", err)
		}
		for i, turn := range turns(msgs) {
			task, answer, ok := usedSkill(turn, skill)
			if !ok || len(out) == MaxSessionCases {
				continue
			}
			task, answer = clip(redact(task), maxTaskBytes), clip(redact(answer), maxSessionAnswer)
			if strings.TrimSpace(task) == "" || strings.TrimSpace(answer) == "" || seen[task] {
				continue
			}
			seen[task] = true
			c := Case{Name: fmt.Sprintf("session-%s-%d", id, i+1), Task: task, Source: "session " + id,
				Rubric: "The answer does what the task asks at least as well as this answer, which was given before with the skill:\n<earlier-answer>\n" + answer + "\n</earlier-answer>"}
			if err := c.compile(); err != nil {
				continue
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// turns splits a session into turns, each starting at a user message.
func turns(msgs []store.Message) [][]store.Message {
	var out [][]store.Message
	for _, m := range msgs {
		if m.Role == store.RoleUser || len(out) == 0 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], m)
	}
	return out
}

// usedSkill returns a turn's task and final answer when the agent read skill's SKILL.md in it.
func usedSkill(turn []store.Message, skill string) (task, answer string, ok bool) {
	if len(turn) == 0 || turn[0].Role != store.RoleUser {
		return "", "", false
	}
	for _, m := range turn[1:] {
		switch {
		case m.Role == store.RoleAssistant && len(m.ToolCalls) == 0:
			answer = m.Content
		case m.Role == store.RoleAssistant:
			for _, tc := range m.ToolCalls {
				var a struct{ Name, File string }
				if tc.Name == "skill_view" && json.Unmarshal([]byte(tc.Arguments), &a) == nil && a.Name == skill && (a.File == "" || a.File == "SKILL.md") {
					ok = true
				}
			}
		}
	}
	return turn[0].Content, answer, ok
}

// clip cuts s to at most n bytes, on a UTF-8 boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = "…"
	return strings.ToValidUTF8(s[:n-len(more)], "") + more
}
