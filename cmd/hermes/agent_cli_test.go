package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/creack/pty"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// scriptedModel is an OpenAI-compatible chat-completions server on 127.0.0.1 that plays the
// model's side: it asks for the textstats count tool once, then answers with what the tool said.
type scriptedModel struct {
	*httptest.Server
	mu       sync.Mutex
	requests []map[string]any
}

func newScriptedModel(t *testing.T, toolArgs string) *scriptedModel {
	return newScriptedModelFor(t, "textstats__count", toolArgs)
}

func newScriptedModelFor(t *testing.T, tool, toolArgs string) *scriptedModel {
	m := &scriptedModel{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]any
		json.NewDecoder(r.Body).Decode(&req)
		m.mu.Lock()
		m.requests = append(m.requests, req)
		m.mu.Unlock()
		msgs, _ := req["messages"].([]any)
		last, _ := msgs[len(msgs)-1].(map[string]any)
		w.Header().Set("Content-Type", "text/event-stream")
		chunk := func(delta map[string]any, finish any) {
			b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "scripted",
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		if last["role"] == "tool" {
			for _, part := range []string{"The tool ", "says: ", fmt.Sprint(last["content"])} {
				chunk(map[string]any{"role": "assistant", "content": part}, nil)
			}
			chunk(map[string]any{}, "stop")
		} else {
			chunk(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function",
				"function": map[string]any{"name": tool, "arguments": toolArgs}}}}, nil)
			chunk(map[string]any{}, "tool_calls")
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(m.Close)
	return m
}

func agentCLI(t *testing.T, model *scriptedModel) *cliHome {
	c := newCLI(t)
	c.mustRun(t, "config", "set", "model.base_url", model.URL+"/v1")
	c.mustRun(t, "config", "set", "model.name", "scripted")
	c.mustRun(t, "config", "set", "OPENROUTER_API_KEY", "sk-or-v1-redact-me-please")
	c.mustRun(t, "plugins", "install", testplugins.Dir(t, "sdk/c/example"), "--yes", "--allow-unsigned")
	return c
}

func TestRunCallsAPluginTool(t *testing.T) {
	model := newScriptedModel(t, `{"text":"one two three"}`)
	c := agentCLI(t, model)
	out := c.mustRun(t, "run", "how many words in: one two three?")
	if !strings.Contains(out, `"words":3`) {
		t.Fatalf("run: %q", out)
	}
	// The model was offered the plugin's tool and the terminal.
	tools, _ := json.Marshal(model.requests[0]["tools"])
	if !strings.Contains(string(tools), "textstats__count") || !strings.Contains(string(tools), "terminal") {
		t.Fatalf("tools offered: %s", tools)
	}
	list := c.mustRun(t, "sessions", "list")
	if !strings.Contains(list, "how many words") {
		t.Fatalf("sessions list:\n%s", list)
	}
	id := strings.Fields(strings.Split(list, "\n")[1])[0]
	show := c.mustRun(t, "sessions", "show", id)
	for _, want := range []string{"[user] how many words", "[assistant → textstats.count]", "[tool textstats.count]", "The tool says"} {
		if !strings.Contains(show, want) {
			t.Fatalf("show lacks %q:\n%s", want, show)
		}
	}
	if hits := c.mustRun(t, "sessions", "search", "words"); !strings.Contains(hits, id) {
		t.Fatalf("search:\n%s", hits)
	}
	// --source picks one source's sessions, before or after the words; this one is a CLI session.
	if hits := c.mustRun(t, "sessions", "search", "words", "--source", "cli"); !strings.Contains(hits, id) {
		t.Fatalf("search --source cli:\n%s", hits)
	}
	if hits := c.mustRun(t, "sessions", "search", "--source", "telegram", "words"); strings.Contains(hits, id) {
		t.Fatalf("search --source telegram found a CLI session:\n%s", hits)
	}
	if hits := c.mustRun(t, "sessions", "search", "--all", `"NEAR(`); strings.Contains(hits, "error") {
		t.Fatalf("hostile search: %s", hits)
	}
	c.mustRun(t, "sessions", "delete", id)
	c.wantExit(t, ExitNotFound, "no CLI session", "sessions", "show", id)
}

func TestRunRedactsSecrets(t *testing.T) {
	model := newScriptedModel(t, `{"text":"sk-or-v1-redact-me-please"}`)
	c := agentCLI(t, model)
	// textstats.count does not echo, so make the model ask for echo-like output: the tool result
	// holds the count only; the user's own message carries the secret instead.
	out := c.mustRun(t, "run", "my key is sk-or-v1-redact-me-please, count its words")
	if strings.Contains(out, "sk-or-v1-redact-me-please") {
		t.Fatalf("secret printed: %s", out)
	}
	raw, _ := json.Marshal(model.requests)
	if strings.Contains(string(raw), "sk-or-v1-redact-me-please") {
		t.Fatalf("secret sent to the model: %s", raw)
	}
	db, _ := os.ReadFile(filepath.Join(c.home, "state.db"))
	wal, _ := os.ReadFile(filepath.Join(c.home, "state.db-wal"))
	if strings.Contains(string(db)+string(wal), "sk-or-v1-redact-me-please") {
		t.Fatal("secret stored in state.db")
	}
	if !strings.Contains(string(raw), "[REDACTED:OPENROUTER_API_KEY]") {
		t.Fatalf("no redaction marker in what the model saw: %s", raw)
	}
}

// TestChatThroughTerminal drives `hermes chat` in a pseudo-terminal.
func TestChatThroughTerminal(t *testing.T) {
	model := newScriptedModel(t, `{"text":"a b"}`)
	c := agentCLI(t, model)
	cmd := c.cmd("", "chat")
	cmd.Stdin = nil
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	readUntil(t, tty, "you> ")
	tty.Write([]byte("count a b\r"))
	screen := readUntil(t, tty, "you> ")
	if !strings.Contains(screen, "→ textstats.count") || strings.Contains(screen, "textstats__count") || !strings.Contains(screen, `"words":2`) {
		t.Fatalf("chat screen:\n%s", screen)
	}
	tty.Write([]byte{4}) // Ctrl-D
	io.ReadAll(tty)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("chat exit: %v", err)
	}
	if list := c.mustRun(t, "sessions", "list"); !strings.Contains(list, "count a b") {
		t.Fatalf("chat session not saved:\n%s", list)
	}
}

// TestChatCtrlCAtThePrompt: Ctrl-C while the prompt waits drops what was typed and shows a
// fresh prompt; the next line is the next turn, not interrupted by the earlier Ctrl-C.
func TestChatCtrlCAtThePrompt(t *testing.T) {
	model := newScriptedModel(t, `{"text":"a b"}`)
	c := agentCLI(t, model)
	cmd := c.cmd("", "chat")
	cmd.Stdin = nil
	tty, err := pty.Start(cmd) // its own session, with the pty as its controlling terminal
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	readUntil(t, tty, "you> ")
	tty.Write([]byte("half a thought"))
	tty.Write([]byte{3}) // Ctrl-C: the terminal sends SIGINT and drops the typed line
	if screen := readUntil(t, tty, "you> "); strings.Contains(screen, "interrupted") || strings.Contains(screen, "hermes>") {
		t.Fatalf("Ctrl-C at the prompt:\n%s", screen)
	}
	tty.Write([]byte("count a b\r"))
	screen := readUntil(t, tty, "you> ")
	if strings.Contains(screen, "interrupted") || !strings.Contains(screen, "→ textstats.count") || !strings.Contains(screen, `"words":2`) {
		t.Fatalf("the line after Ctrl-C:\n%s", screen)
	}
	model.mu.Lock()
	first, _ := json.Marshal(model.requests[0]["messages"])
	model.mu.Unlock()
	if !strings.Contains(string(first), `"content":"count a b"`) || strings.Contains(string(first), "half a thought") {
		t.Fatalf("the model was sent: %s", first)
	}
	tty.Write([]byte{4}) // Ctrl-D
	io.ReadAll(tty)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("chat exit: %v", err)
	}
}

// TestTerminalToolOutputIsRedacted: a command that prints a key from .env reaches neither the
// model, the screen, the log nor the database.
func TestTerminalToolOutputIsRedacted(t *testing.T) {
	model := newScriptedModelFor(t, "terminal", `{"command":"echo the key is sk-or-v1-redact-me-please"}`)
	c := agentCLI(t, model)
	out, errOut, code := c.run(t, "", "--log-level", "debug", "run", "show me the key")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.Contains(out+errOut, "sk-or-v1-redact-me-please") || !strings.Contains(out, "[REDACTED:OPENROUTER_API_KEY]") {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	raw, _ := json.Marshal(model.requests)
	if strings.Contains(string(raw), "sk-or-v1-redact-me-please") {
		t.Fatalf("the model saw the key: %s", raw)
	}
	db, _ := os.ReadFile(filepath.Join(c.home, "state.db"))
	wal, _ := os.ReadFile(filepath.Join(c.home, "state.db-wal"))
	if strings.Contains(string(db)+string(wal), "sk-or-v1-redact-me-please") {
		t.Fatal("the key is in state.db")
	}
}
