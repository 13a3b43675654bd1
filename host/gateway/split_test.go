package gateway

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplit(t *testing.T) {
	code := "```go\n" + strings.Repeat("fmt.Println(\"a line of code\")\n", 200) + "```\n"
	tests := []struct {
		name  string
		text  string
		limit int
	}{
		{"short", "hello", 4096},
		{"lines", strings.Repeat("0123456789\n", 1000), 4096},
		{"one long line", strings.Repeat("é", 10_000), 2000},
		{"code block", "before\n" + code + "after\n", 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := Split(tt.text, tt.limit)
			var joined strings.Builder
			for i, p := range parts {
				if n := utf8.RuneCountInString(p); n > tt.limit {
					t.Fatalf("part %d: %d characters", i, n)
				}
				if strings.Count(p, "```")%2 != 0 {
					t.Fatalf("part %d leaves a code block open:\n%s", i, p)
				}
				joined.WriteString(p)
			}
			if !strings.Contains(tt.text, "```") && joined.String() != tt.text {
				t.Fatal("the parts do not make the text")
			}
			if strings.Contains(tt.text, "```") {
				if len(parts) < 2 || !strings.HasPrefix(parts[1], "```go\n") {
					t.Fatalf("the second part does not reopen the block: %q", parts[1][:20])
				}
			}
		})
	}
}
