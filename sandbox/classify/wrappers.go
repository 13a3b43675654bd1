package classify

import (
	"strings"
)

// joinCode joins fields into shell code (as sudo -s, ssh and watch do: words joined by spaces).
func joinCode(fs []field) string {
	var sb strings.Builder
	for i, f := range fs {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(f.code())
	}
	return sb.String()
}

func anyFlag(fs []field, get func(field) bool) bool {
	for _, f := range fs {
		if get(f) {
			return true
		}
	}
	return false
}

// codeString analyses a field holding shell code (sh -c, eval, trap, su -c, …).
func (a *analyzer) codeString(f field, cx *ctx, what string) {
	if f.dl {
		a.add(cx, Dangerous, "pipe-to-shell", "runs code downloaded by a command substitution ("+what+")")
	}
	if f.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs decoded (obfuscated) code ("+what+")")
	}
	if f.psub && f.psrc != nil && f.psrc.known {
		a.script(f.psrc.code(), cx)
	}
	a.script(f.code(), cx)
}

// withPos runs fn with the positional parameters set (pos[0] is $0).
func (a *analyzer) withPos(pos []field, fn func()) {
	savedPos, savedSet := a.pos, a.posSet
	a.pos, a.posSet = pos, true
	fn()
	a.pos, a.posSet = savedPos, savedSet
}

// stdinCode handles a shell (or at, ssh, …) that reads commands from stdin.
func (a *analyzer) stdinCode(name string, cx *ctx, interactive bool) {
	in := cx.stdin
	if in == nil {
		if cx.sudo {
			a.add(cx, Dangerous, "sudo-shell", "opens a root shell")
		}
		return
	}
	if in.dl {
		a.add(cx, Dangerous, "pipe-to-shell", "pipes a download into "+name)
	}
	if in.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs decoded (obfuscated) commands with "+name)
	}
	if in.known {
		if strings.Contains(in.text, dynMark) && !in.dl && !in.dec {
			a.add(cx, Dangerous, "pipe-to-shell", "pipes commands only known at run time into "+name)
		}
		c := cx.child()
		c.stdin = nil
		a.script(in.code(), c)
		if in.alt != "" {
			a.script(strings.ReplaceAll(in.alt, dynMark, dynWord), c)
		}
		return
	}
	if in.file || in.dl || in.dec {
		return
	}
	a.add(cx, Dangerous, "pipe-to-shell", "pipes generated commands into "+name)
}

// scriptFile handles a shell or `source` running a script file.
func (a *analyzer) scriptFile(f field, cx *ctx, lang string) {
	if f.dl {
		a.add(cx, Dangerous, "pipe-to-shell", "runs a downloaded script ("+lang+" <(curl …))")
	}
	if f.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs a decoded (obfuscated) script with "+lang)
	}
	if f.psub && f.psrc != nil && f.psrc.known {
		if lang == "shell" {
			a.script(f.psrc.code(), cx)
		} else {
			a.inlineCode(lang, field{s: f.psrc.text}, cx)
		}
	}
	if a.downloads[a.resolve(f.s)] {
		a.add(cx, Dangerous, "pipe-to-shell", "runs a script downloaded earlier in the same command")
	}
	if t, ok := a.written[a.resolve(f.s)]; ok {
		if lang == "shell" {
			a.script(t, cx)
		} else {
			a.inlineCode(lang, field{s: t}, cx)
		}
	}
}

func (a *analyzer) sudo(name string, args []field, cx *ctx) {
	rest := args[1:]
	c := cx.child()
	c.sudo = true
	var o opts
	switch name {
	case "sudo", "please":
		o = opts{short: "ugpChDrtTUR", long: longSet("user", "group", "prompt", "close-from", "host",
			"chdir", "role", "type", "command-timeout", "other-user", "chroot")}
	case "doas":
		o = opts{short: "uC"}
	default:
		o = opts{short: "u", long: longSet("user", "unit", "property", "description", "slice", "setenv", "chdir", "machine")}
	}
	i := skipOpts(rest, 0, o)
	flags := rest[:i]
	cmd := rest[i:]
	shellMode := hasFlag(flags, "si", "shell", "login")
	if name == "sudo" && hasFlag(flags, "S", "stdin") {
		a.add(cx, Dangerous, "sudo-shell", "feeds the sudo password on stdin (sudo -S)")
	}
	if name == "sudo" && hasFlag(flags, "e", "edit") {
		for _, f := range cmd {
			a.writeTarget(f, cx, "edits")
		}
		return
	}
	if len(cmd) == 0 {
		if shellMode {
			a.add(cx, Dangerous, "sudo-shell", "opens a root shell ("+name+" -s / -i)")
		}
		return
	}
	if shellMode {
		a.script(joinCode(cmd), c)
		return
	}
	a.argv(cmd, c)
}

func (a *analyzer) env(args []field, cx *ctx) {
	rest := args[1:]
	c := cx.child()
	env := map[string]string{}
	for k, v := range cx.env {
		env[k] = v
	}
	i := 0
loop:
	for i < len(rest) {
		f := rest[i]
		s := f.s
		switch {
		case s == "--":
			i++
			break loop
		case s == "-u" || s == "--unset" || s == "-C" || s == "--chdir" || s == "-P":
			i += 2
		case s == "-S" || s == "--split-string":
			if i+1 < len(rest) {
				c.env = env
				a.script(rest[i+1].code()+" "+joinCode(rest[i+2:]), c)
			}
			return
		case strings.HasPrefix(s, "--split-string="):
			c.env = env
			a.script(strings.TrimPrefix(f.code(), "--split-string=")+" "+joinCode(rest[i+1:]), c)
			return
		case strings.HasPrefix(s, "-S") && !strings.HasPrefix(s, "--"):
			c.env = env
			a.script(f.code()[2:]+" "+joinCode(rest[i+1:]), c)
			return
		case strings.HasPrefix(s, "-") && !f.dyn:
			i++
		case strings.Contains(s, "=") && !strings.HasPrefix(s, "="):
			k, v, _ := strings.Cut(s, "=")
			env[k] = v
			i++
		default:
			break loop
		}
	}
	c.env = env
	a.argv(rest[min(i, len(rest)):], c)
}

// wrapper handles programs that run another program given as arguments.
func (a *analyzer) wrapper(name string, args []field, cx *ctx) {
	rest := args[1:]
	skip := func(o opts) []field { return rest[skipOpts(rest, 0, o):] }
	afterOperand := func(o opts, n int) []field {
		r := skip(o)
		if len(r) < n {
			return nil
		}
		return r[n:]
	}
	c := cx.child()
	switch name {
	case "time":
		a.argv(skip(opts{short: "fo", long: longSet("format", "output")}), c)
	case "command":
		if hasFlag(rest, "vV") {
			return
		}
		a.argv(skip(opts{}), c)
	case "exec":
		r := skip(opts{short: "a"})
		if len(r) == 0 && a.netRedirect(cx) {
			a.add(cx, Dangerous, "reverse-shell", "opens a network socket as a file descriptor (exec …<>/dev/tcp), as reverse shells do")
		}
		a.argv(r, c)
	case "stdbuf":
		a.argv(skip(opts{short: "ioe", long: longSet("input", "output", "error")}), c)
	case "strace", "ltrace", "valgrind":
		if hasFlag(rest, "p", "attach") {
			return
		}
		a.argv(skip(opts{short: "oeEpPsSuaIbOXnlDLFwA", long: longSet("output", "trace", "signal", "string-limit", "user")}), c)
	case "taskset":
		if hasFlag(rest, "p", "pid") {
			return
		}
		a.argv(afterOperand(opts{}, 1), c)
	case "chrt":
		if hasFlag(rest, "p", "pid") {
			return
		}
		a.argv(afterOperand(opts{short: "TPD", long: longSet("sched-runtime", "sched-period", "sched-deadline")}, 1), c)
	case "gosu", "su-exec", "faketime":
		a.argv(afterOperand(opts{short: "f"}, 1), c)
	case "chpst":
		a.argv(skip(opts{short: "uUe/nlLmdopfcr"}), c)
	case "sshpass":
		a.argv(skip(opts{short: "pfdP"}), c)
	case "systemd-run":
		a.argv(skip(opts{short: "pEMHu", long: longSet("unit", "property", "description", "slice", "uid", "gid",
			"nice", "working-directory", "setenv", "machine", "host", "on-active", "on-calendar", "on-boot",
			"on-startup", "on-unit-active", "on-unit-inactive", "timer-property", "path-property", "socket-property",
			"service-type", "expand-environment")}), c)
	case "nsenter":
		a.argv(skip(opts{short: "tSGwrlL", long: longSet("target", "setuid", "setgid", "wd", "root", "env")}), c)
	case "unshare", "firejail", "eatmydata", "nocache", "fakeroot", "catchsegv", "torsocks", "tsocks",
		"nohup", "builtin", "setsid", "unbuffer", "dbus-run-session", "dbus-launch", "doit", "primusrun",
		"optirun", "prime-run", "systemd-inhibit", "chronic", "flatpak-spawn", "cgexec":
		o := opts{short: "ls", long: longSet("config-file", "what", "who", "why", "mode", "map-user", "map-group")}
		if name == "cgexec" {
			o = opts{short: "g"}
		}
		if name == "fakeroot" {
			o = opts{short: "lsi"}
		}
		a.argv(skip(o), c)
	case "proxychains", "proxychains4":
		a.argv(skip(opts{short: "f"}), c)
	case "caffeinate":
		a.argv(skip(opts{short: "tw"}), c)
	case "xvfb-run":
		a.argv(skip(opts{short: "nsefpw", long: longSet("server-num", "server-args", "error-file", "xauth-protocol", "wait", "auth-file")}), c)
	case "numactl":
		a.argv(skip(opts{short: "CNmpiPl", long: longSet("cpunodebind", "membind", "preferred", "interleave", "physcpubind")}), c)
	case "ssh-agent":
		a.argv(skip(opts{short: "aEPt"}), c)
	case "sg":
		r := skip(opts{})
		if len(r) > 1 && r[1].s == "-c" && len(r) > 2 {
			a.codeString(r[2], c, "sg -c")
			return
		}
		if len(r) > 1 {
			a.argv(r[1:], c)
		}
	case "runuser":
		if i := findOpt(rest, "c", "command"); i >= 0 {
			a.add(cx, Dangerous, "sudo-shell", "runs a command as another user (runuser)")
			a.codeString(rest[i], c, "runuser -c")
			return
		}
		r := skip(opts{short: "ugGsw", long: longSet("user", "group", "supp-group", "shell", "whitelist-environment")})
		if len(r) == 0 {
			a.add(cx, Dangerous, "sudo-shell", "opens a shell as another user (runuser)")
		}
		a.argv(r, c)
	case "flock", "lockf", "with-lock":
		if i := findOpt(rest, "c", "command"); i >= 0 {
			a.codeString(rest[i], c, name+" -c")
			return
		}
		a.argv(afterOperand(opts{short: "wEt", long: longSet("timeout", "wait", "conflict-exit-code")}, 1), c)
	case "script":
		if i := findOpt(rest, "c", "command"); i >= 0 {
			a.codeString(rest[i], c, "script -c")
		}
	case "timeout":
		a.argv(afterOperand(opts{short: "sk", long: longSet("signal", "kill-after")}, 1), c)
	case "nice":
		a.argv(skip(opts{short: "n", long: longSet("adjustment")}), c)
	case "direnv":
		if len(rest) > 2 && rest[0].s == "exec" {
			a.argv(rest[2:], c)
		}
	case "uv":
		if len(rest) > 0 && rest[0].s == "pip" {
			a.pkg("pip", rest, cx)
			return
		}
		if len(rest) > 0 && rest[0].s == "run" {
			a.argv(rest[1:][skipOpts(rest[1:], 0, opts{short: "pw", long: longSet("with", "python", "project", "directory",
				"package", "extra", "group", "env-file", "index", "index-url", "from", "with-requirements", "only-group")}):], c)
		}
	case "poetry", "pipenv", "pdm", "hatch", "rye", "pixi", "devbox", "bundle", "toolbox":
		if len(rest) > 0 && (rest[0].s == "run" || rest[0].s == "exec") {
			a.argv(rest[1:][skipOpts(rest[1:], 0, opts{short: "ec", long: longSet("environment", "container", "env")}):], c)
		}
	case "npx":
		if i := findOpt(rest, "c", "call"); i >= 0 {
			a.codeString(rest[i], c, "npx -c")
			return
		}
		a.argv(skip(opts{short: "p", long: longSet("package")}), c)
	case "npm":
		if len(rest) > 0 && (rest[0].s == "exec" || rest[0].s == "x") {
			if i := findOpt(rest, "c", "call"); i >= 0 {
				a.codeString(rest[i], c, "npm exec -c")
				return
			}
			a.argv(rest[1:][skipOpts(rest[1:], 0, opts{long: longSet("package")}):], c)
			return
		}
		a.pkg("npm", args, cx)
	case "conda", "mamba", "micromamba":
		if len(rest) > 0 && rest[0].s == "run" {
			a.argv(rest[1:][skipOpts(rest[1:], 0, opts{short: "np", long: longSet("name", "prefix", "cwd")}):], c)
			return
		}
		a.pkg("conda", args, cx)
	case "nix-shell":
		if i := findOpt(rest, "", "run", "command"); i >= 0 {
			a.codeString(rest[i], c, "nix-shell --run")
		}
	case "nix":
		for i, f := range rest {
			if f.s == "-c" || f.s == "--command" {
				a.argv(rest[i+1:], c)
				return
			}
		}
	case "distrobox-enter":
		for i, f := range rest {
			if f.s == "--" || f.s == "-e" || f.s == "--exec" {
				a.argv(rest[i+1:], c)
				return
			}
		}
	case "busybox", "toybox":
		a.argv(rest, c)
	case "chroot":
		r := skip(opts{long: longSet("userspec", "groups")})
		if len(r) == 0 {
			return
		}
		if a.resolve(r[0].s) != "/" || r[0].dyn {
			c.container = "chroot"
		}
		if len(r) == 1 {
			return
		}
		a.argv(r[1:], c)
	case "watch":
		if hasFlag(rest, "x", "exec") {
			a.argv(skip(opts{short: "nq", long: longSet("interval", "equexit")}), c)
			return
		}
		a.script(joinCode(skip(opts{short: "nq", long: longSet("interval", "equexit")})), c)
	case "xargs":
		a.xargs(args, cx)
	case "parallel":
		a.parallel(args, cx)
	case "find":
		a.find(args, cx)
	case "fd", "fdfind":
		for i, f := range rest {
			if f.s == "-x" || f.s == "--exec" || f.s == "-X" || f.s == "--exec-batch" {
				cmd := rest[i+1:]
				for j, g := range cmd {
					if g.s == ";" {
						cmd = cmd[:j]
						break
					}
				}
				c.via = "find"
				c.stdin = nil
				a.argv(cmd, c)
				return
			}
		}
	}
}

// findOpt returns the index of the value of option -letter / --long (or --long=…, folded into
// the returned field), or -1.
func findOpt(args []field, letter string, long ...string) int {
	for i, f := range args {
		s := f.s
		if s == "--" {
			return -1
		}
		for _, l := range long {
			if s == "--"+l && i+1 < len(args) {
				return i + 1
			}
			if strings.HasPrefix(s, "--"+l+"=") {
				args[i] = field{s: s[len(l)+3:], disp: s[len(l)+3:], dyn: f.dyn, dl: f.dl, dec: f.dec}
				return i
			}
		}
		if letter != "" && len(s) > 1 && s[0] == '-' && s[1] != '-' && strings.HasSuffix(s, letter) && i+1 < len(args) {
			return i + 1
		}
	}
	return -1
}

var shellNames = map[string]bool{"sh": true, "bash": true, "zsh": true, "dash": true, "ksh": true,
	"mksh": true, "ash": true, "fish": true, "tcsh": true, "csh": true, "yash": true, "posh": true,
	"rbash": true, "oksh": true, "loksh": true, "pdksh": true, "elvish": true, "nu": true, "xonsh": true}

func (a *analyzer) netRedirect(cx *ctx) bool {
	for _, r := range cx.redirs {
		if r.Word == nil {
			continue
		}
		if isNetDev(a.resolve(a.wordString(r.Word).s)) {
			return true
		}
	}
	return false
}

func (a *analyzer) shell(name string, args []field, cx *ctx) {
	rest := args[1:]
	if a.netRedirect(cx) {
		a.add(cx, Dangerous, "reverse-shell", "connects a shell to a network socket (/dev/tcp)")
	}
	cmdMode, stdinMode := false, false
	i := 0
loop:
	for ; i < len(rest); i++ {
		f := rest[i]
		s := f.s
		if f.dyn {
			break
		}
		switch {
		case s == "--":
			i++
			break loop
		case s == "-":
			i++
			stdinMode = true
			break loop
		case strings.HasPrefix(s, "--"):
			switch {
			case s == "--rcfile" || s == "--init-file":
				i++
			case s == "--command" && name == "fish":
				cmdMode = true
			case strings.HasPrefix(s, "--command=") && name == "fish":
				rest[i] = field{s: s[len("--command="):]}
				cmdMode = true
				break loop
			}
		case len(s) > 1 && (s[0] == '-' || s[0] == '+'):
			for _, ch := range s[1:] {
				switch ch {
				case 'c':
					cmdMode = true
				case 's':
					stdinMode = true
				case 'o', 'O':
					i++
				}
			}
		default:
			break loop
		}
	}
	var ops []field
	if i < len(rest) {
		ops = rest[i:]
	}
	if cmdMode {
		if len(ops) == 0 {
			return
		}
		pos := []field{lit(name)}
		if len(ops) > 1 {
			pos = ops[1:]
		}
		a.withPos(pos, func() { a.codeString(ops[0], cx, name+" -c") })
		return
	}
	if !stdinMode && len(ops) > 0 && ops[0].s != "/dev/stdin" {
		a.scriptFile(ops[0], cx, "shell")
		return
	}
	if cx.stdin == nil && cx.sudo {
		a.add(cx, Dangerous, "sudo-shell", "opens a root shell ("+name+")")
		return
	}
	a.stdinCode(name, cx, false)
}

func (a *analyzer) evalCmd(args []field, cx *ctx) {
	rest := args[1:]
	if len(rest) > 0 && rest[0].s == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return
	}
	f := field{s: joinCode(rest), dl: anyFlag(rest, func(f field) bool { return f.dl }),
		dec: anyFlag(rest, func(f field) bool { return f.dec })}
	if f.dl {
		a.add(cx, Dangerous, "pipe-to-shell", "runs code downloaded by a command substitution (eval)")
	}
	if f.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs decoded (obfuscated) code (eval)")
	}
	a.script(f.s, cx)
}

func (a *analyzer) sourceCmd(args []field, cx *ctx) {
	rest := args[1:]
	if len(rest) > 0 && rest[0].s == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return
	}
	if rest[0].s == "/dev/stdin" || rest[0].s == "-" {
		a.stdinCode("source", cx, false)
		return
	}
	a.withPos(append([]field{lit("source")}, rest[1:]...), func() { a.scriptFile(rest[0], cx, "shell") })
}

func (a *analyzer) interpreter(name string, args []field, cx *ctx) {
	rest := args[1:]
	var code []field

	module := ""
	var margs []field
	stdin := false
	inplace := false
	codeOpts, valOpts := "", ""
	var codeLong, valLong []string
	switch name {
	case "python", "pypy":
		codeOpts, valOpts = "c", "mWX"
	case "perl":
		codeOpts, valOpts = "eE", "IMmxCd"
	case "ruby", "irb":
		codeOpts, valOpts = "e", "rICEFx"
	case "node", "nodejs", "bun":
		codeOpts, valOpts = "ep", "rC"
		codeLong, valLong = []string{"eval", "print"}, []string{"require", "import", "loader", "input-type", "conditions"}
	case "deno":
		if len(rest) > 0 && rest[0].s == "eval" {
			if len(rest) > 1 {
				a.inlineCode(name, rest[len(rest)-1], cx)
			}
			return
		}
		if len(rest) > 0 && rest[0].s == "run" {
			for _, f := range rest[1:] {
				if strings.HasPrefix(f.s, "http://") || strings.HasPrefix(f.s, "https://") {
					a.add(cx, Dangerous, "pipe-to-shell", "runs a script straight from the network (deno run URL)")
				}
			}
		}
		return
	case "php":
		codeOpts, valOpts = "rBRE", "cdfFz"
	case "lua", "luajit":
		codeOpts, valOpts = "e", "l"
	case "osascript":
		codeOpts, valOpts = "e", "l"
	case "tclsh", "wish", "jshell", "julia", "rscript", "groovy":
		codeOpts = "e"
	case "pwsh", "powershell":
		for i, f := range rest {
			l := strings.ToLower(f.s)
			switch {
			case l == "-encodedcommand" || l == "-enc" || l == "-e" || l == "-ec" || l == "-en" || l == "-encoded":
				a.add(cx, Dangerous, "pipe-to-shell", "runs a base64-encoded PowerShell command")
				return
			case l == "-c" || l == "-command" || l == "-co" || l == "-com":
				a.inlineCode("PowerShell", field{s: joinCode(rest[i+1:]), dl: anyFlag(rest[i+1:], func(f field) bool { return f.dl })}, cx)
				return
			case l == "-file" || l == "-f":
				if i+1 < len(rest) {
					a.scriptFile(rest[i+1], cx, "PowerShell")
				}
				return
			}
		}
		return
	}
	i := 0
loop:
	for i < len(rest) {
		f := rest[i]
		s := f.s
		if f.dyn || len(s) < 2 || s[0] != '-' {
			if s == "-" {
				stdin = true
				i++
				break loop
			}
			break
		}
		if s == "--" {
			i++
			break
		}
		if strings.HasPrefix(s, "--") {
			n, v, hasV := strings.Cut(s[2:], "=")
			switch {
			case contains(codeLong, n):
				if hasV {
					code = append(code, field{s: v, dl: f.dl, dec: f.dec})
				} else if i+1 < len(rest) {
					code = append(code, rest[i+1])
					i++
				}
			case contains(valLong, n) && !hasV:
				i++
			}
			i++
			continue
		}
		i++
		for j := 1; j < len(s); j++ {
			ch := s[j]
			if name == "python" || name == "pypy" {
				if ch == 'm' {
					if j+1 < len(s) {
						module = s[j+1:]
						margs = rest[i:]
					} else if i < len(rest) {
						module = rest[i].s
						margs = rest[i+1:]
					}
					break loop
				}
				if ch == 'c' {
					if j+1 < len(s) {
						code = append(code, field{s: s[j+1:], dl: f.dl, dec: f.dec})
					} else if i < len(rest) {
						code = append(code, rest[i])
					}
					break loop // the rest are sys.argv
				}
			}
			if ch == 'i' && (name == "perl" || name == "ruby") {
				inplace = true
				break // the rest of the cluster is the backup suffix
			}
			if strings.IndexByte(codeOpts, ch) >= 0 {
				if j+1 < len(s) {
					code = append(code, field{s: s[j+1:], dl: f.dl, dec: f.dec})
				} else if i < len(rest) {
					code = append(code, rest[i])
					i++
				}
				break
			}
			if strings.IndexByte(valOpts, ch) >= 0 {
				if j+1 == len(s) {
					i++
				}
				break
			}
		}
	}
	ops := rest[min(i, len(rest)):]
	switch {
	case module != "":
		switch module {
		case "pip", "pip3", "pipx":
			a.pkg("pip", append([]field{lit("pip")}, margs...), cx)
		case "http.server", "SimpleHTTPServer":
			a.httpServer(margs, cx)
		}
		return
	case len(code) > 0:
		for _, cf := range code {
			a.inlineCode(name, cf, cx)
		}
		if inplace {
			for _, f := range ops {
				a.writeTarget(f, cx, "edits")
			}
		}
		return
	case stdin:
	case len(ops) > 0:
		a.scriptFile(ops[0], cx, name)
		return
	}
	// code from stdin
	in := cx.stdin
	if in == nil {
		return
	}
	if in.dl {
		a.add(cx, Dangerous, "pipe-to-shell", "pipes a download into "+name)
	}
	if in.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs decoded (obfuscated) code with "+name)
	}
	if in.known {
		a.inlineCode(name, field{s: in.text}, cx)
		return
	}
	if !in.file && !in.dl && !in.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "pipes generated code into "+name)
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func (a *analyzer) awk(args []field, cx *ctx) {
	rest := args[1:]
	hasFile := false
	var prog []field
	i := 0
	for i < len(rest) {
		s := rest[i].s
		switch {
		case s == "--":
			i++
			goto done
		case s == "-f" || s == "--file":
			hasFile = true
			i += 2
		case s == "-e" || s == "--source":
			if i+1 < len(rest) {
				prog = append(prog, rest[i+1])
			}
			i += 2
		case s == "-F" || s == "-v" || s == "--assign" || s == "--field-separator":
			i += 2
		case strings.HasPrefix(s, "-") && len(s) > 1 && !rest[i].dyn:
			i++
		default:
			goto done
		}
	}
done:
	if !hasFile && len(prog) == 0 && i < len(rest) {
		prog = append(prog, rest[i])
	}
	for _, p := range prog {
		a.inlineCode("awk", p, cx)
	}
}

var sshValOpts = opts{short: "BbcDEeFIiJLlmOoPpQRSWw"}

func (a *analyzer) ssh(args []field, cx *ctx) {
	rest := args[1:]
	// -o ProxyCommand=… and LocalCommand run locally
	for i, f := range rest {
		if f.s == "-o" && i+1 < len(rest) || strings.HasPrefix(f.s, "-o") && len(f.s) > 2 {
			v := f.s[2:]
			if f.s == "-o" {
				v = rest[i+1].s
			}
			k, val, ok := strings.Cut(v, "=")
			if !ok {
				k, val, _ = strings.Cut(v, " ")
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "proxycommand", "localcommand", "knownhostscommand":
				a.script(val, cx)
			}
		}
	}
	i := skipOpts(rest, 0, sshValOpts)
	a.sshRemoteForward(rest[:min(i, len(rest))], cx)
	if i >= len(rest) {
		return
	}
	remote := rest[i+1:]
	c := cx.child()
	if len(remote) == 0 {
		if cx.stdin != nil && (cx.stdin.known || cx.stdin.dl || cx.stdin.dec) {
			a.stdinCode("ssh", cx, false)
		}
		return
	}
	a.codeString(field{s: joinCode(remote), dl: anyFlag(remote, func(f field) bool { return f.dl }),
		dec: anyFlag(remote, func(f field) bool { return f.dec })}, c, "ssh")
}

func (a *analyzer) su(args []field, cx *ctx) {
	rest := args[1:]
	c := cx.child()
	c.sudo = true
	user := "root"
	if ops := operands(rest, opts{short: "cgGsw", long: longSet("command", "group", "supp-group", "shell",
		"whitelist-environment", "session-command")}); len(ops) > 0 && ops[0].s != "-" {
		user = ops[0].show()
	}
	if user == "root" {
		a.add(cx, Dangerous, "sudo-shell", "switches to root (su)")
	} else {
		a.add(cx, Dangerous, "sudo-shell", "switches to the user "+user+" (su)")
	}
	if i := findOpt(rest, "c", "command", "session-command"); i >= 0 {
		a.codeString(rest[i], c, "su -c")
	}
}

func (a *analyzer) tmux(args []field, cx *ctx) {
	rest := args[1:]
	c := cx.child()
	if i := findOpt(rest, "c", ""); i >= 0 && (len(rest) == 0 || rest[0].s == "-c") {
		a.codeString(rest[i], c, "tmux -c")
		return
	}
	i := skipOpts(rest, 0, opts{short: "LSfT"})
	if i >= len(rest) {
		return
	}
	sub := rest[i].s
	r := rest[i+1:]
	switch sub {
	case "new", "new-session", "new-window", "neww", "split-window", "splitw", "respawn-pane", "respawnp",
		"respawn-window", "respawnw", "run-shell", "run", "display-popup", "popup":
		o := opts{short: "ceFfnstxyl"}
		switch sub {
		case "run-shell", "run":
			o = opts{short: "cdt"}
		case "display-popup", "popup":
			o = opts{short: "bcdehsStTwxy"}
		}
		ops := operands(r, o)
		if len(ops) > 0 {
			a.codeString(field{s: joinCode(ops)}, c, "tmux "+sub)
		}
	case "send-keys", "send":
		ops := operands(r, opts{short: "NtT"})
		var parts []field
		for _, f := range ops {
			switch f.s {
			case "Enter", "C-m", "KPEnter", "C-j", "Space", "Tab", "Escape", "C-c", "C-d":
				continue
			}
			parts = append(parts, f)
		}
		if len(parts) > 0 {
			a.codeString(field{s: joinCode(parts)}, c, "tmux send-keys")
		}
	}
}

var dockerRunOpts = opts{short: "acehlmpuvw", long: longSet("add-host", "annotation", "attach", "blkio-weight",
	"blkio-weight-device", "cap-add", "cap-drop", "cgroup-parent", "cgroupns", "cidfile", "cpu-period",
	"cpu-quota", "cpu-rt-period", "cpu-rt-runtime", "cpu-shares", "cpus", "cpuset-cpus", "cpuset-mems",
	"detach-keys", "device", "device-cgroup-rule", "device-read-bps", "device-read-iops", "device-write-bps",
	"device-write-iops", "dns", "dns-option", "dns-search", "domainname", "entrypoint", "env", "env-file",
	"expose", "gpus", "group-add", "health-cmd", "health-interval", "health-retries", "health-start-period",
	"health-timeout", "hostname", "ip", "ip6", "ipc", "isolation", "kernel-memory", "label", "label-file",
	"link", "link-local-ip", "log-driver", "log-opt", "mac-address", "memory", "memory-reservation",
	"memory-swap", "memory-swappiness", "mount", "name", "network", "net", "network-alias", "oom-score-adj",
	"pid", "pids-limit", "platform", "publish", "pull", "restart", "runtime", "security-opt", "shm-size",
	"stop-signal", "stop-timeout", "storage-opt", "sysctl", "tmpfs", "ulimit", "user", "userns", "uts",
	"volume", "volume-driver", "volumes-from", "workdir", "health-start-interval", "use-api-socket")}

var dockerExecOpts = opts{short: "euw", long: longSet("env", "env-file", "user", "workdir", "detach-keys")}

func (a *analyzer) docker(name string, args []field, cx *ctx) {
	rest := args[1:]
	remote := ""
	i := 0
	for i < len(rest) {
		s := rest[i].s
		switch {
		case s == "-H" || s == "--host" || s == "-c" || s == "--context":
			if i+1 < len(rest) && rest[i+1].s != "default" {
				remote = s + " " + rest[i+1].show()
			}
			i += 2
			continue
		case strings.HasPrefix(s, "--host=") || strings.HasPrefix(s, "--context=") || (strings.HasPrefix(s, "-H") && len(s) > 2):
			if !strings.HasSuffix(s, "=default") {
				remote = s
			}
			i++
			continue
		case s == "--config" || s == "-l" || s == "--log-level" || s == "--tlscacert" || s == "--tlscert" || s == "--tlskey":
			i += 2
			continue
		case strings.HasPrefix(s, "-") && len(s) > 1:
			i++
			continue
		}
		break
	}
	for _, k := range []string{"DOCKER_HOST", "DOCKER_CONTEXT", "CONTAINER_HOST"} {
		if v, ok := cx.env[k]; ok && v != "" {
			remote = k + "=" + v
		} else if v, ok := a.vars[k]; ok && v != "" {
			remote = k + "=" + v
		}
	}
	if remote != "" && strings.HasPrefix(name, "docker") {
		a.add(cx, Dangerous, "docker-remote", "talks to another Docker daemon ("+clip(remote, 80)+")")
	}
	if i >= len(rest) {
		return
	}
	sub := rest[i:]
	if name == "docker-compose" {
		sub = append([]field{lit("compose")}, sub...)
	}
	verb := sub[0].s
	arg1 := ""
	if len(sub) > 1 {
		arg1 = sub[1].s
	}
	dynOps := func(fs []field) bool {
		for _, f := range fs {
			if f.dyn && (strings.Contains(f.disp, "$(") || strings.Contains(f.disp, "`")) {
				return true
			}
		}
		return cx.via == "xargs"
	}
	switch verb {
	case "context":
		if arg1 == "use" {
			a.add(cx, Dangerous, "docker-remote", "switches the default Docker context")
		}
	case "system":
		if arg1 == "prune" {
			a.add(cx, Dangerous, "docker-prune", "deletes stopped containers, unused networks, images and build cache (docker system prune)")
		}
	case "volume":
		if arg1 == "prune" || arg1 == "rm" || arg1 == "remove" {
			a.add(cx, Dangerous, "docker-prune", "deletes Docker volumes and the data in them")
		}
	case "image", "container", "network", "builder", "buildx":
		if arg1 == "prune" && (verb != "image" || hasFlag(sub[2:], "a", "all")) {
			a.add(cx, Dangerous, "docker-prune", "deletes Docker "+verb+"s (docker "+verb+" prune)")
		}
	case "rm", "rmi", "kill":
		if (hasFlag(sub[1:], "f", "force") || verb == "kill") && dynOps(sub[1:]) {
			a.add(cx, Dangerous, "docker-prune", "force-removes every container or image listed at run time (docker "+verb+" $(…))")
		}
	case "compose":
		for j, f := range sub {
			if f.s == "down" && (hasFlag(sub[j+1:], "v", "volumes") || hasFlag(sub[j+1:], "", "rmi")) {
				a.add(cx, Dangerous, "docker-prune", "deletes the project's volumes or images (docker compose down -v)")
			}
		}
	case "run", "create":
		r := sub[1:]
		for j, f := range r {
			s := f.s
			if s == "--" {
				break
			}
			if s == "--privileged" || s == "--privileged=true" {
				a.add(cx, Dangerous, "docker-privileged", "starts a privileged container (full access to the host)")
			}
			var v string
			switch {
			case (s == "-v" || s == "--volume" || s == "--mount") && j+1 < len(r):
				v = r[j+1].s
			case strings.HasPrefix(s, "--volume=") || strings.HasPrefix(s, "--mount="):
				_, v, _ = strings.Cut(s, "=")
			case strings.HasPrefix(s, "-v") && len(s) > 2 && s[2] != '-':
				v = s[2:]
			}
			if v != "" {
				host := strings.Split(v, ":")[0]
				for _, kv := range strings.Split(v, ",") {
					if k, val, ok := strings.Cut(kv, "="); ok && (k == "source" || k == "src") {
						host = val
					}
				}
				hp := a.resolve(host)
				if hp == "/" || hp == "/etc" || hp == "/root" || hp == "/boot" || hp == "/usr" || hp == "/var" || hp == "/dev" || hp == "/proc" || hp == "/sys" {
					a.add(cx, Dangerous, "docker-privileged", "mounts the host's "+hp+" into a container")
				} else if what, ok := a.sensitiveWrite(hp); ok && strings.HasPrefix(hp, "/") {
					a.add(cx, Dangerous, "docker-privileged", "mounts "+what+" into a container")
				}
			}
			if s == "--pid=host" {
				a.add(cx, Dangerous, "docker-privileged", "shares the host's process namespace with a container")
			}
		}
		j := skipOpts(r, 0, dockerRunOpts)
		if j < len(r) {
			c := cx.child()
			c.container = "container"
			a.argv(r[j+1:], c)
		}
	case "exec":
		r := sub[1:]
		j := skipOpts(r, 0, dockerExecOpts)
		if j < len(r) {
			c := cx.child()
			c.container = "container"
			a.argv(r[j+1:], c)
		}
	}
}

func (a *analyzer) kubectl(args []field, cx *ctx) {
	rest := args[1:]
	verb := ""
	for _, f := range rest {
		if !strings.HasPrefix(f.s, "-") {
			verb = f.s
			break
		}
	}
	switch verb {
	case "exec":
		for i, f := range rest {
			if f.s == "--" {
				c := cx.child()
				c.container = "container"
				a.argv(rest[i+1:], c)
				return
			}
		}
	case "delete":
		all := hasFlag(rest, "A", "all", "all-namespaces")
		for _, f := range rest {
			switch strings.ToLower(f.s) {
			case "namespace", "namespaces", "ns", "pv", "persistentvolume", "persistentvolumes", "pvc",
				"persistentvolumeclaim", "persistentvolumeclaims", "crd", "customresourcedefinition":
				all = true
			}
			if strings.HasPrefix(strings.ToLower(f.s), "namespace/") || strings.HasPrefix(strings.ToLower(f.s), "ns/") {
				all = true
			}
		}
		if all {
			a.add(cx, Dangerous, "infra-destroy", "deletes Kubernetes namespaces, volumes or all resources of a kind")
		}
	}
}

func (a *analyzer) xargs(args []field, cx *ctx) {
	rest := args[1:]
	repl := ""
	null := false
	i := 0
loop:
	for i < len(rest) {
		s := rest[i].s
		switch {
		case s == "--":
			i++
			break loop
		case s == "-I" || s == "--replace":
			if i+1 < len(rest) {
				repl = rest[i+1].s
			}
			i += 2
		case strings.HasPrefix(s, "--replace="):
			repl = s[len("--replace="):]
			i++
		case s == "-i":
			repl = "{}"
			i++
		case s == "-0" || s == "--null":
			null = true
			i++
		case strings.HasPrefix(s, "-I"):
			repl = s[2:]
			i++
		case strings.HasPrefix(s, "-i") && len(s) > 2:
			repl = s[2:]
			i++
		case s == "-a" || s == "-d" || s == "-E" || s == "-L" || s == "-n" || s == "-P" || s == "-s" ||
			s == "--arg-file" || s == "--delimiter" || s == "--max-lines" || s == "--max-args" ||
			s == "--max-procs" || s == "--max-chars" || s == "--process-slot-var" || s == "--eof":
			i += 2
		case strings.HasPrefix(s, "-") && len(s) > 1 && !rest[i].dyn:
			i++
		default:
			break loop
		}
	}
	cmd := rest[min(i, len(rest)):]
	if len(cmd) == 0 {
		return
	}
	c := cx.child()
	in := cx.stdin
	c.stdin = nil
	if in != nil && in.known && !strings.Contains(in.text, dynMark) {
		var items []string
		if null {
			for _, it := range strings.Split(in.text, "\x00") {
				if it != "" {
					items = append(items, it)
				}
			}
		} else if repl != "" {
			items = strings.Split(strings.TrimRight(in.text, "\n"), "\n")
		} else {
			items = strings.Fields(in.text)
		}
		if len(items) > 16 {
			items = items[:16]
		}
		if repl != "" {
			for _, it := range items {
				sub := make([]field, len(cmd))
				for j, f := range cmd {
					f.s = strings.ReplaceAll(f.s, repl, it)
					f.disp = strings.ReplaceAll(f.disp, repl, it)
					sub[j] = f
				}
				a.argv(sub, c)
			}
			return
		}
		full := append(append([]field(nil), cmd...), make([]field, 0, len(items))...)
		for _, it := range items {
			full = append(full, lit(it))
		}
		a.argv(full, c)
		return
	}
	c.via = "xargs"
	if in != nil && in.secret != "" {
		c.stdin = &source{secret: in.secret} // the arguments are the secret
	}
	a.argv(cmd, c)
}

func (a *analyzer) parallel(args []field, cx *ctx) {
	rest := args[1:]
	i := skipOpts(rest, 0, opts{short: "jPNnSIXCdaEL", long: longSet("jobs", "max-procs", "sshlogin", "colsep",
		"delimiter", "arg-file", "eof", "joblog", "results", "tmpdir", "workdir", "timeout", "retries", "halt",
		"memfree", "load", "nice", "delay", "basefile", "return", "env", "transferfile", "max-args", "max-lines", "replace")})
	var cmd, vals []field
	sep := false
	for _, f := range rest[min(i, len(rest)):] {
		if f.s == ":::" || f.s == "::::" || f.s == ":::+" || f.s == "::::+" {
			sep = true
			continue
		}
		if sep {
			vals = append(vals, f)
		} else {
			cmd = append(cmd, f)
		}
	}
	c := cx.child()
	if len(cmd) == 0 {
		a.stdinCode("parallel", cx, false)
		return
	}
	code := joinCode(cmd)
	if len(vals) == 0 {
		c.via = "xargs"
		c.stdin = nil
		a.script(code, c)
		return
	}
	for j, v := range vals {
		if j >= 8 {
			break
		}
		s := code
		if strings.Contains(s, "{}") {
			s = strings.ReplaceAll(s, "{}", shellQuote(v.code()))
		} else {
			s += " " + shellQuote(v.code())
		}
		a.script(s, c)
	}
}

var findFilters = map[string]bool{
	"-name": true, "-iname": true, "-path": true, "-ipath": true, "-wholename": true, "-iwholename": true,
	"-regex": true, "-iregex": true, "-newer": true, "-mtime": true, "-mmin": true, "-atime": true,
	"-amin": true, "-ctime": true, "-cmin": true, "-size": true, "-user": true, "-group": true,
	"-uid": true, "-gid": true, "-perm": true, "-inum": true, "-links": true, "-samefile": true,
	"-lname": true, "-ilname": true, "-empty": true, "-used": true, "-fstype": true, "-context": true,
	"-nouser": true, "-nogroup": true, "-newermt": true, "-anewer": true, "-cnewer": true,
}

func (a *analyzer) find(args []field, cx *ctx) {
	rest := args[1:]
	i := 0
	for i < len(rest) {
		s := rest[i].s
		if s == "-H" || s == "-L" || s == "-P" || strings.HasPrefix(s, "-O") {
			i++
			continue
		}
		if s == "-D" {
			i += 2
			continue
		}
		break
	}
	var roots []field
	for i < len(rest) {
		s := rest[i].s
		if strings.HasPrefix(s, "-") || s == "(" || s == "!" || s == "," || s == "\\(" {
			break
		}
		roots = append(roots, rest[i])
		i++
	}
	if len(roots) == 0 {
		roots = []field{lit(".")}
	}
	expr := rest[min(i, len(rest)):]
	filters, del := false, false
	var execs [][]field
	for j := 0; j < len(expr); j++ {
		s := expr[j].s
		switch {
		case s == "-delete":
			del = true
		case s == "-exec" || s == "-execdir" || s == "-ok" || s == "-okdir":
			k := j + 1
			for k < len(expr) && expr[k].s != ";" && expr[k].s != "+" {
				k++
			}
			execs = append(execs, expr[j+1:k])
			j = k
		case s == "-fprint" || s == "-fprint0" || s == "-fprintf" || s == "-fls":
			if j+1 < len(expr) {
				a.writeTarget(expr[j+1], cx, "writes to")
			}
		case findFilters[s] || strings.HasPrefix(s, "-newer"):
			filters = true
		}
	}
	wipeRoot, rootName := "", ""
	for _, r := range roots {
		if what, hard := a.wipeTarget(r); hard {
			wipeRoot, rootName = r.s, what
			break
		}
	}
	names := make([]string, 0, len(roots))
	for _, r := range roots {
		names = append(names, r.show())
	}
	where := strings.Join(names, " ")
	if del {
		if wipeRoot != "" && !filters {
			a.add(cx, Hardline, "recursive-delete", "deletes everything under "+rootName+" (find -delete)")
		} else {
			a.add(cx, Dangerous, "recursive-delete", "deletes the files find matches under "+clip(where, 60)+" (find -delete)")
		}
	}
	for _, cmd := range execs {
		if len(cmd) == 0 {
			continue
		}
		c := cx.child()
		c.via = "find"
		c.stdin = nil
		if wipeRoot != "" && !filters {
			sub := make([]field, len(cmd))
			for k, f := range cmd {
				f.s = strings.ReplaceAll(f.s, "{}", wipeRoot)
				f.disp = strings.ReplaceAll(f.disp, "{}", wipeRoot)
				sub[k] = f
			}
			cmd = sub
		}
		a.argv(cmd, c)
	}
}
