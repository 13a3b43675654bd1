package classify

import (
	"path"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Secrets leaving the machine: what a command reads from a credential store (or the
// environment, or gpg's secret keys) is tracked through pipes, redirections, files written on
// the same line, archives, encoders and $(…) into network sinks (curl/wget uploads, nc, socat,
// telnet, ssh, scp, rsync, rclone, URLs built from it), which are then Dangerous
// ("exfiltration").

// homeCredentials are credential stores relative to the home directory; an entry ending in /
// covers everything below it (the directory itself too).
var homeCredentials = []string{
	".ssh/", ".gnupg/", ".aws/", ".netrc", ".pgpass", ".hermes/", ".kube/", ".docker/config.json",
	".config/gcloud/", ".azure/", ".npmrc", ".pypirc", ".config/gh/", ".password-store/",
	".local/share/keyrings/", ".git-credentials", ".vault-token", ".terraform.d/credentials.tfrc.json",
}

// credential reports whether the resolved path p is a credential store (or a file this line
// filled with secrets), and names it. Public keys and known_hosts are not secrets.
func (a *analyzer) credential(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	if what, ok := a.secretFiles[p]; ok {
		return what + " (through " + a.pretty(p) + ")", true
	}
	base := path.Base(p)
	switch {
	case p == "/etc/shadow" || p == "/etc/gshadow" || p == "/etc/sudoers":
		return p, true
	case strings.HasPrefix(p, "/proc/") && base == "environ":
		return "the environment of a process", true
	case base == ".env" || strings.HasPrefix(base, ".env.") && !envTemplate(base):
		return a.pretty(p), true
	case strings.HasSuffix(base, ".pub") || base == "known_hosts" || base == "authorized_keys":
		return "", false
	}
	var rel string
	switch {
	case a.home != "~" && (p == a.home || strings.HasPrefix(p, a.home+"/")):
		rel = strings.TrimPrefix(strings.TrimPrefix(p, a.home), "/")
	case p == "~" || strings.HasPrefix(p, "~/"):
		rel = strings.TrimPrefix(strings.TrimPrefix(p, "~"), "/")
	case !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~") && a.cwd == "":
		rel = strings.TrimPrefix(p, "./") // relative to an unknown directory, which may be home
	default:
		return "", false
	}
	rel = strings.TrimSuffix(rel, "/")
	for _, c := range homeCredentials {
		if strings.HasSuffix(c, "/") {
			if rel+"/" == c || strings.HasPrefix(rel, c) {
				return a.pretty(p), true
			}
		} else if rel == c {
			return a.pretty(p), true
		}
	}
	return "", false
}

// envTemplate: .env.example and friends hold no secrets.
func envTemplate(base string) bool {
	for _, s := range []string{".example", ".sample", ".template", ".dist", ".defaults"} {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// secretRead names the secret a command's output carries: its stdin's, a $(…) argument's, a
// credential store among its operands, or the environment (env, printenv, set) and gpg's secret
// keys; "" when none.
func (a *analyzer) secretRead(args []field, in *source) string {
	if in != nil && in.secret != "" {
		return in.secret
	}
	for _, f := range args {
		if f.sec != "" {
			return f.sec
		}
	}
	if len(args) == 0 {
		return ""
	}
	name := normProg(baseName(args[0]))
	rest := args[1:]
	switch name {
	case "env", "printenv":
		if len(operands(rest, opts{short: "uCS", long: longSet("unset", "chdir", "split-string")})) == 0 {
			return "the environment"
		}
	case "set", "export", "declare", "typeset":
		if len(rest) == 0 || len(rest) == 1 && (rest[0].s == "-p" || rest[0].s == "-x" || rest[0].s == "-px") {
			return "the environment"
		}
	case "gpg", "gpg2":
		for _, f := range rest {
			if strings.HasPrefix(f.s, "--export-secret") {
				return "your GnuPG secret keys"
			}
		}
	case "ssh", "autossh", "mosh", "scp", "sftp", "git", "ssh-keygen", "ssh-add":
		return "" // -i key files are used, not sent
	}
	for _, f := range rest {
		if f.dyn || f.s == "" || strings.HasPrefix(f.s, "-") && !strings.Contains(f.s, "=") {
			continue
		}
		v := f.s
		if k, val, ok := strings.Cut(v, "="); ok && strings.HasPrefix(k, "-") {
			v = val // --file=~/.aws/credentials
		}
		if what, ok := a.credential(a.resolve(a.literalPath(v).s)); ok {
			return what
		}
	}
	return ""
}

// netSinks are the programs that send what they read on stdin to another machine.
var netSinks = map[string]bool{
	"nc": true, "ncat": true, "netcat": true, "socat": true, "telnet": true, "ssh": true, "autossh": true,
	"mosh": true, "dbclient": true, "openssl": true, "curl": true, "curlie": true, "wget": true, "wget2": true,
	"http": true, "https": true, "xh": true, "sftp": true, "ftp": true, "tftp": true, "lftp": true,
	"aws": true, "gsutil": true, "rclone": true, "s3cmd": true, "mail": true, "mailx": true, "sendmail": true,
}

// exfil flags a network sink that sends a secret: one read on stdin (curl and wget only when
// told to send stdin: @-, -T -), one in an argument ($(…) in a URL), or, through xargs, the
// arguments themselves.
func (a *analyzer) exfil(name string, args []field, cx *ctx) {
	if !netSinks[name] {
		return
	}
	rest := args[1:]
	say := func(what string) {
		a.add(cx, Dangerous, "exfiltration", "sends "+what+" over the network ("+name+")")
	}
	for _, f := range rest {
		if f.sec != "" {
			say(f.sec)
			return
		}
	}
	if cx.stdin == nil || cx.stdin.secret == "" {
		return
	}
	switch name {
	case "curl", "curlie", "wget", "wget2", "http", "https", "xh", "aws", "gsutil", "rclone", "s3cmd":
		if cx.via == "xargs" {
			say(cx.stdin.secret)
			return
		}
		for i, f := range rest {
			s := f.s
			if s == "@-" || strings.HasSuffix(s, "=@-") || strings.HasSuffix(s, "@-") || s == "-" && i > 0 ||
				strings.HasSuffix(s, "=-") || strings.HasPrefix(name, "http") || name == "xh" {
				say(cx.stdin.secret)
				return
			}
		}
	case "openssl":
		if len(rest) > 0 && rest[0].s == "s_client" {
			say(cx.stdin.secret)
		}
	default:
		say(cx.stdin.secret)
	}
}

// copyOut flags scp, rsync and rclone copying a credential store to another machine.
func (a *analyzer) copyOut(name string, sources []field, dest field, cx *ctx) {
	if !isRemote(dest.s) && name != "rclone" {
		return
	}
	for _, s := range sources {
		if s.dyn || isRemote(s.s) {
			continue
		}
		if what, ok := a.credential(a.resolve(s.s)); ok {
			a.add(cx, Dangerous, "exfiltration", "copies "+what+" to another machine ("+name+")")
			return
		}
	}
}

// stripWrappersKeepEnv is stripWrappers, except that env with no command (which prints the
// environment) is kept.
func stripWrappersKeepEnv(args []field) []field {
	s := stripWrappers(args)
	if len(s) == 0 {
		for _, f := range args {
			if normProg(baseName(f)) == "env" {
				return []field{lit("env")}
			}
		}
	}
	return s
}

// recordSecret remembers that a redirection of stdout (> file) filled a file with a secret, so
// that uploading the file later on the line is seen as sending the secret.
func (a *analyzer) recordSecret(s *syntax.Stmt, r *syntax.Redirect, f field, cx *ctx) {
	if f.dyn || r.N != nil && r.N.Value != "1" && r.N.Value != "&" {
		return
	}
	ce, ok := s.Cmd.(*syntax.CallExpr)
	if !ok || len(ce.Args) == 0 {
		return
	}
	var args []field
	for _, w := range ce.Args {
		args = append(args, lit(staticLit(w)))
	}
	sec := a.secretRead(stripWrappersKeepEnv(args), cx.stdin)
	if sec == "" {
		return
	}
	if a.secretFiles == nil {
		a.secretFiles = map[string]string{}
	}
	a.secretFiles[a.resolve(f.s)] = sec
}

// deviceOutput flags a block device given as any program's output file (-o, --output, -f of
// tar, of=): writing there destroys the disk, as dd and mkfs do.
func (a *analyzer) deviceOutput(name string, rest []field, cx *ctx) {
	for i, f := range rest {
		s := f.s
		var v string
		switch {
		case (s == "-o" || s == "--output" || s == "-out" || s == "--file" || s == "-O") && i+1 < len(rest):
			v = rest[i+1].s
		case strings.HasPrefix(s, "--output=") || strings.HasPrefix(s, "--file=") || strings.HasPrefix(s, "of="):
			_, v, _ = strings.Cut(s, "=")
		case (name == "tar" || name == "bsdtar" || name == "gtar") && len(s) > 1 && s[0] == '-' && s[1] != '-' && strings.HasSuffix(s, "f") && i+1 < len(rest):
			v = rest[i+1].s
		case (name == "tar" || name == "bsdtar" || name == "gtar") && i == 0 && !strings.HasPrefix(s, "-") && strings.HasSuffix(s, "f") && i+1 < len(rest):
			v = rest[i+1].s // tar cf /dev/sda …
		}
		if v != "" && isBlockDevice(a.resolve(v)) {
			a.add(cx, Hardline, "disk-wipe", "writes its output over the block device "+a.resolve(v)+" ("+name+")")
			return
		}
	}
}
