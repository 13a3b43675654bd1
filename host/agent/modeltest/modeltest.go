// Package modeltest writes the model's side of OpenAI's streaming chat-completions wire format,
// for tests that script a model as a real HTTP server on 127.0.0.1.
package modeltest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Stream is one streamed reply.
type Stream struct{ w http.ResponseWriter }

// NewStream starts a server-sent-events reply on w.
func NewStream(w http.ResponseWriter) *Stream {
	w.Header().Set("Content-Type", "text/event-stream")
	return &Stream{w: w}
}

// Chunk sends one chat.completion.chunk with delta and finish reason (nil while not finished).
func (s *Stream) Chunk(delta map[string]any, finish any) {
	b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "scripted",
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}})
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	s.w.(http.Flusher).Flush()
}

// Say sends text in parts, then stop.
func (s *Stream) Say(parts ...string) {
	for _, p := range parts {
		s.Chunk(map[string]any{"role": "assistant", "content": p}, nil)
	}
	s.Chunk(map[string]any{}, "stop")
}

// CallTool asks for one tool call (id call_1) with args as its JSON arguments.
func (s *Stream) CallTool(name string, args any) {
	b, _ := json.Marshal(args)
	s.Chunk(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1", "type": "function",
		"function": map[string]any{"name": name, "arguments": string(b)}}}}, nil)
	s.Chunk(map[string]any{}, "tool_calls")
}

// Usage sends the last chunk a server sends when the request asked for
// stream_options.include_usage: no choices, the token counts.
func (s *Stream) Usage(prompt, completion int) {
	b, _ := json.Marshal(map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "scripted", "choices": []any{},
		"usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}})
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	s.w.(http.Flusher).Flush()
}

// Done ends the stream.
func (s *Stream) Done() { fmt.Fprint(s.w, "data: [DONE]\n\n") }

// WaitEntered waits (at most two minutes) until a scripted model reports, on entered, a
// request whose last message starts with prefix; earlier ones are skipped.
func WaitEntered(tb testing.TB, entered <-chan string, prefix string) {
	tb.Helper()
	WaitEnteredWhile(tb, entered, prefix, nil, nil)
}

// WaitEnteredWhile is WaitEntered for a model whose client is a process that may end first:
// it fails as soon as gone is closed, and a failure ends with what about tells (the process's
// stderr, say). A nil gone never closes; a nil about adds nothing.
func WaitEnteredWhile(tb testing.TB, entered <-chan string, prefix string, gone <-chan struct{}, about func() string) {
	tb.Helper()
	more := func() string {
		if about == nil {
			return ""
		}
		return "\n" + about()
	}
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case text := <-entered:
			if strings.HasPrefix(text, prefix) {
				return
			}
		case <-gone:
			tb.Fatalf("the model's client ended before the model received a request starting with %q%s", prefix, more())
		case <-deadline:
			tb.Fatalf("the model never received a request starting with %q%s", prefix, more())
		}
	}
}

// Message is one message of a chat-completions request, as a scripted model reads it.
type Message struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

// Text is the message's content when it is a plain string ("" otherwise).
func (m Message) Text() string {
	s, _ := m.Content.(string)
	return s
}

// ReadRequest decodes a chat-completions request's messages. A body that is not such a request,
// or has no messages, is answered 400 and ReadRequest returns ok false.
func ReadRequest(w http.ResponseWriter, r *http.Request) (msgs []Message, ok bool) {
	var req struct {
		Messages []Message `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return nil, false
	}
	return req.Messages, true
}
