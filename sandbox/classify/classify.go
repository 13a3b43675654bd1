// Package classify decides how risky a shell command line is before the local backend runs it.
//
// A command line is parsed with mvdan.cc/sh (bash dialect) and every simple command in it is
// inspected, wherever it sits: pipelines, lists, subshells, groups, command and process
// substitutions, here-documents fed to shells, function bodies, loop and branch bodies, and the
// strings handed to `sh -c`, `eval`, `xargs`, `find -exec`, `ssh host …`, `watch`, `su -c` and
// similar, which are parsed again. Wrappers (sudo, env, nice, timeout, …), paths (`/bin/rm`),
// quoting and escapes (`\rm`, `r”m`, `$'\x72m'`), `$IFS` separators, brace expansion and
// variables assigned earlier on the same line are all seen through.
//
// The result is one of three classes:
//
//   - Safe: runs without asking.
//   - Dangerous: needs the user's approval (which may be remembered by Shape).
//   - Hardline: never runs and cannot be approved (wiping /, a system directory or the home
//     directory, disks, fork bombs, killing every process, shutting the machine down, and the
//     user's own deny rules).
//
// Finding categories (stable ids):
//
//	Hardline:  recursive-delete (of /, a system directory, a home directory or their contents),
//	           disk-wipe, fork-bomb, kill-all, shutdown, deny-rule
//	Dangerous: recursive-delete (anything else, find -delete, xargs/find rm), chmod-broad,
//	           sql-destructive (also Redis FLUSHALL, MongoDB drops), sensitive-write, pipe-to-shell,
//	           cloud-metadata, service-stop, git-destructive, docker-remote, docker-prune,
//	           docker-privileged, package-remove, sudo-shell, mass-kill (killall, pkill -9,
//	           kill -9 $(…)), reverse-shell, dynamic-command, disk-partition, exfiltration, firewall,
//	           user-admin, history-wipe, infra-destroy, remote-access, exposure, security-off,
//	           unparsable, too-complex
//	           ("shutdown" is also used, as Dangerous, for suspend and single-user mode.)
//
// Policy decisions worth knowing:
//
//   - Any recursive delete is Dangerous, as in the agent this replaces: `rm -rf node_modules`
//     asks. `rmdir` is Safe (it only removes empty directories).
//   - Git: `reset --hard`, `push --force|-f|--force-with-lease|--mirror|--delete|+ref|:ref`,
//     `clean -f`, `branch -D`, `checkout .`/`checkout -- .`/`checkout -f`, `restore .` (not
//     `--staged` only), `switch -f`, `stash clear`, `filter-branch`, `filter-repo`,
//     `reflog expire|delete`, `gc --prune=now` are Dangerous. Restoring a single named file
//     (`git checkout -- main.go`) is Safe.
//   - A command whose name is only known at run time (`$X -rf /`, `$(cmd) …`) is Dangerous only
//     when its arguments would be dangerous for one of a few destructive programs (rm, chmod,
//     kill, dd, git, sh, …); `$EDITOR file` stays Safe.
//   - Destructive commands run inside a container (`docker exec`, `docker run`, `kubectl exec`)
//     or a chroot other than / are capped at Dangerous; those sent to another machine
//     (`ssh host …`) keep their class.
//   - Piping a download, decoded data or text only known at run time into a shell or interpreter
//     is Dangerous; `eval "$(tool init)"` and `source <(tool completion)` are Safe (their text is
//     produced by a local program), but not when the substitution downloads or decodes.
//   - mkfs* and wipefs are Hardline whatever the target (even an image file), as specified.
//   - Relative paths are resolved against a `cd` earlier on the same line; otherwise a relative
//     write to .bashrc, .ssh/…, .hermes/… is treated as possibly in the home directory.
//   - Files written on the line with known content (echo … > x.sh) and programs copied or linked
//     (ln -s /bin/rm x) are followed when run later on the same line.
//   - An invalid deny rule makes every command Dangerous (finding "deny-rule") until it is fixed;
//     use CompileRules when loading the configuration.
package classify

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"mvdan.cc/sh/v3/syntax"
)

// Class is how risky a command is. Classes are ordered: a command's class is the highest class
// among its findings.
type Class int

const (
	Safe Class = iota
	Dangerous
	Hardline
)

func (c Class) String() string {
	switch c {
	case Safe:
		return "safe"
	case Dangerous:
		return "dangerous"
	case Hardline:
		return "hardline"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Finding is one reason a command is not safe.
type Finding struct {
	Class    Class
	Category string // short stable id, e.g. "recursive-delete", "pipe-to-shell"
	Reason   string // one plain sentence for the user, e.g. "deletes / recursively"
	Command  string // the simple command that triggered it, as printed back
}

// Verdict is the classification of a whole command line.
type Verdict struct {
	Class    Class
	Findings []Finding
	// Shape is the canonical form of the command line (parsed and printed back, whitespace and
	// comments normalized). Use it to remember an "always" approval for exactly this command.
	Shape string
}

// Rules are the user's settings that affect classification.
type Rules struct {
	// Deny holds Go regexps matched against each simple command's normalized text (program base
	// name and arguments joined by single spaces, after unwrapping sudo, env, … and after
	// quote removal). A match is a Hardline finding with category "deny-rule".
	Deny []string
	// Home is the user's home directory, to recognise ~, $HOME and absolute paths into it.
	Home string
}

// Limits. Anything beyond them is Dangerous rather than analysed further.
const (
	// MaxCommandLen is the longest command line that is analysed.
	MaxCommandLen = 64 << 10
	maxDepth      = 24       // nesting of substitutions, reparsed strings, wrappers
	maxSteps      = 8000     // simple commands and expansions analysed per call
	maxReparse    = 64 << 10 // total bytes of strings parsed again
	maxVarLen     = 4096     // longest tracked variable value
	maxBrackets   = 256      // deepest bracket nesting parsed
	maxFindings   = 64
	maxFieldLen   = 16 << 10 // longest tracked variable value / expanded word
	maxFields     = 4096     // fields produced by expanding one command
)

// CompileRules checks that every deny rule is a valid Go regexp. The error names the bad rule.
func CompileRules(deny []string) error {
	for _, d := range deny {
		if _, err := compileRule(d); err != nil {
			return fmt.Errorf("deny rule %q is not a valid regexp: %v", d, err)
		}
	}
	return nil
}

var ruleCache sync.Map // string -> ruleEntry

type ruleEntry struct {
	re  *regexp.Regexp
	err error
}

func compileRule(s string) (*regexp.Regexp, error) {
	if e, ok := ruleCache.Load(s); ok {
		r := e.(ruleEntry)
		return r.re, r.err
	}
	re, err := regexp.Compile(s)
	ruleCache.Store(s, ruleEntry{re, err})
	return re, err
}

// debugPanics makes tests see panics instead of a Dangerous verdict; panicHook lets a test make
// Classify panic to check the recovery.
var (
	debugPanics = false
	panicHook   func(string)
)

var parserPool = sync.Pool{New: func() any { return syntax.NewParser(syntax.Variant(syntax.LangBash)) }}
var linePrinterPool = sync.Pool{New: func() any { return syntax.NewPrinter(syntax.SingleLine(true)) }}

// Classify parses and classifies a command line. It never panics and its running time is
// bounded; anything it cannot analyse is Dangerous.
func Classify(command string, rules Rules) (v Verdict) {
	defer func() {
		if r := recover(); r != nil {
			if debugPanics && !strings.HasPrefix(fmt.Sprint(r), "classify test panic") {
				panic(r)
			}
			v = Verdict{
				Class: Dangerous,
				Findings: []Finding{{Class: Dangerous, Category: "unparsable",
					Reason: "could not be analysed safely", Command: clip(collapseSpace(command), 200)}},
				Shape: collapseSpace(command),
			}
		}
	}()
	if len(command) > MaxCommandLen {
		return Verdict{
			Class: Dangerous,
			Findings: []Finding{{Class: Dangerous, Category: "too-complex",
				Reason:  fmt.Sprintf("is too long to analyse (%d bytes, limit %d)", len(command), MaxCommandLen),
				Command: clip(collapseSpace(command), 200)}},
			Shape: collapseSpace(command),
		}
	}
	if bracketDepth(command) > maxBrackets {
		// the parser recurses on nesting; no real command nests this deep
		return Verdict{
			Class: Dangerous,
			Findings: []Finding{{Class: Dangerous, Category: "too-complex",
				Reason: "is too deeply nested to analyse", Command: clip(collapseSpace(command), 200)}},
			Shape: collapseSpace(command),
		}
	}
	if panicHook != nil {
		panicHook(command)
	}
	a := newAnalyzer(rules)
	f, err := a.parse(command)
	if err != nil {
		reason := "cannot be parsed as a shell command"
		if pe, ok := err.(syntax.ParseError); ok {
			reason = "cannot be parsed as a shell command: " + pe.Text
		}
		v = Verdict{Class: Dangerous, Shape: collapseSpace(command)}
		v.Findings = append(v.Findings, Finding{Class: Dangerous, Category: "unparsable", Reason: reason,
			Command: clip(collapseSpace(command), 200)})
		a.rawScan(command, &ctx{text: clip(collapseSpace(command), 200)})
		v.Findings = append(v.Findings, a.findings...)
		for _, f := range v.Findings {
			v.Class = max(v.Class, f.Class)
		}
		return v
	}
	v.Shape = shapeOf(f, command)
	top := &ctx{}
	a.stmts(f.Stmts, top)
	a.rawScan(command, &ctx{text: clip(v.Shape, 200)})
	if a.limitHit {
		a.findings = append(a.findings, Finding{Class: Dangerous, Category: "too-complex",
			Reason: "is too deeply nested or too long to analyse completely", Command: a.limitCmd})
	}
	v.Findings = a.findings
	for _, f := range v.Findings {
		v.Class = max(v.Class, f.Class)
	}
	sort.SliceStable(v.Findings, func(i, j int) bool { return v.Findings[i].Class > v.Findings[j].Class })
	return v
}

// bracketDepth is the deepest nesting of ( { [ in s, ignoring quoting: a cheap bound checked
// before parsing.
func bracketDepth(s string) int {
	d, m := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{', '[':
			d++
			m = max(m, d)
		case ')', '}', ']':
			d = max(d-1, 0)
		}
	}
	return m
}

func shapeOf(f *syntax.File, src string) string {
	p := linePrinterPool.Get().(*syntax.Printer)
	defer linePrinterPool.Put(p)
	var sb strings.Builder
	if err := p.Print(&sb, f); err != nil {
		return collapseSpace(src)
	}
	return strings.TrimRight(sb.String(), "\n")
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// cut on a rune boundary
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// ctx is what the analyzer knows about the place a command runs in.
type ctx struct {
	depth     int
	node      syntax.Node // printed back as Finding.Command
	text      string      // overrides node when set
	stdin     *source     // what the command reads on stdin; nil: nothing known (terminal)
	redirs    []*syntax.Redirect
	env       map[string]string // VAR=value prefixes and env(1) assignments
	via       string            // "xargs", "find": more arguments are added at run time
	sudo      bool              // runs as root
	container string            // runs inside a container or chroot ("container"): findings capped at Dangerous
}

func (cx *ctx) child() *ctx {
	c := *cx
	c.depth++
	return &c
}

type analyzer struct {
	home        string // cleaned home directory, "~" when unknown
	deny        []*regexp.Regexp
	denySrc     []string
	findings    []Finding
	seen        map[string]struct{}
	steps       int
	reparsed    int
	limitHit    bool
	limitCmd    string
	vars        map[string]string // variables with statically known values
	funcs       map[string]*syntax.Stmt
	aliases     map[string]string
	active      map[string]int // functions and aliases being expanded
	cwd         string         // known working directory ("" unknown)
	downloads   map[string]bool
	secretFiles map[string]string   // files written on this line with a secret: what secret
	written     map[string]string   // files written on this line with known content
	links       map[string]string   // names that run another program (ln -s /bin/rm x; hash -p)
	arrays      map[string][]string // arrays with statically known elements
	pos         []field             // positional parameters inside a function body / sh -c
	posSet      bool
	evalDepth   int
	probing     int
	loops       int                     // nesting of for loops being unrolled
	flagMemo    map[syntax.Node][2]bool // stmtsFlags results per substitution
}

func newAnalyzer(r Rules) *analyzer {
	a := &analyzer{
		seen: map[string]struct{}{},
		vars: map[string]string{"IFS": " \t\n"},
	}
	a.home = "~"
	if h := strings.TrimSpace(r.Home); h != "" && strings.HasPrefix(h, "/") {
		a.home = cleanPath(h)
		a.vars["HOME"] = a.home
	} else {
		a.vars["HOME"] = "~"
	}
	for _, d := range r.Deny {
		re, err := compileRule(d)
		if err != nil {
			a.add(&ctx{text: d}, Dangerous, "deny-rule", fmt.Sprintf("your deny rule %q is not a valid regexp", d))
			continue
		}
		a.deny = append(a.deny, re)
		a.denySrc = append(a.denySrc, d)
	}
	return a
}

func (a *analyzer) parse(src string) (*syntax.File, error) {
	p := parserPool.Get().(*syntax.Parser)
	defer parserPool.Put(p)
	return p.Parse(strings.NewReader(src), "")
}

// add records a finding once.
func (a *analyzer) add(cx *ctx, class Class, category, reason string) {
	if cx.container != "" && class > Dangerous {
		class = Dangerous
		reason += " (inside a " + cx.container + ")"
	}
	if a.probing > 0 {
		a.findings = append(a.findings, Finding{Class: class, Category: category, Reason: reason})
		return
	}
	if len(a.findings) >= maxFindings {
		return
	}
	cmd := a.cmdText(cx)
	key := fmt.Sprint(int(class), "\x00", category, "\x00", reason, "\x00", cmd)
	if _, ok := a.seen[key]; ok {
		return
	}
	a.seen[key] = struct{}{}
	a.findings = append(a.findings, Finding{Class: class, Category: category, Reason: reason, Command: cmd})
}

func (a *analyzer) cmdText(cx *ctx) string {
	if cx.text != "" {
		return cx.text
	}
	if cx.node == nil {
		return ""
	}
	p := linePrinterPool.Get().(*syntax.Printer)
	defer linePrinterPool.Put(p)
	var sb strings.Builder
	if err := p.Print(&sb, cx.node); err != nil {
		return ""
	}
	return clip(strings.TrimSpace(sb.String()), 300)
}

// step counts work done; it reports false once the budget is spent (and records that once).
func (a *analyzer) step(cx *ctx) bool {
	a.steps++
	if a.steps > maxSteps || cx.depth > maxDepth {
		if !a.limitHit {
			a.limitHit = true
			a.limitCmd = a.cmdText(cx)
		}
		return false
	}
	return true
}
