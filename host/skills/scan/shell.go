package scan

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/hermes-agent/hermes/sandbox/classify"
)

// classifyRules fixes the home directory the classifier assumes, so a verdict does not depend
// on who runs the scan: `rm -rf ~` and `rm -rf /home/user` are both a home directory.
var classifyRules = classify.Rules{Home: "/home/user"}

// shell classifies the commands in a shell part (a script, a fenced block, inline code) with
// the sandbox's classifier, the same one that guards `hermes exec`, so a skill is judged by the
// rules its commands would meet at run time. session parts show a terminal: only lines after a
// "$ " prompt are commands.
func (s *scanner) shell(c *ctx, part text, session bool) {
	code := part
	if session || promptedLines(part.s) {
		code = promptCommands(part)
	}
	code = dropSlashCommands(code)
	if strings.TrimSpace(code.s) == "" {
		return
	}
	stmts, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(code.s), "")
	if err != nil {
		// Code blocks often hold placeholders (<your-token>) that are not shell; classify what
		// does parse, line by line.
		for _, l := range splitLines(code.s) {
			if t := strings.TrimSpace(l.text); t != "" && !strings.HasPrefix(t, "#") {
				s.classified(c, classify.Classify(l.text, classifyRules), code.lineAt(l.off), l.text, map[string]bool{})
			}
		}
		return
	}
	// Each top-level statement alone, to know its line; then the whole part, for what only
	// shows across statements (a=rm; $a -rf ~), reported at the part's first line.
	seen := map[string]bool{}
	for _, st := range stmts.Stmts {
		start, end := int(st.Pos().Offset()), int(st.End().Offset())
		if start < 0 || end > len(code.s) || start >= end {
			continue
		}
		src := code.s[start:end]
		s.classified(c, classify.Classify(src, classifyRules), code.lineAt(start), src, seen)
	}
	if len(stmts.Stmts) > 1 && len(code.s) <= classify.MaxCommandLen {
		s.classified(c, classify.Classify(code.s, classifyRules), code.lineAt(0), "", seen)
	}
}

// classified turns the classifier's findings into scan findings, showing src (the statement
// as written) or else the command as the classifier printed it. seen holds what was already
// reported for this part, so the whole-part pass only adds what is new.
func (s *scanner) classified(c *ctx, v classify.Verdict, line int, src string, seen map[string]bool) {
	for _, f := range v.Findings {
		cat, sev, ok := mapClass(f)
		if !ok || seen[f.Category+f.Command] {
			continue
		}
		seen[f.Category+f.Command] = true
		shown := src
		if shown == "" {
			shown = f.Command
		}
		c.add(line, cat, sev, "classify/"+f.Category, f.Reason, shown)
	}
}

// mapClass decides what a classifier finding means for a skill. Whatever could never be
// approved (hardline) is dangerous. Running downloads, reverse shells, uploads and writes to
// startup or credential files are dangerous too: that is what hostile skills do. Other commands
// that need approval at run time (force-pushes, DROP TABLE, package removal) are caution. A
// recursive delete of a named directory inside the project (rm -rf build) is routine cleanup
// and not reported, and text that is not shell (unparsable) says nothing about the skill.
func mapClass(f classify.Finding) (Category, Severity, bool) {
	if f.Class == classify.Hardline {
		if f.Category == "deny-rule" {
			return "", 0, false
		}
		return Destructive, Dangerous, true
	}
	switch f.Category {
	case "unparsable", "too-complex", "deny-rule":
		return "", 0, false
	case "pipe-to-shell":
		if strings.Contains(f.Reason, "decoded") {
			return Obfuscation, Dangerous, true
		}
		return SupplyChain, Dangerous, true
	case "reverse-shell", "remote-access":
		return ReverseShell, Dangerous, true
	case "exfiltration", "cloud-metadata", "exposure":
		return Exfiltration, Dangerous, true
	case "sensitive-write":
		return Persistence, Dangerous, true
	case "dynamic-command":
		return Obfuscation, Caution, true
	case "recursive-delete":
		if projectDelete(f.Command) {
			return "", 0, false
		}
	}
	return Destructive, Caution, true
}

// projectDelete reports whether an rm command only deletes named relative paths below the
// current directory (build, ./dist, node_modules/.cache), not ., .., globs or variables.
func projectDelete(cmd string) bool {
	fields := strings.Fields(cmd)
	if len(fields) < 2 || fields[0] != "rm" {
		return false
	}
	operands := 0
	for _, f := range fields[1:] {
		if strings.HasPrefix(f, "-") {
			continue
		}
		f = strings.TrimPrefix(f, "./")
		if f == "" || f == "." || strings.HasPrefix(f, "/") || strings.HasPrefix(f, "~") ||
			strings.ContainsAny(f, "$*?[{`'\"\\") || strings.Contains(f, "..") {
			return false
		}
		operands++
	}
	return operands > 0
}

// promptedLines reports whether most non-blank lines start with a "$ " prompt.
func promptedLines(s string) bool {
	prompted, total := 0, 0
	for _, l := range splitLines(s) {
		t := strings.TrimSpace(l.text)
		if t == "" {
			continue
		}
		total++
		if strings.HasPrefix(t, "$ ") {
			prompted++
		}
	}
	return prompted > 0 && prompted*2 >= total
}

// promptCommands keeps the commands of a terminal session: lines after a "$ " prompt and the
// continuation lines that follow them. Output lines are dropped.
func promptCommands(t text) text {
	b := newBuilder(len(t.s))
	continued := false
	for _, l := range splitLines(t.s) {
		trimmed := strings.TrimLeft(l.text, " \t")
		line := int32(t.lineAt(l.off))
		switch {
		case strings.HasPrefix(trimmed, "$ "):
			b.str(trimmed[2:]+"\n", line)
		case continued:
			b.str(l.text+"\n", line)
		default:
			continue
		}
		continued = strings.HasSuffix(strings.TrimRight(l.text, " \t\r"), "\\")
	}
	return b.text()
}

// slashCommandRE is a chat slash command at the start of a line (/skill github-pr, /model x):
// text typed into hermes' chat, not a program at the root of the file system.
var slashCommandRE = lazy(`^[ \t]*/[a-z][a-z0-9_-]*(?:[ \t]|$)`)

// dropSlashCommands blanks the lines of t that are chat slash commands, keeping line numbers,
// so the classifier does not read "/skill NAME" as procps' skill(1).
func dropSlashCommands(t text) text {
	if !strings.Contains(t.s, "/") {
		return t
	}
	b := newBuilder(len(t.s))
	changed := false
	for _, l := range splitLines(t.s) {
		end := l.off + len(l.text)
		if slashCommandRE.MatchString(l.text) {
			changed = true
		} else {
			b.copy(t, l.off, end)
		}
		if end < len(t.s) {
			b.copy(t, end, end+1)
		}
	}
	if !changed {
		return t
	}
	return b.text()
}
