package classify

import (
	"encoding/base64"
	"encoding/hex"
	"path"
	"strconv"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// dynMark stands for text only known at run time inside a field's value.
const dynMark = "\uE000"

// dynWord replaces dynMark when a value is parsed again as shell code: an unknown variable.
const dynWord = "${__hermes_unknown__}"

// field is one argument after expansion, as far as it is statically known.
type field struct {
	s    string  // value; unknown parts are dynMark
	disp string  // for messages: unknown parts as written in the source
	pat  string  // glob pattern (quoted metacharacters escaped) when glob
	dyn  bool    // has parts only known at run time
	glob bool    // has unquoted glob metacharacters
	dl   bool    // includes the output of a download (curl, wget, …)
	dec  bool    // includes the output of a decoder (base64 -d, xxd -r, …)
	psub bool    // is a process substitution path
	psrc *source // what the process substitution produces
	sec  string  // includes the output of $(…) that reads a secret (see secretRead): what
}

// code renders the value for parsing again as shell code.
func (f field) code() string {
	if !f.dyn {
		return f.s
	}
	return strings.ReplaceAll(f.s, dynMark, dynWord)
}

func (f field) show() string {
	if f.disp != "" {
		return f.disp
	}
	return strings.ReplaceAll(f.s, dynMark, "…")
}

func lit(s string) field { return field{s: s, disp: s} }

// fb builds fields from word parts.
type fb struct {
	a                           *analyzer
	out                         []field
	s, disp, pat                strings.Builder
	started, dyn, glob, dl, dec bool
	psub                        bool
	psrc                        *source
	sec                         string
	noSplit                     bool // assignment values, here-documents: no splitting or globbing
}

func (b *fb) flush(force bool) {
	if !b.started && !force {
		return
	}
	if len(b.out) < maxFields {
		f := field{s: b.s.String(), disp: b.disp.String(), dyn: b.dyn, glob: b.glob, dl: b.dl, dec: b.dec, psub: b.psub, psrc: b.psrc, sec: b.sec}
		if b.glob {
			f.pat = b.pat.String()
		}
		b.out = append(b.out, f)
	}
	b.s.Reset()
	b.disp.Reset()
	b.pat.Reset()
	b.started, b.dyn, b.glob, b.dl, b.dec, b.psub, b.psrc, b.sec = false, false, false, false, false, false, nil, ""
}

func (b *fb) room() bool { return b.s.Len() < maxFieldLen }

// quoted appends text that is not subject to globbing.
func (b *fb) quoted(v string) {
	b.started = true
	if !b.room() {
		return
	}
	b.s.WriteString(v)
	b.disp.WriteString(v)
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == '*' || c == '?' || c == '[' || c == '\\' {
			b.pat.WriteByte('\\')
		}
		b.pat.WriteByte(v[i])
	}
}

// char appends one unquoted character.
func (b *fb) char(c byte) {
	b.started = true
	if !b.room() {
		return
	}
	if !b.noSplit && (c == '*' || c == '?' || c == '[') {
		b.glob = true
	}
	b.s.WriteByte(c)
	b.disp.WriteByte(c)
	b.pat.WriteByte(c)
}

// unquotedLit appends a literal word part, handling backslash escapes.
func (b *fb) unquotedLit(v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			if v[i] == '\n' {
				continue
			}
			b.quoted(v[i : i+1])
			continue
		}
		b.char(c)
	}
}

// expanded appends the value of an unquoted expansion: split on IFS, globbed.
func (b *fb) expanded(v string) {
	if b.noSplit {
		b.started = true
		if b.room() {
			b.s.WriteString(v)
			b.disp.WriteString(v)
			b.pat.WriteString(v)
		}
		return
	}
	ifs, ok := b.a.vars["IFS"]
	if !ok {
		ifs = " \t\n"
	}
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(ifs, v[i]) >= 0 {
			b.flush(false)
			continue
		}
		b.char(v[i])
	}
}

func (b *fb) dynamic(src string) {
	b.started = true
	b.dyn = true
	if !b.room() {
		return
	}
	b.s.WriteString(dynMark)
	b.disp.WriteString(clip(src, 60))
	b.pat.WriteString("*")
}

// fieldsOf expands words into fields.
func (a *analyzer) fieldsOf(words []*syntax.Word) []field {
	var out []field
	for _, w := range words {
		out = append(out, a.fields(w)...)
		if len(out) >= maxFields {
			break
		}
	}
	return out
}

// fields expands one word (brace expansion, tilde, parameters, quote removal, field splitting).
func (a *analyzer) fields(w *syntax.Word) []field {
	if w == nil || len(w.Parts) == 0 {
		return nil
	}
	if n := braceCount(w); n > 16 {
		// too many brace expansions to follow: the word is unknown
		b := &fb{a: a}
		b.dynamic(clip(a.printNode(w), 40))
		b.flush(false)
		return b.out
	} else if n > 0 {
		cp := &syntax.Word{Parts: append([]syntax.WordPart(nil), w.Parts...)}
		if syntax.SplitBraces(cp) {
			var out []field
			n := 0
			for bw, err := range expand.BracesSeq(nil, cp) {
				if err != nil || n >= 256 {
					break
				}
				n++
				b := &fb{a: a}
				a.parts(b, bw.Parts, true)
				b.flush(false)
				out = append(out, b.out...)
			}
			return out
		}
	}
	b := &fb{a: a}
	a.parts(b, w.Parts, true)
	b.flush(false)
	return b.out
}

func braceCount(w *syntax.Word) int {
	n := 0
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok {
			n += strings.Count(l.Value, "{")
		}
	}
	return n
}

// wordString expands a word without splitting or globbing (assignment values, redirection
// targets, here-document bodies).
func (a *analyzer) wordString(w *syntax.Word) field {
	if w == nil {
		return field{}
	}
	b := &fb{a: a, noSplit: true}
	a.parts(b, w.Parts, true)
	b.flush(true)
	return b.out[0]
}

// hdocString expands a here-document body.
func (a *analyzer) hdocString(w *syntax.Word) field {
	if w == nil {
		return field{}
	}
	b := &fb{a: a, noSplit: true}
	for _, p := range w.Parts {
		if l, ok := p.(*syntax.Lit); ok {
			// in an unquoted here-document, \ only escapes $ ` \ and newline
			b.quoted(unescapeDq(l.Value, false))
			continue
		}
		a.parts(b, []syntax.WordPart{p}, false)
	}
	b.flush(true)
	return b.out[0]
}

func unescapeDq(v string, dq bool) string {
	if !strings.Contains(v, "\\") {
		return v
	}
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '$', '`', '\\':
				i++
				sb.WriteByte(v[i])
				continue
			case '"':
				if dq {
					i++
					sb.WriteByte('"')
					continue
				}
			case '\n':
				i++
				continue
			}
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func (a *analyzer) parts(b *fb, parts []syntax.WordPart, top bool) {
	for i, p := range parts {
		switch p := p.(type) {
		case *syntax.Lit:
			v := p.Value
			if top && i == 0 && strings.HasPrefix(v, "~") {
				v = a.tilde(b, v)
			}
			if top {
				b.unquotedLit(v)
			} else {
				b.quoted(v)
			}
		case *syntax.SglQuoted:
			v := p.Value
			if p.Dollar {
				v = ansiC(v)
			}
			b.quoted(v)
		case *syntax.DblQuoted:
			b.started = true
			if len(p.Parts) == 1 && top && len(parts) == 1 {
				if pe, ok := p.Parts[0].(*syntax.ParamExp); ok && pe.Param != nil && a.arrays[pe.Param.Value] != nil && arrayAll(pe) {
					// "${arr[@]}": one field per element
					b.started = false
					for _, e := range a.arrays[pe.Param.Value] {
						b.quoted(e)
						b.flush(true)
					}
					continue
				}
				if pe, ok := p.Parts[0].(*syntax.ParamExp); ok && pe.Param != nil && pe.Param.Value == "@" && simpleParam(pe) && a.posSet {
					// "$@": one field per positional parameter
					b.started = false
					for _, f := range a.pos[1:] {
						b.quoted(f.s)
						b.dyn = b.dyn || f.dyn
						b.flush(true)
					}
					continue
				}
			}
			for _, q := range p.Parts {
				switch q := q.(type) {
				case *syntax.Lit:
					b.quoted(unescapeDq(q.Value, true))
				default:
					a.parts(b, []syntax.WordPart{q}, false)
				}
			}
		case *syntax.ParamExp:
			v, ok := a.param(p)
			if !ok {
				b.dynamic(a.printNode(p))
				continue
			}
			if top {
				b.expanded(v)
			} else {
				b.quoted(v)
			}
		case *syntax.CmdSubst:
			dl, dec := a.nodeFlags(p)
			b.dl = b.dl || dl
			b.dec = b.dec || dec
			out, ok, sec := a.substOutput(p)
			if sec != "" {
				b.sec = sec
			}
			if !ok {
				b.dynamic(a.printNode(p))
				b.dl = b.dl || dl
				b.dec = b.dec || dec
				continue
			}
			out = strings.TrimRight(out, "\n")
			if strings.Contains(out, dynMark) {
				b.dyn = true
			}
			if top {
				b.expanded(out)
			} else {
				b.quoted(out)
			}
		case *syntax.ArithmExp:
			if n, ok := a.arith(p.X); ok {
				b.quoted(strconv.Itoa(n))
			} else {
				b.dynamic(a.printNode(p))
			}
		case *syntax.ProcSubst:
			dl, dec := a.nodeFlags(p)
			b.quoted("/dev/fd/63")
			b.psub = true
			if len(p.Stmts) == 1 {
				b.psrc = a.stmtOutput(p.Stmts[0], nil)
			} else {
				b.psrc = &source{}
			}
			b.dl = b.dl || dl
			b.dec = b.dec || dec
		case *syntax.ExtGlob:
			b.started = true
			b.glob = !b.noSplit
			v := p.Op.String() + p.Pattern.Value + ")"
			b.s.WriteString(v)
			b.disp.WriteString(v)
			b.pat.WriteString("*")
		default:
			b.dynamic("…")
		}
	}
}

// tilde performs tilde expansion on the start of an unquoted literal and returns the rest.
func (a *analyzer) tilde(b *fb, v string) string {
	name, rest, _ := strings.Cut(v[1:], "/")
	if strings.Contains(v, "/") {
		rest = "/" + rest
	}
	var home string
	switch {
	case name == "":
		home = a.home
	case name == "root":
		home = "/root"
	case name == "+" && a.cwd != "":
		home = a.cwd
	case name == "+" || name == "-":
		b.dynamic("~" + name)
		return rest
	default:
		for _, r := range name {
			if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return v
			}
		}
		home = "/home/" + name
	}
	b.quoted(home)
	// show the path as written
	d := b.disp.String()
	b.disp.Reset()
	b.disp.WriteString(strings.TrimSuffix(d, home) + "~" + name)
	return rest
}

func simpleParam(pe *syntax.ParamExp) bool {
	return pe.Param != nil && !pe.Excl && !pe.Length && !pe.Width && !pe.IsSet && pe.Index == nil &&
		pe.Slice == nil && pe.Repl == nil && pe.Names == 0 && pe.Exp == nil && pe.NestedParam == nil &&
		len(pe.Modifiers) == 0 && pe.Flags == nil
}

// lookup returns a variable's value when known statically.
func (a *analyzer) lookup(name string) (string, bool) {
	switch name {
	case "@", "*":
		if !a.posSet {
			return "", false
		}
		var parts []string
		for _, f := range a.pos[1:] {
			if f.dyn {
				return "", false
			}
			parts = append(parts, f.s)
		}
		return strings.Join(parts, " "), true
	case "#":
		if !a.posSet {
			return "", false
		}
		return strconv.Itoa(len(a.pos) - 1), true
	}
	if n, err := strconv.Atoi(name); err == nil {
		if !a.posSet {
			return "", false
		}
		if n < len(a.pos) {
			if a.pos[n].dyn {
				return "", false
			}
			return a.pos[n].s, true
		}
		return "", true
	}
	v, ok := a.vars[name]
	return v, ok
}

// param evaluates a parameter expansion when it is statically known.
// arrayAll reports whether pe is ${name[@]} or ${name[*]}.
func arrayAll(pe *syntax.ParamExp) bool {
	w, ok := pe.Index.(*syntax.Word)
	if !ok || pe.Excl || pe.Length || pe.Slice != nil || pe.Repl != nil || pe.Exp != nil {
		return false
	}
	l := w.Lit()
	return l == "@" || l == "*"
}

func (a *analyzer) param(pe *syntax.ParamExp) (string, bool) {
	if pe.Param != nil && pe.Index != nil && a.arrays[pe.Param.Value] != nil && !pe.Excl && !pe.Length &&
		pe.Slice == nil && pe.Repl == nil && pe.Exp == nil {
		elems := a.arrays[pe.Param.Value]
		if arrayAll(pe) {
			return strings.Join(elems, " "), true
		}
		if n, ok := a.arith(pe.Index); ok && n >= 0 && n < len(elems) {
			return elems[n], true
		}
		return "", false
	}
	if pe.Param == nil || pe.Excl || pe.Width || pe.IsSet || pe.Index != nil || pe.Names != 0 ||
		pe.NestedParam != nil || len(pe.Modifiers) > 0 || pe.Flags != nil {
		return "", false
	}
	v, ok := a.lookup(pe.Param.Value)
	if pe.Length {
		if !ok {
			return "", false
		}
		return strconv.Itoa(len([]rune(v))), true
	}
	switch {
	case pe.Slice != nil:
		if !ok {
			return "", false
		}
		off, ok1 := a.arith(pe.Slice.Offset)
		if !ok1 {
			return "", false
		}
		r := []rune(v)
		if off < 0 {
			off += len(r)
		}
		off = min(max(off, 0), len(r))
		end := len(r)
		if pe.Slice.Length != nil {
			n, ok2 := a.arith(pe.Slice.Length)
			if !ok2 {
				return "", false
			}
			if n < 0 {
				end = max(len(r)+n, off)
			} else {
				end = min(off+n, len(r))
			}
		}
		return string(r[off:end]), true
	case pe.Repl != nil:
		if !ok {
			return "", false
		}
		orig := a.wordString(pe.Repl.Orig)
		with := a.wordString(pe.Repl.With)
		if orig.dyn || with.dyn || strings.ContainsAny(orig.s, "*?[") || orig.s == "" {
			return "", false
		}
		if pe.Repl.All {
			return strings.ReplaceAll(v, orig.s, with.s), true
		}
		return strings.Replace(v, orig.s, with.s, 1), true
	case pe.Exp != nil:
		word := func() (string, bool) {
			f := a.wordString(pe.Exp.Word)
			return f.s, !f.dyn
		}
		switch pe.Exp.Op {
		case syntax.DefaultUnset, syntax.DefaultUnsetOrNull, syntax.AssignUnset, syntax.AssignUnsetOrNull:
			if !ok {
				return "", false
			}
			if v == "" && (pe.Exp.Op == syntax.DefaultUnsetOrNull || pe.Exp.Op == syntax.AssignUnsetOrNull) {
				return word()
			}
			return v, true
		case syntax.AlternateUnset, syntax.AlternateUnsetOrNull:
			if !ok {
				return "", false
			}
			if v == "" && pe.Exp.Op == syntax.AlternateUnsetOrNull {
				return "", true
			}
			return word()
		case syntax.ErrorUnset, syntax.ErrorUnsetOrNull:
			return v, ok
		case syntax.UpperAll:
			return strings.ToUpper(v), ok
		case syntax.LowerAll:
			return strings.ToLower(v), ok
		case syntax.RemSmallSuffix, syntax.RemLargeSuffix, syntax.RemSmallPrefix, syntax.RemLargePrefix:
			w, wok := word()
			if !ok || !wok || strings.ContainsAny(w, "*?[") {
				return "", false
			}
			if pe.Exp.Op == syntax.RemSmallSuffix || pe.Exp.Op == syntax.RemLargeSuffix {
				return strings.TrimSuffix(v, w), true
			}
			return strings.TrimPrefix(v, w), true
		}
		return "", false
	}
	return v, ok
}

func (a *analyzer) arith(x syntax.ArithmExpr) (n int, ok bool) {
	if x == nil {
		return 0, false
	}
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	unknown := false
	cfg := &expand.Config{Env: expand.FuncEnviron(func(name string) string {
		v, ok := a.lookup(name)
		if !ok {
			unknown = true
		}
		return v
	})}
	// reject anything with substitutions inside
	bad := false
	syntax.Walk(x, func(n syntax.Node) bool {
		switch n.(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst:
			bad = true
		}
		return !bad
	})
	if bad {
		return 0, false
	}
	v, err := expand.Arithm(cfg, x)
	if err != nil || unknown {
		return 0, false
	}
	return v, true
}

// ansiC decodes the body of a $'…' string.
func ansiC(v string) (s string) {
	defer func() {
		if recover() != nil {
			s = v
		}
	}()
	out, _, _ := expand.Format(&expand.Config{}, v, nil)
	out, _, _ = strings.Cut(out, "\x00")
	return out
}

// printNode prints a (small) node for messages; large ones are abbreviated.
func (a *analyzer) printNode(n syntax.Node) string {
	if n.End().Offset()-n.Pos().Offset() > 80 {
		switch n.(type) {
		case *syntax.CmdSubst:
			return "$(…)"
		case *syntax.ParamExp:
			return "${…}"
		}
		return "…"
	}
	return a.cmdText(&ctx{node: n})
}

// source describes what a command reads on stdin (or what a command writes to stdout).
type source struct {
	text  string // known text; dynMark marks unknown parts
	known bool
	dl    bool   // comes from a download
	dec   bool   // comes through a decoder
	file  bool   // is the contents of a named file
	alt   string // another reading of the text (dash's echo interprets backslash escapes)
	// secret names the secret the data carries (see secretRead); "" for none
	secret string
}

func (s *source) code() string { return strings.ReplaceAll(s.text, dynMark, dynWord) }

// substOutput evaluates $(…) when its output is statically known (echo, printf, decoders of
// known text, which/command -v), and names the secret it carries ("" for none, see secretRead)
// either way.
func (a *analyzer) substOutput(cs *syntax.CmdSubst) (text string, known bool, secret string) {
	var sb strings.Builder
	known = true
	for _, st := range cs.Stmts {
		o := a.stmtOutput(st, nil)
		if o != nil && o.secret != "" && secret == "" {
			secret = o.secret
		}
		if o == nil || !o.known || o.alt != "" {
			known = false // unknown, or read differently by bash and dash
			continue
		}
		sb.WriteString(o.text)
	}
	if !known {
		return "", false, secret
	}
	return sb.String(), true, secret
}

// stmtOutput describes what a statement writes to stdout, given its stdin.
func (a *analyzer) stmtOutput(st *syntax.Stmt, in *source) *source {
	if st == nil {
		return nil
	}
	a.evalDepth++
	defer func() { a.evalDepth-- }()
	if a.evalDepth > 12 || a.steps > maxSteps {
		return &source{}
	}
	a.steps++
	for _, r := range st.Redirs {
		switch r.Op {
		case syntax.Hdoc, syntax.DashHdoc:
			h := a.hdocString(r.Hdoc)
			in = &source{text: h.s, known: true, dl: h.dl, dec: h.dec}
		case syntax.WordHdoc:
			h := a.wordString(r.Word)
			in = &source{text: h.s + "\n", known: true, dl: h.dl, dec: h.dec}
		case syntax.RdrIn:
			in = &source{file: true}
			if r.N == nil || r.N.Value == "0" {
				in.secret, _ = a.credential(a.resolve(a.wordString(r.Word).s))
			}
		case syntax.RdrOut, syntax.AppOut, syntax.RdrAll, syntax.AppAll, syntax.ClbOut:
			if r.N == nil || r.N.Value == "1" {
				return &source{known: true} // stdout goes elsewhere
			}
		}
	}
	switch c := st.Cmd.(type) {
	case *syntax.BinaryCmd:
		if c.Op == syntax.Pipe || c.Op == syntax.PipeAll {
			for _, s := range flattenPipe(c) {
				in = a.stmtOutput(s, in)
			}
			return in
		}
		x := a.stmtOutput(c.X, in)
		y := a.stmtOutput(c.Y, in)
		if x != nil && y != nil && x.known && y.known && c.Op == syntax.AndStmt {
			return &source{text: x.text + y.text, known: true, dl: x.dl || y.dl, dec: x.dec || y.dec}
		}
		dl, dec := a.stmtsFlags([]*syntax.Stmt{st})
		return &source{dl: dl || (in != nil && in.dl), dec: dec || (in != nil && in.dec)}
	case *syntax.CallExpr:
		if len(c.Args) == 0 {
			return &source{known: true}
		}
		return a.callOutput(a.fieldsOf(c.Args), in)
	case *syntax.Subshell, *syntax.Block:
		var list []*syntax.Stmt
		if sub, ok := c.(*syntax.Subshell); ok {
			list = sub.Stmts
		} else {
			list = c.(*syntax.Block).Stmts
		}
		out := &source{known: true}
		for _, s := range list {
			o := a.stmtOutput(s, in)
			if o == nil {
				continue
			}
			out.dl, out.dec = out.dl || o.dl, out.dec || o.dec
			if o.known {
				out.text += o.text
			} else {
				out.text += dynMark + "\n"
			}
			if len(out.text) > maxFieldLen {
				break
			}
		}
		return out
	default:
		dl, dec := a.stmtsFlags([]*syntax.Stmt{st})
		return &source{dl: dl || (in != nil && in.dl), dec: dec || (in != nil && in.dec)}
	}
}

func flattenPipe(b *syntax.BinaryCmd) []*syntax.Stmt {
	var rev []*syntax.Stmt
	for {
		rev = append(rev, b.Y)
		x, ok := b.X.Cmd.(*syntax.BinaryCmd)
		if !ok || (x.Op != syntax.Pipe && x.Op != syntax.PipeAll) || len(b.X.Redirs) > 0 || b.X.Negated || b.X.Background {
			rev = append(rev, b.X)
			break
		}
		b = x
	}
	out := make([]*syntax.Stmt, len(rev))
	for i, s := range rev {
		out[len(rev)-1-i] = s
	}
	return out
}

// stripWrappers skips assignments and simple wrappers (sudo, env, nice, …) to find the program
// that actually runs, for quick checks that do not need the full analysis.
func stripWrappers(args []field) []field {
	for guard := 0; len(args) > 0 && guard < 16; guard++ {
		name := strings.ToLower(path.Base(args[0].s))
		if strings.Contains(args[0].s, "=") && !strings.HasPrefix(args[0].s, "-") && !strings.Contains(args[0].s, "/") {
			args = args[1:]
			continue
		}
		switch name {
		case "command":
			if len(args) > 1 && (args[1].s == "-v" || args[1].s == "-V") {
				return args
			}
			args = args[1:]
			continue
		case "sudo", "doas", "env", "nice", "nohup", "time", "builtin", "exec", "stdbuf",
			"setsid", "unbuffer", "ionice", "chrt", "taskset", "pkexec", "torsocks", "proxychains",
			"proxychains4", "caffeinate", "catchsegv", "busybox", "toybox":
			args = args[1:]
			for len(args) > 0 && strings.HasPrefix(args[0].s, "-") {
				args = args[1:]
			}
			continue
		case "timeout":
			args = args[1:]
			for len(args) > 0 && strings.HasPrefix(args[0].s, "-") {
				args = args[1:]
			}
			if len(args) > 0 {
				args = args[1:]
			}
			continue
		}
		break
	}
	return args
}

var downloaders = map[string]bool{
	"curl": true, "wget": true, "fetch": true, "aria2c": true, "axel": true, "http": true,
	"https": true, "xh": true, "xhs": true, "lwp-request": true, "lwp-download": true, "get": true,
	"lynx": true, "links": true, "w3m": true, "nc": true, "ncat": true, "netcat": true, "socat": true,
	"curlie": true, "httpie": true, "wget2": true, "tftp": true, "ftp": true,
}

var decoderNames = map[string]bool{
	"base64": true, "base32": true, "basenc": true, "xxd": true, "uudecode": true, "gunzip": true,
	"zcat": true, "bzcat": true, "xzcat": true, "unxz": true, "lzcat": true, "zstdcat": true,
	"unzstd": true, "rev": true, "tr": true, "openssl": true, "gzip": true, "bzip2": true, "xz": true,
	"zstd": true, "brotli": true, "rot13": true, "gpg": true, "unpack200": true,
}

// progFlags reports whether an argv (after wrappers) downloads or decodes.
func progFlags(args []field) (dl, dec bool) {
	args = stripWrappers(args)
	if len(args) == 0 {
		return false, false
	}
	name := strings.ToLower(path.Base(args[0].s))
	switch {
	case downloaders[name]:
		return true, false
	case name == "aws" || name == "gsutil" || name == "gcloud" || name == "az":
		// aws s3 cp s3://… -, gsutil cat gs://…
		for _, f := range args[1:] {
			if f.s == "cat" || f.s == "-" {
				return true, false
			}
		}
	case name == "openssl":
		for _, f := range args[1:] {
			switch f.s {
			case "s_client":
				return true, false
			case "-d", "-a", "-base64", "base64", "enc":
			default:
				continue
			}
			if f.s == "-d" {
				return false, true
			}
		}
	case name == "gzip" || name == "bzip2" || name == "xz" || name == "zstd" || name == "brotli":
		for _, f := range args[1:] {
			if f.s == "-d" || f.s == "--decompress" || (strings.HasPrefix(f.s, "-") && !strings.HasPrefix(f.s, "--") && strings.Contains(f.s, "d")) {
				return false, true
			}
		}
	case name == "base64" || name == "base32" || name == "basenc":
		for _, f := range args[1:] {
			if f.s == "--decode" || (strings.HasPrefix(f.s, "-") && !strings.HasPrefix(f.s, "--") && strings.ContainsAny(f.s, "dD")) {
				return false, true
			}
		}
	case name == "xxd":
		for _, f := range args[1:] {
			if strings.HasPrefix(f.s, "-r") || f.s == "-revert" {
				return false, true
			}
		}
	case name == "gpg":
		for _, f := range args[1:] {
			if f.s == "-d" || f.s == "--decrypt" {
				return false, true
			}
		}
	case decoderNames[name]:
		return false, true
	}
	return false, false
}

// stmtsFlags reports whether any command in stmts downloads or decodes.
func (a *analyzer) stmtsFlags(stmts []*syntax.Stmt) (dl, dec bool) {
	for _, st := range stmts {
		d1, d2 := a.nodeFlags(st)
		dl, dec = dl || d1, dec || d2
	}
	return dl, dec
}

// nodeFlags computes stmtsFlags for one node, memoizing nested substitutions so that deeply
// nested input is walked once.
func (a *analyzer) nodeFlags(n syntax.Node) (dl, dec bool) {
	if r, ok := a.flagMemo[n]; ok {
		return r[0], r[1]
	}
	syntax.Walk(n, func(m syntax.Node) bool {
		switch m := m.(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst:
			if m != n {
				d1, d2 := a.nodeFlags(m)
				dl, dec = dl || d1, dec || d2
				return false
			}
		case *syntax.CallExpr:
			if len(m.Args) == 0 {
				return true
			}
			var args []field
			for _, w := range m.Args {
				args = append(args, lit(staticLit(w)))
				if len(args) > 12 {
					break
				}
			}
			d1, d2 := progFlags(args)
			dl, dec = dl || d1, dec || d2
		}
		return true
	})
	if a.flagMemo == nil {
		a.flagMemo = map[syntax.Node][2]bool{}
	}
	a.flagMemo[n] = [2]bool{dl, dec}
	return dl, dec
}

// staticLit is a cheap quote removal for quick checks (no expansions).
func staticLit(w *syntax.Word) string {
	var sb strings.Builder
	for _, p := range w.Parts {
		switch p := p.(type) {
		case *syntax.Lit:
			sb.WriteString(strings.ReplaceAll(p.Value, "\\", ""))
		case *syntax.SglQuoted:
			if p.Dollar {
				sb.WriteString(ansiC(p.Value))
			} else {
				sb.WriteString(p.Value)
			}
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				if l, ok := q.(*syntax.Lit); ok {
					sb.WriteString(l.Value)
				}
			}
		}
	}
	return sb.String()
}

// callOutput describes the stdout of a simple command.
func (a *analyzer) callOutput(args []field, in *source) *source {
	out := a.plainOutput(args, in)
	if out.secret == "" {
		if sec := a.secretRead(stripWrappersKeepEnv(args), in); sec != "" {
			c := *out
			c.secret = sec
			return &c
		}
	}
	return out
}

// plainOutput is callOutput without secrets.
func (a *analyzer) plainOutput(args []field, in *source) *source {
	pass := func() *source {
		s := &source{}
		if in != nil {
			s.dl, s.dec = in.dl, in.dec
		}
		return s
	}
	args = stripWrappers(args)
	if len(args) == 0 || args[0].dyn {
		return pass()
	}
	name := strings.ToLower(path.Base(args[0].s))
	rest := args[1:]
	anyDyn := func(fs []field) bool {
		for _, f := range fs {
			if f.dyn {
				return true
			}
		}
		return false
	}
	join := func(fs []field) string {
		parts := make([]string, len(fs))
		for i, f := range fs {
			parts[i] = f.s
		}
		return strings.Join(parts, " ")
	}
	switch name {
	case "echo":
		nl, esc := true, false
		for len(rest) > 0 && len(rest[0].s) > 1 && rest[0].s[0] == '-' && strings.Trim(rest[0].s[1:], "neE") == "" {
			if strings.Contains(rest[0].s, "n") {
				nl = false
			}
			if strings.Contains(rest[0].s, "e") {
				esc = true
			}
			rest = rest[1:]
		}
		t := join(rest)
		alt := ""
		if esc {
			t = ansiC(t)
		} else if strings.Contains(t, "\\") {
			// /bin/sh may be dash, whose echo interprets escapes like printf %b
			if s := dashEcho(t); s != t {
				alt = s
				if nl {
					alt += "\n"
				}
			}
		}
		if nl {
			t += "\n"
		}
		return &source{text: t, known: true, alt: alt}
	case "printf":
		if len(rest) > 0 && rest[0].s == "--" {
			rest = rest[1:]
		}
		if len(rest) == 0 || rest[0].s == "-v" {
			return &source{known: true}
		}
		if rest[0].dyn {
			return pass()
		}
		strs := make([]string, len(rest)-1)
		for i, f := range rest[1:] {
			strs[i] = f.s
		}
		t, ok := formatSafe(rest[0].s, strs)
		if !ok {
			return pass()
		}
		return &source{text: t, known: true}
	case "cat", "tee":
		files := 0
		for _, f := range rest {
			if !strings.HasPrefix(f.s, "-") || f.s == "-" {
				files++
			}
		}
		if name == "cat" && files > 0 {
			return &source{file: true}
		}
		if in == nil {
			return &source{known: true}
		}
		return in
	case "which", "type", "command", "whence", "readlink", "realpath":
		if len(rest) == 0 {
			return pass()
		}
		last := rest[len(rest)-1]
		if last.dyn {
			return pass()
		}
		return &source{text: last.s + "\n", known: true}
	case "basename":
		if len(rest) == 0 || anyDyn(rest) {
			return pass()
		}
		return &source{text: path.Base(rest[0].s) + "\n", known: true}
	case "dirname":
		if len(rest) == 0 || anyDyn(rest) {
			return pass()
		}
		return &source{text: path.Dir(rest[0].s) + "\n", known: true}
	case "base64", "base32", "basenc", "xxd", "rev", "tr", "openssl":
		_, dec := progFlags(args)
		out := pass()
		if name == "tr" || name == "rev" {
			dec = true
		}
		out.dec = out.dec || dec
		if in == nil || !in.known || strings.Contains(in.text, dynMark) {
			return out
		}
		var t string
		var ok bool
		switch name {
		case "base64", "openssl":
			if dec {
				t, ok = decodeB64(in.text)
			}
		case "xxd":
			if dec {
				t, ok = decodeHex(in.text)
			}
		case "rev":
			t, ok = revLines(in.text), true
		case "tr":
			t, ok = trText(rest, in.text)
		}
		if !ok {
			return out
		}
		return &source{text: t, known: true, dec: true, dl: in.dl}
	}
	dl, dec := progFlags(args)
	s := pass()
	s.dl = s.dl || dl
	s.dec = s.dec || dec
	return s
}

// dashEcho interprets the escapes dash's echo understands (\\ \a \b \c \f \n \r \t \v \0nnn).
func dashEcho(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			sb.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case '\\':
			sb.WriteByte('\\')
		case 'a':
			sb.WriteByte('\a')
		case 'b':
			sb.WriteByte('\b')
		case 'c':
			return sb.String()
		case 'f':
			sb.WriteByte('\f')
		case 'n':
			sb.WriteByte('\n')
		case 'r':
			sb.WriteByte('\r')
		case 't':
			sb.WriteByte('\t')
		case 'v':
			sb.WriteByte('\v')
		case '0':
			n, j := 0, 0
			for j < 3 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7' {
				n = n*8 + int(s[i+1]-'0')
				i++
				j++
			}
			sb.WriteByte(byte(n))
		default:
			sb.WriteByte('\\')
			sb.WriteByte(s[i])
		}
	}
	return sb.String()
}

func formatSafe(format string, args []string) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	if len(format) > maxFieldLen {
		return "", false
	}
	out, _, err := expand.Format(&expand.Config{}, format, args)
	if err != nil {
		return "", false
	}
	return out, true
}

func decodeB64(s string) (string, bool) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(clean); err == nil {
			return string(b), true
		}
	}
	return "", false
}

func decodeHex(s string) (string, bool) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(clean)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func revLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		r := []rune(l)
		for x, y := 0, len(r)-1; x < y; x, y = x+1, y-1 {
			r[x], r[y] = r[y], r[x]
		}
		lines[i] = string(r)
	}
	return strings.Join(lines, "\n")
}

// trText applies simple `tr SET1 SET2` / `tr -d SET` to known text.
func trText(args []field, s string) (string, bool) {
	del := false
	var sets []string
	for _, f := range args {
		if f.dyn {
			return "", false
		}
		switch {
		case f.s == "-d":
			del = true
		case strings.HasPrefix(f.s, "-") && len(f.s) > 1:
			return "", false
		default:
			sets = append(sets, expandTrSet(f.s))
		}
	}
	if del && len(sets) == 1 {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(sets[0], r) {
				return -1
			}
			return r
		}, s), true
	}
	if del || len(sets) != 2 || sets[1] == "" {
		return "", false
	}
	from, to := []rune(sets[0]), []rune(sets[1])
	m := map[rune]rune{}
	for i, r := range from {
		if i < len(to) {
			m[r] = to[i]
		} else {
			m[r] = to[len(to)-1]
		}
	}
	return strings.Map(func(r rune) rune {
		if t, ok := m[r]; ok {
			return t
		}
		return r
	}, s), true
}

func expandTrSet(s string) string {
	switch s {
	case "[:lower:]":
		return "abcdefghijklmnopqrstuvwxyz"
	case "[:upper:]":
		return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	}
	r := []rune(s)
	var sb strings.Builder
	for i := 0; i < len(r); i++ {
		if i+2 < len(r) && r[i+1] == '-' && r[i] <= r[i+2] && r[i+2]-r[i] < 256 {
			for c := r[i]; c <= r[i+2]; c++ {
				sb.WriteRune(c)
			}
			i += 2
			continue
		}
		sb.WriteRune(r[i])
	}
	return sb.String()
}
