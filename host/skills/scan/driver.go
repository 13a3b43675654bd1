package scan

import (
	"path"
	"slices"
	"strings"
)

// ctx is where findings from one piece of text go.
type ctx struct {
	s    *scanner
	file string
	// at, when positive, is the line every finding is reported at: the text was decoded from
	// a blob on that line, and its own line numbers mean nothing in the file.
	at int
	// prefix goes before rule ids of findings in decoded text ("base64:").
	prefix string
	depth  int
	// docs marks a markdown file's documentation lines (see weigh); nil for other text.
	docs *docLines
}

func (c *ctx) add(line int, cat Category, sev Severity, rule, reason, matched string) {
	if c.at > 0 {
		line = c.at
	}
	sev, reason = c.weigh(line, cat, sev, rule, reason, matched)
	c.s.add(Finding{File: c.file, Line: line, Category: cat, Severity: sev, Rule: c.prefix + rule,
		Reason: reason, Excerpt: excerpt(matched)})
}

// text scans one text: a file, or text decoded from one.
func (s *scanner) text(name, src string, kind fileKind, depth, at int, prefix string) {
	s.scanText(&ctx{s: s, file: name, at: at, prefix: prefix, depth: depth}, src, kind)
}

func (s *scanner) scanText(c *ctx, src string, kind fileKind) {
	raw := newText(src)
	s.hidden(c, raw)
	n := normalize(raw)
	s.decodeBlobs(c, n)
	s.html(c, n, kind == kindMarkdown)
	s.credentials(c, n)

	segs := []segment{{code: true, start: 0, end: len(n.s)}}
	if kind == kindMarkdown {
		segs = segments(n)
		if c.depth == 0 && c.at == 0 {
			c.docs = documentation(n, segs)
		}
	}
	for _, seg := range segs {
		part := n.slice(seg.start, seg.end)
		s.lines(c, part, seg.code)
		switch {
		case kind == kindShell, kind == kindMarkdown && seg.code && shellLangs[seg.lang]:
			s.shell(c, part, sessionLangs[seg.lang])
		case !seg.code:
			// `inline code` in prose is usually a command the agent is told to run.
			for _, m := range inlineCodeRE.FindAllStringSubmatchIndex(part.s, -1) {
				span := part.slice(m[2], m[3])
				s.lines(c, span, true)
				if strings.ContainsAny(span.s, " \t") {
					s.shell(c, span, false)
				}
			}
		}
	}
	if base := strings.ToLower(path.Base(c.file)); c.depth == 0 && strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt") {
		s.requirements(c, logical(n))
	}
	p := prose(logical(n))
	lower := lowerASCII(p.s)
	for _, r := range proseRules {
		for _, m := range r.m.findAll(p.s, lower) {
			if r.skip == nil || !r.skip(p.s, m) {
				c.add(p.lineAt(m[0]), r.cat, r.sev, r.id, r.reason, p.s[m[0]:m[1]])
			}
		}
	}
}

// lines runs the line and pair rules over one part of a file, in its logical view and, when
// the part assigns variables, once more with them substituted.
func (s *scanner) lines(c *ctx, part text, code bool) {
	l0 := logical(part)
	views := []text{l0}
	if l1, ok := substitute(l0); ok {
		views = append(views, l1)
	}
	for _, v := range views {
		lower := lowerASCII(v.s)
		for _, r := range lineRules {
			if r.code && !code {
				continue
			}
			for _, m := range r.m.findAll(v.s, lower) {
				if r.skip == nil || !r.skip(v.s, m) {
					c.add(v.lineAt(m[0]), r.cat, r.sev, r.id, r.reason, lineOf(v.s, m[0]))
				}
			}
		}
		for _, pr := range pairRules {
			s.pair(c, v, lower, pr, code)
		}
	}
	s.undeclaredSecrets(c, l0, code)
	s.unpinned(c, l0)
}

// pair reports pr when its second pattern matches within pr.window lines of its first (in
// code) or on the same logical line (in prose).
func (s *scanner) pair(c *ctx, v text, lower string, pr pairRule, code bool) {
	type hit struct {
		line, logical, off int
		// complete: the first's own line also has the second pattern, so it is reported
		// there and does not explain the second pattern on other lines.
		complete bool
	}
	var firsts []hit
	var breaks []int // offsets of the view's line breaks, to number logical lines
	logicalAt := func(off int) int {
		if breaks == nil {
			breaks = []int{}
			for i := 0; i < len(v.s); i++ {
				if v.s[i] == '\n' {
					breaks = append(breaks, i)
				}
			}
		}
		i, _ := slices.BinarySearch(breaks, off)
		return i
	}
	thenLines := map[int]bool{}
	thens := pr.thenM.findAll(v.s, lower)
	for _, m := range thens {
		thenLines[logicalAt(m[0])] = true
	}
	for _, m := range pr.firstM.findAll(v.s, lower) {
		if pr.skipFirst == nil || !pr.skipFirst(v.s, m) {
			firsts = append(firsts, hit{v.lineAt(m[0]), logicalAt(m[0]), m[0], thenLines[logicalAt(m[0])]})
		}
	}
	if len(firsts) == 0 {
		return
	}
	// firsts are in text order, so both their lines and logical lines ascend: the candidates
	// near a match are found by binary search, keeping large inputs linear-ish.
	nearOf := func(line, logicalLine int) (hit, bool) {
		i, _ := slices.BinarySearchFunc(firsts, logicalLine, func(h hit, t int) int { return h.logical - t })
		if i < len(firsts) && firsts[i].logical == logicalLine {
			return firsts[i], true
		}
		if !code {
			return hit{}, false
		}
		i, _ = slices.BinarySearchFunc(firsts, line-pr.window, func(h hit, t int) int { return h.line - t })
		for ; i < len(firsts) && firsts[i].line <= line+pr.window; i++ {
			if !firsts[i].complete {
				return firsts[i], true
			}
		}
		return hit{}, false
	}
	reported := map[int]bool{}
	for _, m := range thens {
		line, logicalLine := v.lineAt(m[0]), logicalAt(m[0])
		if reported[line] {
			continue
		}
		f, ok := nearOf(line, logicalLine)
		if !ok {
			continue
		}
		reported[line] = true
		text := lineOf(v.s, m[0])
		if f.logical != logicalLine {
			text = lineOf(v.s, f.off) + " … " + text
		}
		c.add(line, pr.cat, pr.sev, pr.id, pr.reason, text)
	}
}

// nested scans text decoded from a blob on line, as kind, reporting at that line.
func (s *scanner) nested(c *ctx, line int, prefix, decoded string, kind fileKind) {
	if c.depth >= maxDecodeDepth || s.decoded+len(decoded) > maxDecodedBytes {
		return
	}
	s.decoded += len(decoded)
	at := line
	if c.at > 0 {
		at = c.at
	}
	s.scanText(&ctx{s: s, file: c.file, at: at, prefix: c.prefix + prefix, depth: c.depth + 1}, decoded, kind)
}
