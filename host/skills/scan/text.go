package scan

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// text is one view of a file's text. Every transformation (normalising, joining lines,
// dropping quotes) builds a new view, and each byte remembers the source line it came from, so
// a finding in a transformed view still names the line a reader can find in the file.
type text struct {
	s    string
	line []int32 // line[i] is the 1-based source line of s[i]
}

// newText is the identity view of src.
func newText(src string) text {
	line := make([]int32, len(src))
	n := int32(1)
	for i := 0; i < len(src); i++ {
		line[i] = n
		if src[i] == '\n' {
			n++
		}
	}
	return text{s: src, line: line}
}

// lineAt is the source line of byte off (the last line for off at the end).
func (t text) lineAt(off int) int {
	switch {
	case len(t.line) == 0:
		return 1
	case off >= len(t.line):
		return int(t.line[len(t.line)-1])
	case off < 0:
		return int(t.line[0])
	}
	return int(t.line[off])
}

// slice is the view of t.s[i:j].
func (t text) slice(i, j int) text { return text{s: t.s[i:j], line: t.line[i:j]} }

// builder assembles a view.
type builder struct {
	b    []byte
	line []int32
}

func newBuilder(capacity int) *builder {
	return &builder{b: make([]byte, 0, capacity), line: make([]int32, 0, capacity)}
}

func (b *builder) str(s string, line int32) {
	b.b = append(b.b, s...)
	for range len(s) {
		b.line = append(b.line, line)
	}
}

func (b *builder) byte1(c byte, line int32) {
	b.b = append(b.b, c)
	b.line = append(b.line, line)
}

// copy appends t.s[i:j] with its own lines.
func (b *builder) copy(t text, i, j int) {
	b.b = append(b.b, t.s[i:j]...)
	b.line = append(b.line, t.line[i:j]...)
}

func (b *builder) text() text { return text{s: string(b.b), line: b.line} }

// replaceAll returns t with every match of re replaced by repl(match); inserted bytes take
// the line of the match's first byte.
func replaceAll(t text, re *lazyRE, repl func(m []string) string) text {
	locs := re.FindAllStringSubmatchIndex(t.s, -1)
	if len(locs) == 0 {
		return t
	}
	b := newBuilder(len(t.s))
	last := 0
	for _, loc := range locs {
		b.copy(t, last, loc[0])
		m := make([]string, len(loc)/2)
		for g := range m {
			if loc[2*g] >= 0 {
				m[g] = t.s[loc[2*g]:loc[2*g+1]]
			}
		}
		b.str(repl(m), int32(t.lineAt(loc[0])))
		last = loc[1]
	}
	b.copy(t, last, len(t.s))
	return b.text()
}

// lre compiles a case-insensitive pattern that never matches across a line break: outside
// brackets \s becomes [\t\v\f\r ], inside them \s loses \n, and every negated class [^…] gets
// \n added. Rules can then be run over a whole view at once yet still mean "on one line".
func lre(pattern string) *lazyRE { return &lazyRE{pattern: pattern, line: true} }

// linePattern is the rewriting lre describes.
func linePattern(pattern string) string {
	var b strings.Builder
	b.WriteString("(?im)")
	inClass, negated := false, false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			next := pattern[i+1]
			i++
			if next == 's' {
				if inClass {
					b.WriteString(`\t\v\f\r `)
				} else {
					b.WriteString(`[\t\v\f\r ]`)
				}
				continue
			}
			b.WriteByte(c)
			b.WriteByte(next)
		case c == '[' && !inClass:
			inClass, negated = true, strings.HasPrefix(pattern[i+1:], "^")
			b.WriteByte(c)
			if negated {
				b.WriteByte('^')
				i++
			}
			// A ']' first in a class is a literal, not the end.
			if i+1 < len(pattern) && pattern[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case c == ']' && inClass:
			if negated { // last, so a '-' before it stays a literal, not a range
				b.WriteString(`\n`)
			}
			inClass = false
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// trimToRune cuts a trailing incomplete UTF-8 sequence off b.
func trimToRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			return b
		}
		b = b[:len(b)-1]
	}
	return b
}

// excerpt makes matched text printable on one line: invisible and control characters are shown
// as \u escapes, whitespace runs become one space, and long text is clipped.
func excerpt(s string) string {
	const limit = 160
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if n >= limit {
			b.WriteString("…")
			break
		}
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
				n++
			}
			space = true
			continue
		case r < 0x20 || r == 0x7f || isInvisible(r) || isTag(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		space = false
		n++
	}
	return strings.TrimSpace(b.String())
}
