package classify

import (
	"path"
	"sort"
	"strings"
)

// cleanPath is path.Clean that leaves "" alone.
func cleanPath(p string) string {
	if p == "" {
		return ""
	}
	return path.Clean(p)
}

// resolve turns a path argument into a cleaned path, absolute when the working directory is
// known (after `cd` on the same line) or the path is absolute already.
func (a *analyzer) resolve(p string) string {
	if p == "" {
		return ""
	}
	if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~") && a.cwd != "" {
		p = a.cwd + "/" + p
	}
	return path.Clean(p)
}

// pretty shows a resolved path with the home directory as ~.
func (a *analyzer) pretty(p string) string {
	if a.home != "~" {
		if p == a.home {
			return "~"
		}
		if strings.HasPrefix(p, a.home+"/") {
			return "~" + p[len(a.home):]
		}
	}
	return p
}

// systemDirs are the directories whose recursive deletion (or of their contents) is Hardline.
var systemDirs = map[string]bool{
	"/bin": true, "/boot": true, "/dev": true, "/etc": true, "/lib": true, "/lib32": true,
	"/lib64": true, "/libx32": true, "/opt": true, "/proc": true, "/root": true, "/sbin": true,
	"/srv": true, "/sys": true, "/usr": true, "/var": true, "/home": true, "/mnt": true,
	"/media": true, "/snap": true, "/nix": true,
	"/usr/bin": true, "/usr/sbin": true, "/usr/lib": true, "/usr/lib64": true, "/usr/local": true,
	"/usr/share": true, "/usr/include": true, "/usr/libexec": true, "/usr/local/bin": true,
	"/usr/local/lib": true, "/var/lib": true, "/var/log": true, "/var/spool": true,
	// macOS
	"/Users": true, "/System": true, "/Library": true, "/Applications": true, "/private": true,
	"/private/etc": true, "/private/var": true, "/Volumes": true,
}

var systemDirList = func() []string {
	var l []string
	for d := range systemDirs {
		l = append(l, d)
	}
	sort.Strings(l)
	return l
}()

// isHomeDir reports whether p is the user's home directory or any user's (/home/x, /Users/x).
func (a *analyzer) isHomeDir(p string) bool {
	if p == a.home || p == "~" {
		return true
	}
	if d := path.Dir(p); (d == "/home" || d == "/Users") && p != d {
		return true
	}
	return false
}

// isProtected reports whether wiping p recursively is Hardline.
func (a *analyzer) isProtected(p string) bool {
	return p == "/" || systemDirs[p] || a.isHomeDir(p)
}

func (a *analyzer) describeDir(p string) string {
	switch {
	case p == a.home || p == "~":
		return "your home directory"
	case a.isHomeDir(p):
		return "the home directory " + p
	}
	return p
}

// wildAll reports whether a glob base name matches (nearly) everything in a directory.
func wildAll(base string) bool {
	if !strings.Contains(base, "*") {
		return false
	}
	for _, r := range base {
		if !strings.ContainsRune("*?.[]!^{},-", r) {
			return false
		}
	}
	return true
}

// wipeTarget reports whether deleting f recursively would wipe a protected directory, and names
// what it wipes.
func (a *analyzer) wipeTarget(f field) (string, bool) {
	if f.s == "" {
		return "", false
	}
	if f.dyn {
		// A known prefix followed by something unknown: only "$HOME"-like exact matches count,
		// and those are not dynamic. "/"+$X could be anything below /.
		return "", false
	}
	if f.glob {
		pat := a.resolve(f.pat)
		if pat == "/*" || pat == "/.*" {
			return "everything in /", true
		}
		if dir, base := path.Split(pat); !strings.ContainsAny(dir, "*?[") && a.isProtected(path.Clean(dir)) && wildAll(base) {
			return "everything in " + a.describeDir(path.Clean(dir)), true
		}
		for _, d := range systemDirList {
			if ok, _ := path.Match(pat, d); ok {
				return d, true
			}
		}
		if a.home != "~" {
			if ok, _ := path.Match(pat, a.home); ok {
				return "your home directory", true
			}
		}
		dir, base := path.Split(pat)
		dir = path.Clean(dir)
		if strings.ContainsAny(dir, "*?[") {
			// /*/* and similar: deletes inside every top-level directory
			top := pat
			for strings.Count(top, "/") > 1 {
				top = path.Dir(top)
			}
			if top == "/*" || top == "/.*" {
				return "everything below /", true
			}
			return "", false
		}
		if a.isProtected(dir) && wildAll(base) {
			return "everything in " + a.describeDir(dir), true
		}
		return "", false
	}
	p := a.resolve(f.s)
	if a.isProtected(p) {
		return a.describeDir(p), true
	}
	return "", false
}

var blockDevRe = lazyRegexp(`^/dev/(` +
	`sd[a-z]+[0-9]*|hd[a-z]+[0-9]*|vd[a-z]+[0-9]*|xvd[a-z]+[0-9]*|nvme[0-9]+(n[0-9]+(p[0-9]+)?)?|` +
	`mmcblk[0-9]+(p[0-9]+|boot[0-9]+)?|disk/.+|mapper/.+|md[0-9]+|md/.+|dm-[0-9]+|loop[0-9]+|` +
	`r?disk[0-9]+(s[0-9]+)?|sr[0-9]+|fd[0-9]+|ram[0-9]+|root|zd[0-9]+|bcache[0-9]+|drbd[0-9]+|` +
	`mtdblock[0-9]+|mtd[0-9]+|block/.+|ubd[a-z]*[0-9]*|nbd[0-9]+(p[0-9]+)?|rbd[0-9]+|` +
	`[a-z]+vg[^/]*/.+|vg[^/]*/.+)$`)

// isBlockDevice reports whether p (resolved) names a disk or partition.
func isBlockDevice(p string) bool {
	return strings.HasPrefix(p, "/dev/") && blockDevRe().MatchString(p)
}

var benignDevs = map[string]bool{
	"/dev/null": true, "/dev/zero": true, "/dev/full": true, "/dev/random": true,
	"/dev/urandom": true, "/dev/tty": true, "/dev/stdin": true, "/dev/stdout": true,
	"/dev/stderr": true, "/dev/ptmx": true, "/dev/console": true,
}

func isBenignDev(p string) bool {
	if benignDevs[p] {
		return true
	}
	for _, pre := range []string{"/dev/fd/", "/dev/pts/", "/dev/shm/", "/dev/tcp/", "/dev/udp/", "/dev/mqueue/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

func isNetDev(p string) bool {
	return strings.HasPrefix(p, "/dev/tcp/") || strings.HasPrefix(p, "/dev/udp/")
}

// systemWritePrefixes are directories where any write is Dangerous.
var systemWritePrefixes = []string{
	"/etc", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/root",
	"/sys", "/proc", "/var/spool/cron", "/var/lib/dpkg", "/var/lib/rpm", "/System", "/Library",
	"/private/etc", "/private/var/root", "/dev",
}

// homeSensitive are paths relative to the home directory where writes are Dangerous. An entry
// ending in / covers everything below it.
var homeSensitive = []string{
	".ssh/", ".gnupg/", ".hermes/", ".aws/", ".kube/", ".docker/config.json", ".netrc", ".pgpass",
	".gitconfig", ".config/git/", ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
	".zshrc", ".zprofile", ".zshenv", ".zlogin", ".zlogout", ".kshrc", ".cshrc", ".tcshrc", ".mkshrc",
	".inputrc", ".xinitrc", ".xprofile", ".xsessionrc", ".config/fish/", ".config/autostart/",
	".config/systemd/", ".config/environment.d/", "Library/LaunchAgents/", ".config/gcloud/",
	".azure/", ".npmrc", ".pypirc", ".config/gh/", ".local/share/keyrings/", ".password-store/",
}

// projectLike are homeSensitive entries that projects commonly have too; a relative path only
// counts as home when it is not one of these.
var projectLike = map[string]bool{
	".gitconfig": true, ".config/git/": true, ".npmrc": true, ".pypirc": true, ".docker/config.json": true,
	".config/gcloud/": true, ".config/gh/": true, ".inputrc": true, ".azure/": true,
}

// sensitiveWrite reports whether writing to (or deleting) the resolved path p is Dangerous, and
// how to name it.
func (a *analyzer) sensitiveWrite(p string) (string, bool) {
	if p == "" || p == "." {
		return "", false
	}
	if strings.HasPrefix(p, "/dev/") || p == "/dev" {
		if isBenignDev(p) {
			return "", false
		}
		return p, true
	}
	if strings.HasPrefix(p, "/proc/self/fd/") || strings.HasPrefix(p, "/proc/self/fd") {
		return "", false
	}
	for _, pre := range systemWritePrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return p, true
		}
	}
	var rel string
	relOnly := false
	switch {
	case a.home != "~" && strings.HasPrefix(p, a.home+"/"):
		rel = p[len(a.home)+1:]
	case strings.HasPrefix(p, "~/"):
		rel = p[2:]
	case !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~") && a.cwd == "":
		// relative to an unknown working directory, which may be home
		rel = strings.TrimPrefix(p, "./")
		relOnly = true
	default:
		return "", false
	}
	for _, s := range homeSensitive {
		if relOnly && projectLike[s] {
			continue
		}
		if strings.HasSuffix(s, "/") {
			if rel+"/" == s || strings.HasPrefix(rel, s) {
				return a.pretty(p), true
			}
		} else if rel == s {
			return a.pretty(p), true
		}
	}
	return "", false
}

// isSystemPath reports whether p is a system location (for chmod/chown).
func (a *analyzer) isSystemPath(p string) bool {
	if p == "/" {
		return true
	}
	for _, pre := range systemWritePrefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return systemDirs[p] || a.isHomeDir(p)
}
