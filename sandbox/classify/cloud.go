package classify

import "strings"

// Remote access, exposure, cloud deletion and account security.

// sshRemoteForward flags ssh -R (and -o RemoteForward): a port on the other machine that leads
// into this one.
func (a *analyzer) sshRemoteForward(optArgs []field, cx *ctx) {
	for i, f := range optArgs {
		s := f.s
		if len(s) < 2 || s[0] != '-' || s[1] == '-' {
			continue
		}
		if s[1] == 'o' {
			v := s[2:]
			if v == "" && i+1 < len(optArgs) {
				v = optArgs[i+1].s
			}
			k, _, _ := strings.Cut(strings.TrimSpace(v), "=")
			k, _, _ = strings.Cut(k, " ")
			if strings.EqualFold(k, "RemoteForward") {
				a.add(cx, Dangerous, "remote-access", "opens a port on another machine into this one (ssh RemoteForward)")
				return
			}
			continue
		}
		for j := 1; j < len(s); j++ {
			if s[j] == 'R' {
				a.add(cx, Dangerous, "remote-access", "opens a port on another machine into this one (ssh -R)")
				return
			}
			if strings.IndexByte(sshValOpts.short, s[j]) >= 0 {
				break // the rest is the option's value
			}
		}
	}
}

// httpServer flags python -m http.server serving / or the home directory (from --directory or
// the working directory) to anything but loopback.
func (a *analyzer) httpServer(margs []field, cx *ctx) {
	dir, bind := a.cwd, ""
	for i, f := range margs {
		next := ""
		if i+1 < len(margs) {
			next = margs[i+1].s
		}
		switch {
		case f.s == "-d" || f.s == "--directory":
			dir = a.resolve(next)
		case strings.HasPrefix(f.s, "--directory="):
			dir = a.resolve(f.s[len("--directory="):])
		case f.s == "-b" || f.s == "--bind":
			bind = next
		case strings.HasPrefix(f.s, "--bind="):
			bind = f.s[len("--bind="):]
		}
	}
	if bind == "localhost" || strings.HasPrefix(bind, "127.") || bind == "::1" {
		return
	}
	if dir == "/" || a.isHomeDir(dir) {
		what := "/"
		if dir != "/" {
			what = "your home directory"
		}
		a.add(cx, Dangerous, "exposure", "serves "+what+" to the network (python -m http.server)")
	}
}

// cloud flags deleting cloud resources: aws s3 rm --recursive, aws s3 rb --force, aws … delete-*
// and terminate-*, gcloud/az/doctl/… delete, gsutil rm -r and rb.
func (a *analyzer) cloud(name string, rest []field, cx *ctx) {
	var words []string
	for _, f := range rest {
		if !strings.HasPrefix(f.s, "-") {
			words = append(words, f.s)
		}
	}
	say := func(what string) {
		a.add(cx, Dangerous, "infra-destroy", "deletes "+what+" ("+name+" "+clip(joinShow(rest), 50)+")")
	}
	switch name {
	case "aws":
		if len(words) >= 2 && words[0] == "s3" {
			if words[1] == "cp" || words[1] == "mv" || words[1] == "sync" {
				a.uploadOut(name, rest, cx)
			}
			switch {
			case words[1] == "rm" && hasFlag(rest, "", "recursive"):
				say("every object under an S3 prefix")
			case words[1] == "rb" && hasFlag(rest, "", "force"):
				say("an S3 bucket and everything in it")
			}
			return
		}
		if len(words) >= 2 && (strings.HasPrefix(words[1], "delete-") || strings.HasPrefix(words[1], "terminate-") || words[1] == "purge-queue") {
			say("cloud resources")
		}
	case "gsutil":
		if len(words) > 0 && (words[0] == "cp" || words[0] == "mv" || words[0] == "rsync") {
			a.uploadOut(name, rest, cx)
		}
		if len(words) > 0 && (words[0] == "rb" || words[0] == "rm" && hasFlag(rest, "r", "recursive")) {
			say("cloud storage")
		}
	default:
		for _, w := range words {
			if w == "delete" || w == "destroy" || w == "rm" || w == "purge" || w == "terminate" || w == "destroy-all" {
				say("cloud resources")
				return
			}
		}
	}
}

// userAdd flags accounts made with uid 0 (a second root) or added to root-equivalent groups.
func (a *analyzer) userAdd(name string, rest []field, cx *ctx) {
	for i, f := range rest {
		s := f.s
		next := ""
		if i+1 < len(rest) {
			next = rest[i+1].s
		}
		uid := ""
		switch {
		case s == "-u" || s == "--uid" || s == "-g" && name == "groupadd" || s == "--gid" && name == "groupadd":
			uid = next
		case strings.HasPrefix(s, "--uid="):
			uid = s[len("--uid="):]
		case len(s) > 2 && s[0] == '-' && s[1] != '-' && strings.HasSuffix(s, "u"):
			uid = next // -ou 0
		case len(s) > 2 && strings.HasPrefix(s, "-u"):
			uid = s[2:]
		case s == "-G" || s == "--groups":
			for _, g := range strings.Split(next, ",") {
				if g == "root" || g == "sudo" || g == "wheel" || g == "admin" {
					a.add(cx, Dangerous, "user-admin", "adds an account to the "+g+" group ("+name+")")
					return
				}
			}
		}
		if uid == "0" {
			a.add(cx, Dangerous, "user-admin", "creates an account with id 0, a second root ("+name+")")
			return
		}
	}
}

// hasArg reports whether one of args is exactly s.
func hasArg(args []field, s string) bool {
	for _, f := range args {
		if f.s == s {
			return true
		}
	}
	return false
}

// uploadOut flags a cloud copy (aws s3 cp, gsutil cp) whose local source is a credential store.
func (a *analyzer) uploadOut(name string, rest []field, cx *ctx) {
	for _, f := range rest {
		if f.dyn || strings.HasPrefix(f.s, "-") || strings.Contains(f.s, "://") {
			continue
		}
		if what, ok := a.credential(a.resolve(f.s)); ok {
			a.add(cx, Dangerous, "exfiltration", "copies "+what+" to cloud storage ("+name+")")
			return
		}
	}
}
