package redact

import "testing"

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
