package scan

import (
	"strings"
)

// Severity follows context. A rule says how bad a command or phrase is when it is an
// instruction: a fenced shell block, a script, a sentence telling the agent what to do. The
// same text in documentation — a table row, a help listing, a list of commands that are
// blocked or asked about — describes rather than instructs, and a command with a placeholder
// where its target should be (curl ... | bash) cannot run as written. Those weigh less.
//
// What is never re-weighed: text that was decoded or hidden (nobody hides documentation),
// prompt injection (a model reads a table as readily as a paragraph), exfiltration that sends
// something, obfuscation and credentials.

// docLines says which lines of a markdown file are documentation, and which document a
// command-line flag. Both are indexed by 1-based source line.
type docLines struct {
	doc    []bool // a table row, a flag's description, or a paragraph or list describing blocked or prompted commands
	quoted []bool // text shown in a text fence (help output, logs): quoted, yet a reader may still copy it
	flag   []bool
}

func at(b []bool, line int) bool { return line > 0 && line < len(b) && b[line] }

func (d *docLines) isDoc(line int) bool    { return d != nil && at(d.doc, line) }
func (d *docLines) isQuoted(line int) bool { return d != nil && at(d.quoted, line) }
func (d *docLines) isFlag(line int) bool   { return d != nil && at(d.flag, line) }

// textLangs are fence info strings of text shown rather than run: help output, logs.
var textLangs = map[string]bool{"text": true, "txt": true, "plain": true, "plaintext": true, "output": true,
	"log": true, "help": true, "none": true, "nohighlight": true}

var (
	// A command-line flag: --yolo, -y. A list marker "- " is not one.
	flagTokenRE = lazy("(?:^|[\\s`|(,])--?[A-Za-z][A-Za-z0-9-]*")
	// Words of a paragraph that describes what is blocked, refused or asked about, rather
	// than telling the agent to do it.
	describesRE = lre(`\b(?:refuse[sd]?|refusing|block(?:s|ed)?|block\s*list|blocklist|deny\s*list|den(?:y|ies|ied)|dangerous(?:-pattern)?|prompted|will\s+be\s+asked|(?:is|are|be|get|gets)\s+asked|asks?\s+(?:before|first|you)|needs?\s+(?:your\s+)?approval|wait\s+for\s+(?:your\s+)?approval|never\s+(?:run|use|suggest|paste))\b`)
	listItemRE  = lazy(`^\s{0,6}(?:[-*+]|\d{1,3}[.)])\s`)
	// An instruction to run inline code: "run `…`", "paste: `…`".
	runInlineRE = lre("\\b(?:run|execute|exec|type|paste|enter|invoke|call)\\b\\s*:?\\s*(?:this\\s+|the\\s+following\\s+|it\\s+)?\x60")
)

// instructs reports whether text tells the reader to run some inline code, other than in
// "never run `…`" or "do not run `…`".
func instructs(text string) bool {
	lower := strings.ToLower(text)
	for _, m := range runInlineRE.FindAllStringIndex(text, -1) {
		before := lower[max(0, m[0]-12):m[0]]
		if !strings.Contains(before, "never") && !strings.Contains(before, "not") && !strings.Contains(before, "n't") {
			return true
		}
	}
	return false
}

// documentation finds the documentation lines of a markdown view: table rows, text fences,
// flag descriptions, and paragraphs (with the list an introducing paragraph ends in ":")
// that describe blocked, refused or prompted commands.
func documentation(n text, segs []segment) *docLines {
	lines := n.lineAt(len(n.s)) + 2
	d := &docLines{doc: make([]bool, lines), quoted: make([]bool, lines), flag: make([]bool, lines)}
	markFlags := func(l logicalLine, line int) {
		if flagTokenRE.MatchString(l.text) {
			d.flag[line] = true
		}
	}
	for _, seg := range segs {
		part := n.slice(seg.start, seg.end)
		if seg.code {
			if textLangs[seg.lang] {
				for _, l := range splitLines(part.s) {
					line := part.lineAt(l.off)
					d.quoted[line] = true
					markFlags(l, line)
				}
			}
			continue
		}
		var para []int // source lines of the current paragraph
		var paraText strings.Builder
		carry := false // the previous paragraph describes and ends in ":", so a list after it does too
		flush := func() {
			if len(para) == 0 {
				return
			}
			text := paraText.String()
			describes := describesRE.MatchString(text) && !instructs(text)
			isList := listItemRE.MatchString(strings.SplitN(text, "\n", 2)[0])
			if describes || carry && isList {
				for _, line := range para {
					d.doc[line] = true
				}
			}
			carry = describes && strings.HasSuffix(strings.TrimSpace(text), ":")
			para, paraText = nil, strings.Builder{}
		}
		for _, l := range splitLines(part.s) {
			trimmed := strings.TrimSpace(l.text)
			line := part.lineAt(l.off)
			if trimmed == "" {
				flush()
				continue
			}
			para = append(para, line)
			paraText.WriteString(l.text + "\n")
			item := strings.TrimLeft(listItemRE.ReplaceAllString(l.text, ""), " \t`*")
			switch {
			case strings.HasPrefix(trimmed, "|"):
				d.doc[line] = !instructs(l.text)
				markFlags(l, line)
			case strings.HasPrefix(item, "-") && flagTokenRE.MatchString(item):
				// A flag's description: "- `--yolo` skips approval", "  -y, --yes  …".
				d.doc[line], d.flag[line] = true, true
			}
		}
		flush()
	}
	return d
}

// reweighable are the rules whose findings are about a command that might be run, so that
// documentation of the command is not running it. Exfiltration that reads and sends, prompt
// injection, obfuscation and credentials are not among them.
func reweighable(rule string, cat Category) bool {
	switch cat {
	case Destructive, Persistence, SupplyChain, ReverseShell:
		return true
	case Exfiltration:
		return rule == "exfil-collector" || rule == "exfil-credential-read" || rule == "exfil-hermes-secrets-mention"
	}
	return false
}

// flagRules describe what a flag does when they appear on a line documenting one
// ("--yolo  Skip dangerous command approval"); elsewhere they tell the agent to do it.
var flagRules = map[string]bool{"injection-bypass-safety": true, "injection-auto-approve": true}

// A real place to download from: a URL, a host name, or a variable that may hold one.
var (
	targetRE   = lazy(`(?i)://|\$|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b`)
	downloadRE = lazy(`(?i)\b(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b`)
)

// placeholderTarget reports whether a download-and-run command has no real address, only a
// placeholder (curl ... | bash, curl URL | sh, wget <url> -O- | sh).
func placeholderTarget(matched string) bool {
	loc := downloadRE.FindStringIndex(matched)
	if loc == nil {
		return false // runs something downloaded elsewhere: the address is not on this line
	}
	cmd, _, _ := strings.Cut(matched[loc[1]:], "|")
	cmd = strings.NewReplacer("...", " ", "…", " ").Replace(cmd)
	for _, w := range strings.Fields(cmd) {
		if strings.ContainsAny(w, "<>{}") {
			continue
		}
		if targetRE.MatchString(w) {
			return false
		}
	}
	return true
}

// weigh adjusts a finding for its context (see the top of this file). Findings in decoded
// text keep their weight.
func (c *ctx) weigh(line int, cat Category, sev Severity, rule, reason, matched string) (Severity, string) {
	if c.prefix != "" || c.at > 0 || c.depth > 0 {
		return sev, reason
	}
	switch rule {
	case "supply-chain-unpinned":
		// The norm in published skills' prerequisites; worth knowing, not a reason to refuse.
		return min(sev, Advisory), reason
	case "exfil-hermes-secrets-mention":
		return min(sev, Advisory), reason + "; nothing here reads or sends it"
	}
	pipe := (rule == "supply-chain-pipe-to-shell" || rule == "classify/pipe-to-shell") && cat == SupplyChain
	placeholder := pipe && placeholderTarget(matched)
	if placeholder && sev > Caution {
		sev, reason = Caution, reason+"; with a placeholder, not a real address, so it cannot run as written"
	}
	doc := c.docs.isDoc(line) && reweighable(rule, cat) || c.docs.isFlag(line) && flagRules[rule]
	if quoted := c.docs.isQuoted(line) && reweighable(rule, cat); doc || quoted {
		limit := Advisory
		if quoted && !doc || pipe && !placeholder {
			// Quoted text may still be copied and run, and a real install script piped to a
			// shell is worth a look wherever it is.
			limit = Caution
		}
		if sev > limit {
			sev, reason = limit, reason+"; in documentation (a table, help text, or a list of blocked or prompted commands), not an instruction"
		}
	}
	return sev, reason
}
