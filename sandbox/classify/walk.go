package classify

import (
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

func (a *analyzer) stmts(list []*syntax.Stmt, cx *ctx) {
	for _, s := range list {
		a.stmt(s, cx)
	}
}

// script parses code again (the string given to sh -c, eval, ssh, …) and analyses it.
func (a *analyzer) script(code string, cx *ctx) {
	if strings.TrimSpace(code) == "" {
		return
	}
	if !a.step(cx) {
		return
	}
	a.reparsed += len(code)
	if a.reparsed > maxReparse || len(code) > MaxCommandLen {
		a.add(cx, Dangerous, "too-complex", "runs a command string too long to analyse")
		return
	}
	f, err := a.parse(code)
	if err != nil {
		a.add(cx, Dangerous, "unparsable", "runs a command string that cannot be parsed: "+clip(collapseSpace(code), 80))
		return
	}
	c := cx.child()
	c.node, c.text = nil, ""
	a.stmts(f.Stmts, c)
}

// subs analyses the command and process substitutions anywhere inside n.
func (a *analyzer) subs(n syntax.Node, cx *ctx) {
	c := cx.child()
	c.stdin, c.node, c.text, c.via, c.redirs, c.env = nil, nil, "", "", nil, nil
	syntax.Walk(n, func(m syntax.Node) bool {
		switch m := m.(type) {
		case *syntax.CmdSubst:
			a.stmts(m.Stmts, c)
			return false
		case *syntax.ProcSubst:
			a.stmts(m.Stmts, c)
			return false
		}
		return true
	})
}

func (a *analyzer) subsWords(ws []*syntax.Word, cx *ctx) {
	for _, w := range ws {
		if w != nil {
			a.subs(w, cx)
		}
	}
}

func (a *analyzer) stmt(s *syntax.Stmt, cx *ctx) {
	if s == nil || !a.step(cx) {
		return
	}
	c := *cx
	c.node, c.text = s, ""
	c.redirs = s.Redirs
	a.redirects(s, &c)
	switch x := s.Cmd.(type) {
	case nil:
	case *syntax.CallExpr:
		a.call(x, &c)
	case *syntax.BinaryCmd:
		if x.Op == syntax.Pipe || x.Op == syntax.PipeAll {
			a.pipeline(x, &c)
			return
		}
		// flatten && / || chains iteratively
		var list []*syntax.Stmt
		cur := x
		for {
			list = append(list, cur.Y)
			l, ok := cur.X.Cmd.(*syntax.BinaryCmd)
			if !ok || (l.Op != syntax.AndStmt && l.Op != syntax.OrStmt) || len(cur.X.Redirs) > 0 || cur.X.Background || cur.X.Negated {
				list = append(list, cur.X)
				break
			}
			cur = l
		}
		for i := len(list) - 1; i >= 0; i-- {
			a.stmt(list[i], cx)
		}
	case *syntax.Subshell:
		saved := a.cwd
		a.stmts(x.Stmts, c.child())
		a.cwd = saved
	case *syntax.Block:
		a.stmts(x.Stmts, c.child())
	case *syntax.IfClause:
		ch := c.child()
		for cl := x; cl != nil; cl = cl.Else {
			a.stmts(cl.Cond, ch)
			a.stmts(cl.Then, ch)
		}
	case *syntax.WhileClause:
		ch := c.child()
		a.stmts(x.Cond, ch)
		a.stmts(x.Do, ch)
		a.endlessSpawn(x, &c)
	case *syntax.ForClause:
		ch := c.child()
		switch l := x.Loop.(type) {
		case *syntax.WordIter:
			a.subsWords(l.Items, &c)
			name := l.Name.Value
			vals := a.fieldsOf(l.Items)
			static := len(vals) > 0 && len(vals) <= 4 && a.loops < 2
			for _, v := range vals {
				if v.dyn || v.glob {
					static = false
				}
			}
			if static {
				a.loops++
				for _, v := range vals {
					a.vars[name] = v.s
					a.stmts(x.Do, ch)
				}
				a.loops--
			} else {
				delete(a.vars, name)
				a.stmts(x.Do, ch)
			}
		case *syntax.CStyleLoop:
			for _, e := range []syntax.ArithmExpr{l.Init, l.Cond, l.Post} {
				if e != nil {
					a.subs(e, &c)
				}
			}
			a.stmts(x.Do, ch)
		}
	case *syntax.CaseClause:
		ch := c.child()
		a.subs(x.Word, &c)
		for _, it := range x.Items {
			a.subsWords(it.Patterns, &c)
			a.stmts(it.Stmts, ch)
		}
	case *syntax.FuncDecl:
		a.funcDecl(x, &c)
	case *syntax.ArithmCmd:
		if x.X != nil {
			a.subs(x.X, &c)
		}
	case *syntax.TestClause:
		if x.X != nil {
			a.subs(x.X, &c)
		}
	case *syntax.DeclClause:
		a.decl(x, &c)
	case *syntax.LetClause:
		for _, e := range x.Exprs {
			if e != nil {
				a.subs(e, &c)
			}
		}
	case *syntax.TimeClause:
		a.stmt(x.Stmt, &c)
	case *syntax.CoprocClause:
		a.stmt(x.Stmt, &c)
	case *syntax.TestDecl:
		if x.Description != nil {
			a.subs(x.Description, &c)
		}
		a.stmt(x.Body, c.child())
	}
}

// pipeline analyses each stage with what the previous stages write as its stdin.
func (a *analyzer) pipeline(b *syntax.BinaryCmd, cx *ctx) {
	stages := flattenPipe(b)
	in := cx.stdin
	// a shell whose output goes to a network client: a reverse shell
	shellAt := -1
	for i, st := range stages {
		name, args := stageProg(st)
		switch {
		case shellNames[name] && !hasFlag(args, "c", "command"):
			shellAt = i
		case shellAt >= 0 && (name == "nc" || name == "ncat" || name == "netcat" || name == "socat" || name == "telnet" ||
			name == "openssl" && len(args) > 0 && args[0].s == "s_client"):
			c := *cx
			c.node = st
			a.add(&c, Dangerous, "reverse-shell", "connects a shell's input and output to a network connection")
			shellAt = -1
		}
	}
	for _, st := range stages {
		c := *cx
		c.stdin = in
		a.stmt(st, &c)
		in = a.stmtOutput(st, in)
		if in == nil {
			in = &source{}
		}
	}
}

// stageProg names the program a pipeline stage runs (after simple wrappers) and its arguments.
func stageProg(st *syntax.Stmt) (string, []field) {
	ce, ok := st.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 {
		return "", nil
	}
	var args []field
	for _, w := range ce.Args {
		args = append(args, lit(staticLit(w)))
	}
	args = stripWrappers(args)
	if len(args) == 0 {
		return "", nil
	}
	return normProg(baseName(args[0])), args[1:]
}

// redirects checks where a statement writes and analyses substitutions in redirection words and
// here-document bodies. It sets cx.stdin from here-documents, here-strings and < file.
func (a *analyzer) redirects(s *syntax.Stmt, cx *ctx) {
	// stdin first: here-documents may come after the output redirection (cat > f <<EOF)
	for _, r := range s.Redirs {
		if r.Word != nil {
			a.subs(r.Word, cx)
		}
		if r.Hdoc != nil {
			a.subs(r.Hdoc, cx)
		}
		switch r.Op {
		case syntax.Hdoc, syntax.DashHdoc:
			h := a.hdocString(r.Hdoc)
			cx.stdin = &source{text: h.s, known: true, dl: h.dl, dec: h.dec}
			a.scanText(h.s, cx)
		case syntax.WordHdoc:
			h := a.wordString(r.Word)
			cx.stdin = &source{text: h.s + "\n", known: true, dl: h.dl, dec: h.dec}
		case syntax.RdrIn:
			if r.N == nil || r.N.Value == "0" {
				f := a.wordString(r.Word)
				if f.psub {
					cx.stdin = &source{dl: f.dl, dec: f.dec}
					if f.psrc != nil && f.psrc.known {
						cx.stdin.text, cx.stdin.known = f.psrc.text, true
					}
				} else if t, ok := a.written[a.resolve(f.s)]; ok {
					cx.stdin = &source{text: t, known: true}
				} else {
					cx.stdin = &source{file: true}
					cx.stdin.secret, _ = a.credential(a.resolve(f.s))
				}
			}
		}
	}
	for _, r := range s.Redirs {
		switch r.Op {
		case syntax.RdrOut, syntax.AppOut, syntax.RdrAll, syntax.AppAll, syntax.RdrClob, syntax.AppClob,
			syntax.RdrAllClob, syntax.AppAllClob, syntax.RdrInOut, syntax.DplOut:
			f := a.wordString(r.Word)
			if r.Op == syntax.DplOut && (isFD(f.s) || f.s == "-") {
				continue
			}
			if ps := outProcSubst(r.Word); ps != nil {
				// cmd > >(sh): the process substitution reads the statement's output
				var src *source
				if ce, ok := s.Cmd.(*syntax.CallExpr); ok && len(ce.Args) > 0 {
					src = a.callOutput(a.fieldsOf(ce.Args), cx.stdin)
				} else if s.Cmd != nil {
					d1, d2 := a.nodeFlags(s.Cmd)
					src = &source{dl: d1, dec: d2}
				}
				c := cx.child()
				c.stdin, c.node, c.text = src, nil, ""
				a.stmts(ps.Stmts, c)
				continue
			}
			if f.psub {
				continue
			}
			verb := "writes to"
			if r.Op == syntax.AppOut || r.Op == syntax.AppAll || r.Op == syntax.AppAllClob {
				verb = "appends to"
			}
			a.recordWrite(s, r, f, cx)
			a.recordSecret(s, r, f, cx)
			if r.Op == syntax.RdrInOut {
				verb = "opens for writing"
			}
			a.writeTarget(f, cx, verb)
		}
	}
}

// recordWrite remembers the content of a file written by echo/printf/cat on this line, so that
// running it later (sh file, ./file, source file) is analysed.
func (a *analyzer) recordWrite(s *syntax.Stmt, r *syntax.Redirect, f field, cx *ctx) {
	if f.dyn || (r.N != nil && r.N.Value != "1") {
		return
	}
	ce, ok := s.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 {
		return
	}
	var in *source
	if cx.stdin != nil && cx.stdin.known {
		in = cx.stdin
	}
	out := a.callOutput(a.fieldsOf(ce.Args), in)
	if out == nil || !out.known {
		return
	}
	if a.written == nil {
		a.written = map[string]string{}
	}
	p := a.resolve(f.s)
	if r.Op == syntax.AppOut || r.Op == syntax.AppAll {
		a.written[p] += out.text
	} else {
		a.written[p] = out.text
	}
	if len(a.written[p]) > maxFieldLen {
		a.written[p] = a.written[p][:maxFieldLen]
	}
}

func isFD(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// writeTarget checks a path that a command writes to.
func (a *analyzer) writeTarget(f field, cx *ctx, verb string) {
	if f.dyn && !strings.HasPrefix(f.s, "/") && !strings.HasPrefix(f.s, "~") {
		return
	}
	p := a.resolve(f.s)
	switch {
	case p == "/proc/sysrq-trigger":
		a.add(cx, Hardline, "shutdown", "triggers a kernel SysRq action (reboot, crash or power-off)")
	case isBlockDevice(p):
		a.add(cx, Hardline, "disk-wipe", "overwrites the block device "+p)
	case isNetDev(p):
		// handled by the reverse-shell check of the command itself
	default:
		if what, ok := a.sensitiveWrite(p); ok {
			a.add(cx, Dangerous, "sensitive-write", verb+" "+what)
		}
	}
}

// funcDecl records a function, flags fork bombs, and analyses its body.
func (a *analyzer) funcDecl(fd *syntax.FuncDecl, cx *ctx) {
	var names []string
	if fd.Name != nil {
		names = append(names, fd.Name.Value)
	}
	for _, n := range fd.Names {
		names = append(names, n.Value)
	}
	if a.funcs == nil {
		a.funcs = map[string]*syntax.Stmt{}
	}
	for _, n := range names {
		if forkBomb(n, fd.Body) {
			c := *cx
			a.add(&c, Hardline, "fork-bomb", "defines a fork bomb (function "+n+" starts copies of itself in the background or a pipeline)")
		}
		a.funcs[n] = fd.Body
	}
	// analyse the body once with unknown arguments
	savedPos, savedSet := a.pos, a.posSet
	a.pos, a.posSet = nil, false
	a.stmt(fd.Body, cx.child())
	a.pos, a.posSet = savedPos, savedSet
}

// forkBomb reports whether a function body calls the function itself in a pipeline or in the
// background.
func forkBomb(name string, body *syntax.Stmt) bool {
	calls := func(n syntax.Node) bool {
		found := false
		syntax.Walk(n, func(m syntax.Node) bool {
			if found {
				return false
			}
			if ce, ok := m.(*syntax.CallExpr); ok && len(ce.Args) > 0 {
				v := staticLit(ce.Args[0])
				if v == name || (strings.Contains(v, "/") && v[strings.LastIndex(v, "/")+1:] == name) {
					found = true
				}
			}
			return true
		})
		return found
	}
	bomb := false
	syntax.Walk(body, func(m syntax.Node) bool {
		if bomb {
			return false
		}
		switch m := m.(type) {
		case *syntax.Stmt:
			if m.Background && m != body && calls(m) {
				bomb = true
			}
		case *syntax.BinaryCmd:
			if (m.Op == syntax.Pipe || m.Op == syntax.PipeAll) && (calls(m.X) || calls(m.Y)) {
				bomb = true
			}
		}
		return true
	})
	return bomb
}

// endlessSpawn flags `while true; do cmd & done`.
func (a *analyzer) endlessSpawn(w *syntax.WhileClause, cx *ctx) {
	endless := false
	if len(w.Cond) == 1 {
		if ce, ok := w.Cond[0].Cmd.(*syntax.CallExpr); ok && len(ce.Args) >= 1 {
			v := staticLit(ce.Args[0])
			switch {
			case !w.Until && (v == "true" || v == ":"):
				endless = true
			case w.Until && v == "false":
				endless = true
			}
		}
		if _, ok := w.Cond[0].Cmd.(*syntax.ArithmCmd); ok && !w.Until {
			p := strings.TrimSpace(a.printNode(w.Cond[0].Cmd))
			endless = p == "((1))"
		}
	}
	if !endless {
		return
	}
	for _, st := range w.Do {
		if st.Background {
			a.add(cx, Dangerous, "fork-bomb", "starts background processes in an endless loop")
			return
		}
	}
}

// decl handles export/declare/local/readonly/typeset.
func (a *analyzer) decl(d *syntax.DeclClause, cx *ctx) {
	for _, as := range d.Args {
		if as.Value != nil {
			a.subs(as.Value, cx)
		}
		if as.Array != nil {
			a.subs(as.Array, cx)
		}
	}
	a.assigns(d.Args, cx)
}

// assigns records variables with statically known values.
func (a *analyzer) assigns(list []*syntax.Assign, cx *ctx) {
	for _, as := range list {
		if as.Name == nil {
			continue
		}
		name := as.Name.Value
		if as.Array != nil && as.Index == nil && !as.Append {
			delete(a.vars, name)
			var elems []string
			ok := true
			for _, el := range as.Array.Elems {
				if el.Index != nil || el.Value == nil {
					ok = false
					break
				}
				for _, f := range a.fields(el.Value) {
					if f.dyn {
						ok = false
					}
					elems = append(elems, f.s)
				}
			}
			if a.arrays == nil {
				a.arrays = map[string][]string{}
			}
			if ok && len(elems) <= 256 {
				a.arrays[name] = elems
			} else {
				delete(a.arrays, name)
			}
			continue
		}
		delete(a.arrays, name)
		if as.Array != nil || as.Index != nil || as.Naked {
			if !as.Naked {
				delete(a.vars, name)
			}
			continue
		}
		f := a.wordString(as.Value)
		a.scanText(f.s, cx)
		if f.dyn || len(f.s) > maxVarLen {
			delete(a.vars, name)
			continue
		}
		if as.Append {
			prev, ok := a.vars[name]
			if !ok {
				continue
			}
			f.s = prev + f.s
		}
		if len(f.s) <= maxVarLen {
			a.vars[name] = f.s
		} else {
			delete(a.vars, name)
		}
	}
}

// call analyses a simple command.
func (a *analyzer) call(ce *syntax.CallExpr, cx *ctx) {
	for _, as := range ce.Assigns {
		if as.Value != nil {
			a.subs(as.Value, cx)
		}
		if as.Array != nil {
			a.subs(as.Array, cx)
		}
	}
	a.subsWords(ce.Args, cx)
	if len(ce.Args) == 0 {
		a.assigns(ce.Assigns, cx)
		return
	}
	if len(ce.Assigns) > 0 {
		env := map[string]string{}
		for k, v := range cx.env {
			env[k] = v
		}
		for _, as := range ce.Assigns {
			if as.Name == nil {
				continue
			}
			f := a.wordString(as.Value)
			a.scanText(f.s, cx)
			env[as.Name.Value] = f.s
		}
		cx.env = env
	}
	args := a.fieldsOf(ce.Args)
	if len(args) == 0 {
		return
	}
	// >(cmd) arguments: cmd reads what the program writes there (tee gets its stdin)
	for _, w := range ce.Args {
		if ps := outProcSubst(w); ps != nil {
			src := &source{}
			if d1, d2 := progFlags(args); d1 || d2 {
				src.dl, src.dec = d1, d2
			} else if name := baseName(args[0]); name == "tee" && cx.stdin != nil {
				src = cx.stdin
			}
			c := cx.child()
			c.stdin, c.node, c.text = src, nil, ""
			a.stmts(ps.Stmts, c)
		}
	}
	a.argv(args, cx)
}

// outProcSubst returns the >(…) a word consists of, if any.
func outProcSubst(w *syntax.Word) *syntax.ProcSubst {
	if w == nil || len(w.Parts) != 1 {
		return nil
	}
	if ps, ok := w.Parts[0].(*syntax.ProcSubst); ok && ps.Op == syntax.CmdOut {
		return ps
	}
	return nil
}
