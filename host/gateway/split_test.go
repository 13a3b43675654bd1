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
		width func(rune) int // nil: code points
	}{
		{"short", "hello", 4096, nil},
		{"lines", strings.Repeat("0123456789\n", 1000), 4096, nil},
		{"one long line", strings.Repeat("é", 10_000), 2000, nil},
		{"code block", "before\n" + code + "after\n", 2000, nil},
		{"astral, code points", strings.Repeat("😀", 10_000), 4096, nil},
		{"astral, UTF-16", strings.Repeat("😀", 10_000), 4096, UTF16Width},
		{"astral lines, UTF-16", strings.Repeat("a😀b𝄞\n", 3000), 4096, UTF16Width},
		{"astral odd room, UTF-16", "x" + strings.Repeat("😀", 5000), 17, UTF16Width},
		{"astral code block, UTF-16", "```\n" + strings.Repeat("😀😀😀\n", 2000) + "```\n", 4096, UTF16Width},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			width := tt.width
			if width == nil {
				width = runeWidth
			}
			parts := SplitWidth(tt.text, tt.limit, width)
			var joined strings.Builder
			for i, p := range parts {
				if n := measure(p, width); n > tt.limit {
					t.Fatalf("part %d: %d units", i, n)
				}
				if !utf8.ValidString(p) {
					t.Fatalf("part %d cuts a character", i)
				}
				if strings.Count(p, "```")%2 != 0 {
					t.Fatalf("part %d leaves a code block open:\n%s", i, p)
				}
				joined.WriteString(p)
			}
			if !strings.Contains(tt.text, "```") && joined.String() != tt.text {
				t.Fatal("the parts do not make the text")
			}
			if total := measure(tt.text, width); len(parts) < (total+tt.limit-1)/tt.limit {
				t.Fatalf("%d parts for %d units", len(parts), total)
			}
			if strings.HasPrefix(tt.text, "before") {
				if len(parts) < 2 || !strings.HasPrefix(parts[1], "```go\n") {
					t.Fatalf("the second part does not reopen the block: %q", parts[1][:20])
				}
			}
		})
	}
	if got := Split(strings.Repeat("😀", 3000), 2000); len(got) != 2 || utf8.RuneCountInString(got[0]) < 1990 {
		t.Fatalf("Split counts code points: %d parts, first of %d", len(got), utf8.RuneCountInString(got[0]))
	}
}

func TestUTF16Width(t *testing.T) {
	for r, want := range map[rune]int{'a': 1, 'é': 1, '€': 1, '😀': 2, '𝄞': 2, utf8.RuneError: 1} {
		if got := UTF16Width(r); got != want {
			t.Errorf("UTF16Width(%q) = %d, want %d", r, got, want)
		}
	}
}
