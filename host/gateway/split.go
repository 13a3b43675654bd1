package gateway

import (
	"strings"
	"unicode/utf8"
)

// Split cuts text into messages of at most limit characters (runes), at line ends where it
// can. A code block cut in two is closed at the end of one message and opened again, with its
// language, at the start of the next, so each message renders on its own.
func Split(text string, limit int) []string {
	if limit < 16 {
		limit = 16
	}
	if utf8.RuneCountInString(text) <= limit {
		return []string{text}
	}
	const closing = "\n```"
	var (
		chunks []string
		cur    strings.Builder
		curLen int    // runes in cur
		header int    // runes of the reopened fence at cur's start
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
			curLen = utf8.RuneCountInString(fence) + 1
			header = curLen
		}
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		trimmed := strings.TrimSpace(line)
		for line != "" {
			room := limit - curLen - len(closing)
			n := utf8.RuneCountInString(line)
			if n <= room {
				cur.WriteString(line)
				curLen += n
				break
			}
			if curLen > header {
				flush()
				continue
			}
			cut := byteIndexOfRune(line, max(room, 1))
			cur.WriteString(line[:cut])
			curLen += utf8.RuneCountInString(line[:cut])
			line = line[cut:]
			flush()
		}
		if strings.HasPrefix(trimmed, "```") {
			if fence == "" {
				fence = trimmed
				if utf8.RuneCountInString(fence) > limit/4 {
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

// byteIndexOfRune is the byte offset of the n-th rune of s (len(s) when s is shorter).
func byteIndexOfRune(s string, n int) int {
	i := 0
	for pos := range s {
		if i == n {
			return pos
		}
		i++
	}
	return len(s)
}
