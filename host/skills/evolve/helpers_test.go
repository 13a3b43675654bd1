package evolve

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hermes-agent/hermes/host/agent/modeltest"
	"github.com/hermes-agent/hermes/host/skills/scan"
)

// scripted is a model on 127.0.0.1 whose reply is chosen by answer from the request's system
// prompt and last message.
type scripted struct {
	mu       sync.Mutex
	requests int
	srv      *httptest.Server
}

// reply is a scripted model's answer: text, or a tool call when tool is set.
type reply struct {
	text string
	tool string
}

func newScripted(t *testing.T, answer func(system, last string, n int) reply) *scripted {
	s := &scripted{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Messages []struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("request is not JSON: %v", err)
		}
		var system, last string
		for _, m := range req.Messages {
			var text string
			_ = json.Unmarshal(m.Content, &text)
			if m.Role == "system" {
				system = text
			}
			last = m.Role + ":" + text
		}
		s.mu.Lock()
		s.requests++
		n := s.requests
		s.mu.Unlock()
		a := answer(system, last, n)
		st := modeltest.NewStream(w)
		if a.tool != "" {
			st.CallTool(a.tool, map[string]any{})
		} else {
			st.Say(a.text)
		}
		st.Done()
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) model() Model { return Model{BaseURL: s.srv.URL + "/v1", Name: "scripted"} }

const exampleSkill = `---
name: fruit
description: Answers questions about fruit.
---
# Fruit

Answer the question.
`

func skillFiles(md string, extra ...scan.File) []scan.File {
	return append([]scan.File{{Path: "SKILL.md", Data: []byte(md)}}, extra...)
}

func withBody(md, body string) string {
	front, _ := splitSkill([]byte(md))
	return string(front) + body
}

func mustCases(t *testing.T, toml string) []Case {
	t.Helper()
	cs, err := ParseCases([]byte(toml), "evals/test.toml")
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func lastUser(last string) string { return strings.TrimPrefix(last, "user:") }
