package gateway

import (
	"strings"
	"unicode/utf16"
)

// A Measurer is an Adapter whose platform counts a message's length in other units than
// characters (Unicode code points), the default: Telegram counts UTF-16 code units, so "😀" is
// 2 of its 4096. Limit is then in those units.
type Measurer interface {
	// Width is how many of the platform's units r takes.
	Width(r rune) int
}

// UTF16Width is a character's length in UTF-16 code units: 2 above U+FFFF, else 1.
func UTF16Width(r rune) int {
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1 // invalid UTF-8 is sent as U+FFFD
}

func runeWidth(rune) int { return 1 }

// widthOf is the adapter's unit.
func widthOf(ad Adapter) func(rune) int {
	if m, ok := ad.(Measurer); ok {
		return m.Width
	}
	return runeWidth
}

// Measure is text's length in the adapter's units.
func Measure(ad Adapter, text string) int { return measure(text, widthOf(ad)) }

func measure(s string, width func(rune) int) int {
	n := 0
	for _, r := range s {
		n += width(r)
	}
	return n
}

// Split cuts text into messages of at most limit characters (code points), at line ends
// where it can. A code block cut in two is closed at the end of one message and opened again,
// with its language, at the start of the next, so each message renders on its own.
func Split(text string, limit int) []string { return SplitWidth(text, limit, runeWidth) }

// SplitWidth is Split with length measured by width per character (UTF16Width for
// Telegram). A character is never cut in two.
func SplitWidth(text string, limit int, width func(rune) int) []string {
	if limit < 16 {
		limit = 16
	}
	if measure(text, width) <= limit {
		return []string{text}
	}
	const closing = "\n```"
	var (
		chunks []string
		cur    strings.Builder
		curLen int    // units in cur
		header int    // units of the reopened fence at cur's start
		fence  string // the opening line of the code block we are in, or ""
	)
	flush := func() {
		if curLen <= header {
			return
		}
		s := cur.String()
		if fence != "" {
			s = strings.TrimSuffix(s, "\n") + closing
		}
		chunks = append(chunks, s)
		cur.Reset()
		curLen, header = 0, 0
		if fence != "" {
			cur.WriteString(fence + "\n")
			curLen = measure(fence, width) + 1
			header = curLen
		}
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		trimmed := strings.TrimSpace(line)
		for line != "" {
			room := limit - curLen - len(closing)
			n := measure(line, width)
			if n <= room {
				cur.WriteString(line)
				curLen += n
				break
			}
			if curLen > header {
				flush()
				continue
			}
			cut, w := prefixWithin(line, room, width)
			cur.WriteString(line[:cut])
			curLen += w
			line = line[cut:]
			flush()
		}
		if strings.HasPrefix(trimmed, "```") {
			if fence == "" {
				fence = trimmed
				if measure(fence, width) > limit/4 {
					fence = "```"
				}
			} else {
				fence = ""
			}
		}
	}
	if curLen > header {
		chunks = append(chunks, cur.String())
	}
	return chunks
}

// prefixWithin is the byte length and width of the longest prefix of s, whole characters,
// that fits in room units; at least one character, so a split always moves on.
func prefixWithin(s string, room int, width func(rune) int) (int, int) {
	w := 0
	for pos, r := range s {
		rw := width(r)
		if w+rw > room && pos > 0 {
			return pos, w
		}
		w += rw
	}
	return len(s), w
}
