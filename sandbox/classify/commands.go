package classify

import (
	"fmt"
	"path"
	"strings"
)

// opts describes a program's options: which short letters and long names take a value.
type opts struct {
	short string          // letters taking a value
	long  map[string]bool // long names (without --) taking a value
	// stopAtFirst: the first non-option ends option parsing (most wrappers)
}

func longSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// skipOpts returns the index of the first operand at or after start, skipping options and their
// values. It understands clusters (-abc), attached values (-ufoo, --user=foo) and "--".
func skipOpts(args []field, start int, o opts) int {
	return min(skipOpts1(args, start, o), len(args))
}

func skipOpts1(args []field, start int, o opts) int {
	i := start
	for i < len(args) {
		s := args[i].s
		if s == "--" {
			return i + 1
		}
		if len(s) < 2 || s[0] != '-' || args[i].dyn {
			return i
		}
		if strings.HasPrefix(s, "--") {
			name, _, hasVal := strings.Cut(s[2:], "=")
			i++
			if !hasVal && o.long[name] {
				i++
			}
			continue
		}
		i++
		for j := 1; j < len(s); j++ {
			if strings.IndexByte(o.short, s[j]) >= 0 {
				if j == len(s)-1 {
					i++ // value is the next argument
				}
				break
			}
		}
	}
	return i
}

// hasShort reports whether any short-option cluster before "--" contains one of letters (or the
// exact long option). Arguments that are values of options are not distinguished.
func hasFlag(args []field, letters string, long ...string) bool {
	for _, f := range args {
		s := f.s
		if s == "--" {
			return false
		}
		if strings.HasPrefix(s, "--") {
			name, _, _ := strings.Cut(s[2:], "=")
			for _, l := range long {
				if name == l {
					return true
				}
			}
			continue
		}
		if len(s) > 1 && s[0] == '-' && letters != "" && strings.ContainsAny(s[1:], letters) {
			return true
		}
	}
	return false
}

// operands returns the arguments that are not options (everything after "--" counts).
func operands(args []field, o opts) []field {
	var out []field
	for i := 0; i < len(args); {
		j := skipOpts(args, i, o)
		if j > i && args[j-1].s == "--" {
			return append(out, args[j:]...)
		}
		if j >= len(args) {
			break
		}
		out = append(out, args[j])
		i = j + 1
	}
	return out
}

func baseName(f field) string {
	s := f.s
	for strings.HasSuffix(s, "/") && len(s) > 1 {
		s = s[:len(s)-1]
	}
	return strings.ToLower(path.Base(s))
}

// normProg maps versioned names (python3.12, pip3, perl5.36, lua5.4) to their family.
func normProg(b string) string {
	for _, fam := range []string{"python", "pypy", "perl", "ruby", "lua", "php", "pip", "node", "tclsh", "pg_dump"} {
		if strings.HasPrefix(b, fam) {
			rest := strings.TrimLeft(b[len(fam):], "0123456789.")
			if rest == "" {
				return fam
			}
		}
	}
	return b
}

// argv analyses one command given as expanded fields, after wrappers are peeled.
func (a *analyzer) argv(args []field, cx *ctx) {
	a.steps += len(args) / 4
	if len(args) == 0 || !a.step(cx) {
		return
	}
	for _, f := range args {
		a.scanText(f.s, cx)
	}
	a.denyCheck(args, cx)
	name := args[0]
	if name.dyn {
		a.dynamicName(args, cx)
		return
	}
	if name.dl || name.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs a command name produced by a download or decoder")
	}
	if name.glob {
		a.globName(args, cx)
		return
	}
	if a.downloads[a.resolve(name.s)] {
		a.add(cx, Dangerous, "pipe-to-shell", "runs a file downloaded earlier in the same command")
	}
	if t, ok := a.written[a.resolve(name.s)]; ok && strings.Contains(name.s, "/") {
		a.script(t, cx)
	}
	if target, ok := a.links[a.resolve(name.s)]; ok && a.active["link "+name.s] == 0 {
		if a.active == nil {
			a.active = map[string]int{}
		}
		a.active["link "+name.s]++
		a.argv(append([]field{lit(target)}, args[1:]...), cx.child())
		a.active["link "+name.s]--
	}
	if body, ok := a.funcs[name.s]; ok && a.active[name.s] == 0 {
		if a.active == nil {
			a.active = map[string]int{}
		}
		a.active[name.s]++
		savedPos, savedSet := a.pos, a.posSet
		a.pos, a.posSet = args, true
		a.stmt(body, cx.child())
		a.pos, a.posSet = savedPos, savedSet
		a.active[name.s]--
	}
	if al, ok := a.aliases[name.s]; ok && a.active["alias "+name.s] == 0 {
		if a.active == nil {
			a.active = map[string]int{}
		}
		a.active["alias "+name.s]++
		var sb strings.Builder
		sb.WriteString(al)
		for _, f := range args[1:] {
			sb.WriteByte(' ')
			sb.WriteString(shellQuote(f.code()))
		}
		a.script(sb.String(), cx)
		a.active["alias "+name.s]--
		return
	}
	a.program(normProg(baseName(name)), args, cx)
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	if strings.Contains(s, dynWord) {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "`", "\\`").Replace(s) + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *analyzer) denyCheck(args []field, cx *ctx) {
	if len(a.deny) == 0 {
		return
	}
	var sb strings.Builder
	sb.WriteString(path.Base(args[0].show()))
	for _, f := range args[1:] {
		sb.WriteByte(' ')
		sb.WriteString(f.show())
	}
	text := sb.String()
	for i, re := range a.deny {
		if re.MatchString(text) {
			a.add(cx, Hardline, "deny-rule", fmt.Sprintf("matches your deny rule %q", a.denySrc[i]))
		}
	}
}

// dynCandidates are programs tried in place of a command name only known at run time.
var dynCandidates = []string{"rm", "chmod", "chown", "kill", "dd", "shred", "git", "docker", "psql",
	"mysql", "sqlite3", "sh", "find", "xargs", "systemctl", "sed"}

func (a *analyzer) dynamicName(args []field, cx *ctx) {
	if len(args) > 1 && !args[1].dyn && !strings.HasPrefix(args[1].s, "-") {
		// the unknown part may be a wrapper ($SUDO) or empty
		a.argv(args[1:], cx.child())
	}
	if args[0].dl || args[0].dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs a command produced by a download or decoder")
		return
	}
	if a.probing > 0 {
		return
	}
	for _, cand := range dynCandidates {
		start := len(a.findings)
		a.probing++
		probe := append([]field{lit(cand)}, args[1:]...)
		a.program(cand, probe, cx.child())
		a.probing--
		hit := false
		for _, f := range a.findings[start:] {
			if f.Class >= Dangerous {
				hit = true
			}
		}
		a.findings = a.findings[:start]
		if hit {
			a.add(cx, Dangerous, "dynamic-command", fmt.Sprintf(
				"runs a command whose name is only known at run time (%s) with arguments that would be dangerous for %s",
				clip(args[0].show(), 60), cand))
			return
		}
	}
}

// globPrograms are matched against a command name written as a glob (/???/r?).
var globPrograms = []string{"rm", "dd", "sh", "bash", "mkfs", "shred", "chmod", "chown", "kill",
	"killall", "reboot", "shutdown", "halt", "poweroff", "wipefs", "find", "xargs", "tee", "mv",
	"python", "python3", "perl", "curl", "wget", "git", "docker", "sudo", "su", "systemctl", "init"}

func (a *analyzer) globName(args []field, cx *ctx) {
	base := path.Base(args[0].pat)
	n := 0
	for _, p := range globPrograms {
		if ok, _ := path.Match(base, p); ok {
			a.program(p, append([]field{lit(p)}, args[1:]...), cx.child())
			n++
			if n >= 4 {
				return
			}
		}
	}
	for _, p := range []string{"mkfs.ext4", "mkfs.xfs"} {
		if ok, _ := path.Match(base, p); ok {
			a.program("mkfs.ext4", append([]field{lit(p)}, args[1:]...), cx.child())
			return
		}
	}
}

// inner analyses the command a wrapper runs.
func (a *analyzer) inner(args []field, cx *ctx) {
	if len(args) == 0 {
		return
	}
	c := cx.child()
	a.argv(args, c)
}

// program dispatches on the program's base name.
func (a *analyzer) program(name string, args []field, cx *ctx) {
	rest := args[1:]
	a.exfil(name, args, cx)
	a.deviceOutput(name, rest, cx)
	switch name {
	// ---- wrappers -------------------------------------------------------------------------
	case "sudo", "doas", "pkexec", "run0", "please":
		a.sudo(name, args, cx)
	case "env":
		a.env(args, cx)
	case "nice":
		i := skipOpts(rest, 0, opts{short: "n", long: longSet("adjustment")})
		// nice -10 cmd: a negative-number-looking option
		a.inner(rest[i:], cx)
	case "ionice":
		if hasFlag(rest, "pP", "pid", "pgid") {
			return
		}
		a.inner(rest[skipOpts(rest, 0, opts{short: "cnpPu", long: longSet("class", "classdata", "pid", "pgid", "uid")}):], cx)
	case "nohup", "builtin", "setsid", "unbuffer", "catchsegv", "torsocks", "tsocks", "proxychains",
		"proxychains4", "caffeinate", "xvfb-run", "dbus-run-session", "dbus-launch", "chronic",
		"ts", "nocache", "eatmydata", "fakeroot", "faketime", "numactl", "cgexec", "firejail",
		"bwrap", "systemd-inhibit", "valgrind", "time", "command", "exec", "stdbuf", "strace",
		"ltrace", "taskset", "chrt", "gosu", "su-exec", "chpst", "sshpass", "systemd-run",
		"nsenter", "unshare", "sg", "runuser", "flock", "lockf", "with-lock", "script", "timeout",
		"doit", "primusrun", "optirun", "prime-run", "mpirun", "srun", "ssh-agent", "dotenv",
		"direnv", "uv", "poetry", "pipenv", "bundle", "npx", "conda", "mamba", "pixi", "micromamba",
		"hatch", "rye", "pdm", "nix-shell", "nix", "devbox", "toolbox", "distrobox-enter", "npm",
		"flatpak-spawn", "watch", "busybox", "toybox", "xargs", "parallel", "find", "fd", "fdfind", "chroot":
		a.wrapper(name, args, cx)
	// ---- shells and interpreters ----------------------------------------------------------
	case "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "tcsh", "csh", "yash", "posh",
		"rbash", "oksh", "loksh", "pdksh", "elvish", "nu", "xonsh":
		a.shell(name, args, cx)
	case "eval":
		a.evalCmd(args, cx)
	case "source", ".":
		a.sourceCmd(args, cx)
	case "trap":
		ops := rest
		if len(ops) > 0 && ops[0].s == "--" {
			ops = ops[1:]
		}
		if len(ops) >= 2 && !strings.HasPrefix(ops[0].s, "-") {
			a.codeString(ops[0], cx, "trap")
		}
	case "alias":
		for _, f := range rest {
			if k, v, ok := strings.Cut(f.s, "="); ok && !f.dyn {
				if a.aliases == nil {
					a.aliases = map[string]string{}
				}
				a.aliases[k] = v
				c := cx.child()
				c.via = "alias"
				a.script(v, c)
			}
		}
	case "python", "pypy", "perl", "ruby", "node", "nodejs", "php", "lua", "luajit", "deno", "bun",
		"osascript", "pwsh", "powershell", "tclsh", "wish", "rscript", "jshell", "groovy", "irb", "julia":
		a.interpreter(name, args, cx)
	case "awk", "gawk", "mawk", "nawk", "busybox-awk":
		a.awk(args, cx)
	case "ssh", "autossh", "mosh", "dbclient":
		a.ssh(args, cx)
	case "vagrant":
		if len(rest) > 0 && rest[0].s == "ssh" {
			if i := findOpt(rest, "c", "command"); i >= 0 {
				a.codeString(rest[i], cx.child(), "vagrant ssh -c")
			}
		}
	case "su":
		a.su(args, cx)
	case "at", "batch":
		if hasFlag(rest, "lcrd", "list") || operandsAfter(rest, "f") {
			return
		}
		a.stdinCode(name, cx, false)
	case "tmux":
		a.tmux(args, cx)
	case "screen":
		i := skipOpts(rest, 0, opts{short: "cSpXetTshLl", long: nil})
		a.inner(rest[i:], cx)
	case "docker", "podman", "nerdctl", "docker-compose":
		a.docker(name, args, cx)
	case "kubectl", "oc", "k3s", "microk8s.kubectl":
		a.kubectl(args, cx)
	// ---- destructive programs -------------------------------------------------------------
	case "rm", "unlink", "srm":
		a.rm(name, args, cx)
	case "rimraf", "del-cli", "trash-empty":
		a.rm("rm", append([]field{lit("rm"), lit("-r")}, rest...), cx)
	case "rmdir":
	case "cd", "pushd", "chdir":
		ops := operands(rest, opts{})
		switch {
		case len(ops) == 0:
			a.cwd = a.home
		case ops[0].dyn || ops[0].glob || ops[0].s == "-":
			a.cwd = ""
		default:
			p := a.resolve(ops[0].s)
			if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") {
				a.cwd = p
			} else {
				a.cwd = ""
			}
		}
	case "popd":
		a.cwd = ""
	case "set":
		ops := rest
		if len(ops) > 0 && (ops[0].s == "--" || ops[0].s == "-") {
			ops = ops[1:]
		} else if len(ops) > 0 && (strings.HasPrefix(ops[0].s, "-") || strings.HasPrefix(ops[0].s, "+")) {
			return
		}
		if len(ops) > 0 || len(rest) > 0 {
			pos := []field{lit("sh")}
			if a.posSet && len(a.pos) > 0 {
				pos[0] = a.pos[0]
			}
			a.pos, a.posSet = append(pos, ops...), true
		}
	case "hash":
		for i, f := range rest {
			if f.s == "-p" && i+2 < len(rest) {
				a.link(rest[i+2].s, rest[i+1].s)
			}
		}
	case "shred", "wipe":
		a.shred(args, cx)
	case "dd", "ddrescue", "dcfldd", "dc3dd":
		a.dd(args, cx)
	case "mkfs", "mke2fs", "mkswap", "mkdosfs", "mkntfs", "newfs", "newfs_msdos", "newfs_apfs", "mkreiserfs", "mkexfatfs", "wipefs", "blkdiscard", "zpool", "sgdisk", "diskutil", "badblocks", "cryptsetup", "hdparm", "nvme", "sfdisk", "fdisk", "cfdisk", "parted", "gdisk", "gparted", "flashrom", "pvcreate", "vgremove", "lvremove", "pvremove", "mdadm":
		a.disk(name, args, cx)
	case "kill", "killall", "pkill", "killall5", "skill", "slay", "tkill":
		a.kill(name, args, cx)
	case "shutdown", "reboot", "halt", "poweroff", "init", "telinit", "systemctl", "loginctl",
		"openrc-shutdown", "kexec", "service", "rc-service", "launchctl", "sv", "initctl", "update-rc.d",
		"chkconfig", "rc-update":
		a.power(name, args, cx)
	case "chmod", "chown", "chgrp", "setfacl", "chattr", "chflags":
		a.perms(name, args, cx)
	case "git":
		a.git(args, cx)
	case "apt", "apt-get", "aptitude", "dpkg", "yum", "dnf", "microdnf", "tdnf", "zypper", "pacman",
		"yay", "paru", "apk", "pip", "pipx", "yarn", "brew", "snap", "flatpak", "port", "gem",
		"rpm", "nix-env", "emerge", "xbps-remove", "pkg", "opkg", "choco", "winget", "scoop", "composer", "pnpm", "cargo",
		"cpan", "cpanm", "mas", "softwareupdate":
		a.pkg(name, args, cx)
	case "psql", "mysql", "mariadb", "sqlite3", "sqlite", "duckdb", "sqlcmd", "clickhouse-client",
		"clickhouse", "cockroach", "mycli", "pgcli", "litecli", "usql", "snowsql", "trino", "presto",
		"mongo", "mongosh", "redis-cli", "valkey-cli", "keydb-cli", "cqlsh", "bq", "influx", "sqlplus":
		a.sql(name, args, cx)
	case "crontab":
		a.crontab(args, cx)
	case "hermes":
		a.hermesSelf(args, cx)
	case "tee":
		for _, f := range operands(rest, opts{short: "", long: longSet("output-error")}) {
			a.writeTarget(f, cx, "writes to")
		}
	case "cp", "mv", "install", "ln", "rsync", "scp", "ditto", "rclone":
		a.copyCmd(name, args, cx)
	case "sed", "gsed":
		a.sed(args, cx)
	case "truncate", "touch", "fallocate":
		for _, f := range operands(rest, opts{short: "srlotdA", long: longSet("size", "reference", "length", "offset", "date", "time")}) {
			a.writeTarget(f, cx, "modifies")
		}
	case "vi", "vim", "nvim", "nano", "emacs", "pico", "micro", "joe", "mcedit", "ed", "ex", "gedit",
		"kate", "code", "subl", "sudoedit", "kak", "hx", "helix", "mg", "jed", "ne":
		for _, f := range operands(rest, opts{short: "cStTuUiwWs", long: nil}) {
			if strings.HasPrefix(f.s, "+") {
				continue
			}
			a.writeTarget(f, cx, "edits")
		}
	case "visudo", "vipw", "vigr":
		a.add(cx, Dangerous, "sensitive-write", "edits "+map[string]string{"visudo": "/etc/sudoers", "vipw": "/etc/passwd", "vigr": "/etc/group"}[name])
	case "curl", "wget", "aria2c", "http", "https", "xh", "fetch", "wget2", "curlie", "axel":
		a.download(name, args, cx)
	case "tar", "bsdtar", "gtar", "unzip", "7z", "7za", "unrar":
		a.archive(name, args, cx)
	case "nc", "ncat", "netcat", "socat", "telnet", "openssl":
		a.netcat(name, args, cx)
	case "iptables", "ip6tables", "nft", "ufw", "firewall-cmd", "pfctl":
		a.firewall(name, args, cx)
	case "userdel", "deluser", "groupdel", "passwd", "chpasswd", "usermod":
		a.users(name, args, cx)
	case "dbus-send", "busctl", "gdbus", "qdbus":
		for _, f := range rest {
			l := strings.ToLower(f.s)
			if strings.Contains(l, "login1") || strings.Contains(l, "consolekit") || strings.Contains(l, "sessionmanager") {
				for _, g := range rest {
					gl := strings.ToLower(g.s)
					if strings.Contains(gl, "reboot") || strings.Contains(gl, "poweroff") || strings.Contains(gl, "power_off") || strings.Contains(gl, "halt") || strings.Contains(gl, "shutdown") {
						a.add(cx, Hardline, "shutdown", "asks the system to power off or reboot over D-Bus")
						return
					}
				}
			}
		}
	case "history":
		if hasFlag(rest, "c") {
			a.add(cx, Dangerous, "history-wipe", "clears the shell history")
		}
	case "terraform", "tofu", "pulumi":
		sub := rest
		for len(sub) > 0 && strings.HasPrefix(sub[0].s, "-") {
			sub = sub[1:] // -chdir=DIR and other global options
		}
		if len(sub) > 0 && (sub[0].s == "destroy" || sub[0].s == "apply" && (hasFlag(sub, "", "destroy") || hasArg(sub, "-destroy"))) {
			a.add(cx, Dangerous, "infra-destroy", "destroys infrastructure ("+name+" destroy)")
		}
	case "aws", "gcloud", "az", "gsutil", "doctl", "hcloud", "linode-cli", "oci", "ibmcloud", "flyctl", "heroku":
		a.cloud(name, rest, cx)
	case "useradd", "adduser", "groupadd", "addgroup":
		a.userAdd(name, rest, cx)
	case "setenforce":
		if ops := operands(rest, opts{}); len(ops) > 0 && (ops[0].s == "0" || strings.EqualFold(ops[0].s, "permissive")) {
			a.add(cx, Dangerous, "security-off", "turns SELinux enforcement off (setenforce "+ops[0].s+")")
		}
	case "aa-teardown", "aa-disable", "aa-complain":
		a.add(cx, Dangerous, "security-off", "turns AppArmor protection off ("+name+")")
	}
	if mk := strings.HasPrefix(name, "mkfs.") || strings.HasPrefix(name, "mkfs_") || strings.HasPrefix(name, "mke2fs"); mk {
		a.disk("mkfs", args, cx)
	}
}

// link records that running name runs target (ln -s, cp of a program, hash -p).
func (a *analyzer) link(name, target string) {
	if a.links == nil {
		a.links = map[string]string{}
	}
	a.links[a.resolve(name)] = target
}

func operandsAfter(args []field, letter string) bool {
	return hasFlag(args, letter)
}
