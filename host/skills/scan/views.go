package scan

import (
	"path"
	"strings"
)

var (
	// A backslash at the end of a line continues the command on the next one.
	continuationRE = lazy(`\\\r?\n[ \t]*`)
	// Concatenated string literals: "cu" + "rl", 'a'.'b', `a` + `b`, across lines too.
	// ("cu""rl" needs nothing: dropping the quotes joins it.)
	concatRE = lazy("[\"'`][ \t\r\n]*[+.][ \t\r\n]*[\"'`]")
	// A backslash before an ordinary character means that character (c\url is curl).
	escapeRE = lazy(`\\([A-Za-z0-9_~./:@-])`)
	// Simple assignments whose value may be spliced into a later command ($a$b):
	// shell (a=cu, export A=x) and scripting languages (const h = "…").
	shellAssignRE  = lre(`(?:^|[;&|(]\s*|\bexport\s+|\blocal\s+|\breadonly\s+|\bdeclare\s+(?:-\w+\s+)?)([a-z_][a-z0-9_]*)=([^\s;&|)]+)`)
	scriptAssignRE = lre(`(?:^|\b(?:const|let|var)\s+)([a-z_][a-z0-9_]*)\s*=\s*([^\s;,()+]+)\s*;?\s*$`)
	assignMs       []matcher // shellAssignRE and scriptAssignRE with their filters (set in init)
	varRefRE       = lazy(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
)

// logical builds the view rules read line by line: continuation lines joined, split and
// concatenated string literals glued back together, quotes dropped (so 'cu”rl' and "cu"rl
// read as curl), and backslash escapes of ordinary characters removed. Line breaks otherwise
// stay, so a rule still matches within one logical line.
func logical(t text) text {
	t = replaceAll(t, continuationRE, func([]string) string { return "" })
	t = replaceAll(t, concatRE, func([]string) string { return "" })
	t = replaceAll(t, escapeRE, func(m []string) string { return m[1] })
	b := newBuilder(len(t.s))
	for i := 0; i < len(t.s); i++ {
		if c := t.s[i]; c != '"' && c != '\'' {
			b.byte1(c, t.line[i])
		}
	}
	return b.text()
}

// substitute splices the values of simple assignments in t into later references ($a$b,
// ${h}), so a command assembled from variables reads as the command. It reports whether
// anything was substituted.
func substitute(t text) (text, bool) {
	vars := map[string]string{}
	lower := lowerASCII(t.s)
	for _, am := range assignMs {
		for _, m := range am.findAllSubmatch(t.s, lower) {
			if v := t.s[m[4]:m[5]]; len(v) <= 200 && !strings.Contains(v, "$") {
				vars[t.s[m[2]:m[3]]] = v
			}
		}
	}
	if len(vars) == 0 {
		return t, false
	}
	changed := false
	out := replaceAll(t, varRefRE, func(m []string) string {
		if v, ok := vars[m[1]]; ok {
			changed = true
			return v
		}
		return m[0]
	})
	return out, changed
}

// prose builds the view prose rules read: lower case, markdown emphasis, heading and quote
// marks and table bars removed, and soft line breaks turned into spaces, so a phrase wrapped
// over several lines reads as one. A blank line stays a break: rules do not match across
// paragraphs.
func prose(t text) text {
	b := newBuilder(len(t.s))
	lineStart := true
	newlines, space := 0, false // what separates the next byte from the last one written
	for i := 0; i < len(t.s); i++ {
		c := t.s[i]
		switch {
		case c == '\n':
			newlines++
			lineStart = true
			continue
		case c == ' ' || c == '\t' || c == '\r' || c == '|':
			space = true
			continue
		case c == '*' || c == '_' || c == '`' || c == '~':
			continue
		case lineStart && (c == '#' || c == '>'):
			continue
		}
		if len(b.b) > 0 {
			switch {
			case newlines > 1:
				b.byte1('\n', t.line[i])
			case newlines == 1 || space:
				b.byte1(' ', t.line[i])
			}
		}
		newlines, space, lineStart = 0, false, false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.byte1(c, t.line[i])
	}
	return b.text()
}

// fileKind says how a file is read.
type fileKind int

const (
	kindMarkdown fileKind = iota // prose with code blocks
	kindShell                    // a shell script: every line is a command
	kindCode                     // any other text: scripts, data, templates
)

var shebangShellRE = lazy(`\b(ba|z|k|da)?sh\b`)

var shellExts = map[string]bool{".sh": true, ".bash": true, ".zsh": true, ".ksh": true, ".command": true}

func kindOf(name string, data []byte) fileKind {
	ext := strings.ToLower(path.Ext(name))
	switch {
	case ext == ".md" || ext == ".markdown" || ext == ".mdx":
		return kindMarkdown
	case shellExts[ext]:
		return kindShell
	}
	first := string(data[:min(len(data), 128)])
	if i := strings.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	if strings.HasPrefix(first, "#!") && shebangShellRE.MatchString(first) {
		return kindShell
	}
	return kindCode
}

// segment is a part of a markdown file.
type segment struct {
	code       bool   // a fenced code block (or a whole non-markdown file)
	lang       string // the fence's info string, lower case; "" when there is none
	start, end int    // byte offsets of the content (fence lines excluded)
}

var fenceRE = lazy("^ {0,3}(`{3,}|~{3,})[ \t]*\\{?\\.?([^\\s`{}]*)")

// segments splits a markdown view into prose and fenced code blocks. Front matter is prose: an
// agent reads the description too.
func segments(t text) []segment {
	var segs []segment
	s := t.s
	proseStart := 0
	for off := 0; off < len(s); {
		end := strings.IndexByte(s[off:], '\n')
		next := len(s)
		if end >= 0 {
			next = off + end + 1
		}
		m := fenceRE.FindStringSubmatch(s[off:min(next, len(s))])
		if m == nil {
			off = next
			continue
		}
		fence := m[1]
		if off > proseStart {
			segs = append(segs, segment{start: proseStart, end: off})
		}
		codeStart := next
		codeEnd, after := len(s), len(s)
		for o := next; o < len(s); {
			e := strings.IndexByte(s[o:], '\n')
			n := len(s)
			if e >= 0 {
				n = o + e + 1
			}
			line := strings.TrimRight(s[o:n], "\r\n")
			trimmed := strings.TrimLeft(line, " ")
			if len(line)-len(trimmed) <= 3 && strings.HasPrefix(trimmed, fence[:3]) &&
				len(strings.TrimRight(trimmed, fence[:1])) == 0 && len(trimmed) >= len(fence) {
				codeEnd, after = o, n
				break
			}
			o = n
		}
		segs = append(segs, segment{code: true, lang: strings.ToLower(m[2]), start: codeStart, end: codeEnd})
		off, proseStart = after, after
	}
	if proseStart < len(s) {
		segs = append(segs, segment{start: proseStart, end: len(s)})
	}
	return segs
}

// shellLangs are fence info strings whose content is shell commands. A fence without one is
// tried as shell too: READMEs often leave the language out.
var shellLangs = map[string]bool{"": true, "sh": true, "bash": true, "shell": true, "zsh": true, "ksh": true,
	"console": true, "terminal": true, "shell-session": true, "shellsession": true, "sh-session": true,
	"bash-session": true, "shell-script": true, "bashrc": true}

// sessionLangs are fences that show a terminal session: commands follow a "$ " prompt and
// other lines are output.
var sessionLangs = map[string]bool{"console": true, "terminal": true, "shell-session": true,
	"shellsession": true, "sh-session": true, "bash-session": true}

var inlineCodeRE = lazy("`([^`\n]+)`")
