// Command fakemodel is a scripted OpenAI-compatible chat-completions server for trying
// `hermes skills evolve` on testdata/evolve/fruit without a real model (the README's example).
// As the optimizer (a system prompt naming it) it proposes the given SKILL.md files in turn; as
// the evaluation model it answers by what the skill in its system prompt says (apple for red,
// banana for yellow only when the skill says BANANA, and banana for everything when it says
// ONLY BANANA); as a judge it passes answers that name a banana. Asked anything else (hermes
// run, chat), it reads the fruit skill with skill_view and answers by what it read.
//
// Usage: fakemodel [-addr 127.0.0.1:8089] VARIANT.md...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8089", "listen on `ADDR` (port 0: any free one, printed)")
	flag.Parse()
	var variants []string
	for _, name := range flag.Args() {
		b, err := os.ReadFile(name)
		if err != nil {
			log.Fatal(err)
		}
		variants = append(variants, string(b))
	}
	if len(variants) == 0 {
		log.Fatal("give the SKILL.md files to propose")
	}
	var mu sync.Mutex
	next := 0
	http.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []message `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		var system, last, lastRole string
		for _, m := range req.Messages {
			text, _ := m.Content.(string)
			if m.Role == "system" {
				system = text
			}
			last, lastRole = text, m.Role
		}
		agent := !strings.Contains(system, "optimizer") && !strings.Contains(system, "You grade") && !strings.Contains(system, "You have one skill")
		var reply string
		var call map[string]any
		switch {
		case agent && lastRole == "user":
			call = map[string]any{"index": 0, "id": "call_1", "type": "function",
				"function": map[string]any{"name": "skill_view", "arguments": `{"name":"fruit"}`}}
		case agent && strings.Contains(last, "BANANA") && strings.Contains(strings.ToLower(lastUser(req.Messages)), "yellow"):
			reply = "A banana."
		case agent:
			reply = "I do not know."
		case strings.Contains(system, "optimizer"):
			mu.Lock()
			reply = "```markdown\n" + variants[next%len(variants)] + "```"
			next++
			mu.Unlock()
		case strings.Contains(system, "You grade"):
			reply = "FAIL\nno banana"
			if _, answer, _ := strings.Cut(last, "The agent's answer:"); strings.Contains(answer, "banana") {
				reply = "PASS\nit names a banana"
			}
		case strings.Contains(last, "red") && strings.Contains(system, "ONLY BANANA"):
			reply = "banana"
		case strings.Contains(last, "red"):
			reply = "An apple."
		case strings.Contains(last, "yellow") && strings.Contains(system, "BANANA"):
			reply = "A banana."
		default:
			reply = "I do not know."
		}
		w.Header().Set("Content-Type", "text/event-stream")
		first, stop := map[string]any{"role": "assistant", "content": reply}, "stop"
		if call != nil {
			first, stop = map[string]any{"role": "assistant", "tool_calls": []any{call}}, "tool_calls"
		}
		for _, delta := range []map[string]any{first, {}} {
			finish := any(nil)
			if len(delta) == 0 {
				finish = stop
			}
			b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
				"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("fakemodel: listening on http://%s/v1 with %d variants", ln.Addr(), len(variants))
	log.Fatal(http.Serve(ln, nil))
}

type message struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

// lastUser is the text of the last user message.
func lastUser(msgs []message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			s, _ := msgs[i].Content.(string)
			return s
		}
	}
	return ""
}
