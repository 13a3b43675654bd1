package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := New(map[string]string{"OPENROUTER_API_KEY": "sk-or-v1-abcdef123456", "SHORT": "yes", "PREFIX": "sk-or-v1"})
	tests := []struct{ in, want string }{
		{"key is sk-or-v1-abcdef123456.", "key is [REDACTED:OPENROUTER_API_KEY]."},
		{"prefix sk-or-v1 alone", "prefix [REDACTED:PREFIX] alone"},
		{"yes is not redacted", "yes is not redacted"},
		{"twice sk-or-v1-abcdef123456 sk-or-v1-abcdef123456", "twice [REDACTED:OPENROUTER_API_KEY] [REDACTED:OPENROUTER_API_KEY]"},
	}
	for _, tt := range tests {
		if got := r.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	var none *Redactor
	if none.String("x") != "x" || New(nil).String("x") != "x" {
		t.Fatal("empty redactors must pass text through")
	}
}

func TestHandlerRedactsLogLines(t *testing.T) {
	var buf bytes.Buffer
	h := NewHandler(slog.NewTextHandler(&buf, nil))
	log := slog.New(h).With("plugin", "echo")
	log.Info("before the secret is known: sk-live-1234567890")
	h.SetRedactor(New(map[string]string{"K": "sk-live-1234567890"}))
	log.Info("got sk-live-1234567890", "text", "x sk-live-1234567890 y", "err", errors.New("bad sk-live-1234567890"), slog.Group("g", "v", "sk-live-1234567890"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || strings.Contains(lines[1], "sk-live") || strings.Count(lines[1], "[REDACTED:K]") != 4 {
		t.Fatalf("log:\n%s", buf.String())
	}
}
