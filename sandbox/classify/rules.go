package classify

import (
	"path"
	"strconv"
	"strings"
)

func (a *analyzer) targetName(f field, cx *ctx) string {
	if f.s == "{}" && cx.via == "find" {
		return "each file find matches"
	}
	return clip(f.show(), 80)
}

func (a *analyzer) rm(name string, args []field, cx *ctx) {
	rest := args[1:]
	recursive, noPreserve, unknownOpts := false, false, false
	var targets []field
	dashdash := false
	for _, f := range rest {
		s := f.s
		if !dashdash && f.dyn && strings.HasPrefix(f.s, dynMark) && !strings.Contains(f.disp, "/") {
			unknownOpts = true // $FLAGS could be -rf
		}
		if !dashdash && !f.dyn && len(s) > 1 && s[0] == '-' {
			if s == "--" {
				dashdash = true
				continue
			}
			if strings.HasPrefix(s, "--") {
				switch s {
				case "--recursive":
					recursive = true
				case "--no-preserve-root":
					noPreserve = true
				}
				continue
			}
			if strings.ContainsAny(s[1:], "rR") {
				recursive = true
			}
			continue
		}
		targets = append(targets, f)
	}
	if name == "unlink" {
		recursive = false
	}
	if recursive || (unknownOpts && len(targets) > 0) {
		if len(targets) == 0 {
			switch cx.via {
			case "":
			case "alias":
				a.add(cx, Dangerous, "recursive-delete", "defines an alias that deletes recursively")
			default:
				a.add(cx, Dangerous, "recursive-delete", "deletes every path "+cx.via+" passes to rm, recursively")
			}
			return
		}
		var soft []string
		for _, t := range targets {
			if what, hard := a.wipeTarget(t); hard {
				if recursive {
					a.add(cx, Hardline, "recursive-delete", "deletes "+what+" recursively")
				} else {
					a.add(cx, Dangerous, "recursive-delete", "may delete "+what+" recursively (options only known at run time)")
				}
				continue
			}
			soft = append(soft, a.targetName(t, cx))
		}
		if len(soft) > 0 {
			a.add(cx, Dangerous, "recursive-delete", "deletes "+clip(strings.Join(soft, ", "), 100)+" recursively")
		}
		if noPreserve {
			a.add(cx, Dangerous, "recursive-delete", "disables rm's protection of / (--no-preserve-root)")
		}
		return
	}
	if cx.via != "" && cx.via != "alias" {
		a.add(cx, Dangerous, "recursive-delete", "deletes every file "+cx.via+" passes to "+name)
	}
	for _, t := range targets {
		if t.glob {
			if what, hard := a.wipeTarget(t); hard {
				a.add(cx, Dangerous, "recursive-delete", "deletes the files in "+strings.TrimPrefix(what, "everything in "))
				continue
			}
		}
		p := a.resolve(t.s)
		if isBlockDevice(p) {
			a.add(cx, Dangerous, "sensitive-write", "deletes the device node "+p)
			continue
		}
		if what, ok := a.sensitiveWrite(p); ok {
			a.add(cx, Dangerous, "sensitive-write", "deletes "+what)
		}
	}
}

func (a *analyzer) shred(args []field, cx *ctx) {
	if cx.via != "" && cx.via != "alias" {
		a.add(cx, Dangerous, "recursive-delete", "destroys every file "+cx.via+" passes to shred")
	}
	for _, f := range operands(args[1:], opts{short: "nsx", long: longSet("iterations", "size", "random-source", "remove")}) {
		p := a.resolve(f.s)
		if what, hard := a.wipeTarget(f); hard {
			a.add(cx, Hardline, "recursive-delete", "destroys "+what+" (shred)")
			continue
		}
		if isBlockDevice(p) {
			a.add(cx, Hardline, "disk-wipe", "overwrites the block device "+p+" (shred)")
		} else if what, ok := a.sensitiveWrite(p); ok {
			a.add(cx, Dangerous, "sensitive-write", "destroys "+what+" (shred)")
		}
	}
}

func (a *analyzer) dd(args []field, cx *ctx) {
	for _, f := range args[1:] {
		k, v, ok := strings.Cut(f.s, "=")
		if !ok || k != "of" && k != "--output" {
			continue
		}
		p := a.resolve(v)
		if isBlockDevice(p) {
			a.add(cx, Hardline, "disk-wipe", "writes raw data over the block device "+p+" (dd)")
		} else if what, ok := a.sensitiveWrite(p); ok {
			a.add(cx, Dangerous, "sensitive-write", "overwrites "+what+" (dd)")
		}
	}
	// ddrescue IN OUT
	if ops := operands(args[1:], opts{}); len(ops) >= 2 && !strings.Contains(ops[0].s, "=") {
		if p := a.resolve(ops[1].s); isBlockDevice(p) {
			a.add(cx, Hardline, "disk-wipe", "writes raw data over the block device "+p)
		}
	}
}

func lastOperand(args []field) string {
	ops := operands(args, opts{})
	for i := len(ops) - 1; i >= 0; i-- {
		if strings.HasPrefix(ops[i].s, "/dev/") {
			return ops[i].s
		}
	}
	if len(ops) > 0 {
		return ops[len(ops)-1].show()
	}
	return ""
}

func (a *analyzer) disk(name string, args []field, cx *ctx) {
	rest := args[1:]
	onlyInfo := len(rest) > 0
	for _, f := range rest {
		switch f.s {
		case "-V", "--version", "-h", "--help", "-l", "--list", "-n", "--no-act", "-p", "--print", "print", "-s", "--show", "info", "list", "status", "-i", "--info", "-v", "--verify":
		default:
			onlyInfo = false
		}
	}
	if onlyInfo {
		return
	}
	target := lastOperand(rest)
	dev := a.resolve(target)
	hard := func(reason string) { a.add(cx, Hardline, "disk-wipe", reason) }
	soft := func(reason string) { a.add(cx, Dangerous, "disk-partition", reason) }
	sub := ""
	if ops := operands(rest, opts{}); len(ops) > 0 {
		sub = strings.ToLower(ops[0].s)
	}
	switch name {
	case "mkfs", "mke2fs", "mkdosfs", "mkntfs", "newfs", "newfs_msdos", "newfs_apfs", "mkreiserfs", "mkexfatfs":
		hard("creates a new filesystem, erasing " + orDefault(target, "a disk") + " (" + args[0].show() + ")")
	case "mkswap":
		if isBlockDevice(dev) {
			hard("turns " + dev + " into swap space, erasing it")
		}
	case "wipefs":
		hard("erases filesystem signatures on " + orDefault(target, "a disk") + " (wipefs)")
	case "blkdiscard":
		hard("discards every block on " + orDefault(target, "a disk") + " (blkdiscard)")
	case "sgdisk":
		if hasFlag(rest, "Zzo", "zap-all", "zap", "clear") {
			hard("destroys the partition table of " + orDefault(target, "a disk") + " (sgdisk)")
		} else {
			soft("edits the partition table of " + orDefault(target, "a disk"))
		}
	case "diskutil":
		switch sub {
		case "erasedisk", "erasevolume", "zerodisk", "randomdisk", "secureerase", "partitiondisk", "reformat", "erasevolume.", "apfs":
			hard("erases " + orDefault(target, "a disk") + " (diskutil " + sub + ")")
		}
	case "badblocks":
		if hasFlag(rest, "w") {
			hard("overwrites " + orDefault(target, "a disk") + " with test patterns (badblocks -w)")
		}
	case "cryptsetup":
		for _, f := range rest {
			switch strings.ToLower(f.s) {
			case "luksformat", "erase", "luksErase", "format", "reencrypt":
				hard("formats or erases the encrypted device " + orDefault(target, "") + " (cryptsetup " + f.s + ")")
				return
			}
		}
	case "hdparm":
		if hasFlag(rest, "", "security-erase", "security-erase-enhanced", "trim-sector-ranges", "write-sector", "make-bad-sector", "fwdownload") {
			hard("erases or overwrites sectors of " + orDefault(target, "a disk") + " (hdparm)")
		}
	case "nvme":
		if sub == "format" || sub == "sanitize" {
			hard("erases the NVMe device " + orDefault(target, "") + " (nvme " + sub + ")")
		}
	case "zpool":
		if sub == "destroy" || sub == "labelclear" {
			hard("destroys a ZFS pool (zpool " + sub + ")")
		}
	case "parted":
		for _, f := range rest {
			switch strings.ToLower(f.s) {
			case "mklabel", "mktable":
				hard("writes a new partition table on " + orDefault(target, "a disk") + " (parted mklabel)")
				return
			case "rm", "mkpart", "resizepart", "rescue", "mkpartfs":
				soft("edits the partition table of " + orDefault(target, "a disk") + " (parted " + f.s + ")")
				return
			}
		}
		if len(operands(rest, opts{})) > 0 && !hasFlag(rest, "l", "list") {
			soft("opens the partition editor on " + orDefault(target, "a disk"))
		}
	case "fdisk", "sfdisk", "cfdisk", "gdisk", "gparted":
		if hasFlag(rest, "lsdJgV", "list", "show-size", "dump", "json", "show-geometry", "verify", "list-free") {
			return
		}
		if hasFlag(rest, "", "delete") {
			hard("deletes partitions on " + orDefault(target, "a disk") + " (" + name + " --delete)")
			return
		}
		soft("edits the partition table of " + orDefault(target, "a disk") + " (" + name + ")")
	case "flashrom":
		if hasFlag(rest, "wE", "write", "erase") {
			hard("rewrites or erases firmware (flashrom)")
		}
	case "pvcreate", "pvremove", "vgremove", "lvremove":
		soft("changes LVM volumes (" + name + " " + orDefault(target, "") + ")")
	case "mdadm":
		if hasFlag(rest, "C", "zero-superblock", "create") {
			hard("overwrites RAID metadata on " + orDefault(target, "a disk") + " (mdadm)")
		}
	}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func isKillSig(s string) bool {
	s = strings.ToUpper(strings.TrimPrefix(s, "-"))
	s = strings.TrimPrefix(s, "SIG")
	return s == "9" || s == "KILL"
}

func (a *analyzer) kill(name string, args []field, cx *ctx) {
	rest := args[1:]
	switch name {
	case "killall5":
		a.add(cx, Hardline, "kill-all", "kills every process on the machine (killall5)")
		return
	case "killall", "skill", "slay":
		if hasFlag(rest, "lV", "list", "version") && len(operands(rest, opts{})) == 0 {
			return
		}
		a.add(cx, Dangerous, "mass-kill", "kills every process with a given name ("+name+" "+clip(joinShow(operands(rest, opts{short: "sunyoIrgie"})), 60)+")")
		return
	case "pkill":
		sig := ""
		for i, f := range rest {
			s := f.s
			switch {
			case s == "--signal" && i+1 < len(rest):
				sig = rest[i+1].s
			case strings.HasPrefix(s, "--signal="):
				sig = s[len("--signal="):]
			case len(s) > 1 && s[0] == '-' && !strings.HasPrefix(s, "--") && (isKillSig(s) || strings.ToUpper(s) == "-SIGKILL"):
				sig = s
			}
		}
		if isKillSig(sig) {
			a.add(cx, Dangerous, "mass-kill", "force-kills every matching process (pkill -9)")
		}
		if hasFlag(rest, "", "") {
			return
		}
		for _, f := range operands(rest, opts{short: "sPgGuUtFn", long: longSet("signal", "parent", "pgroup", "group", "euid", "uid", "terminal", "pidfile", "ns", "nslist", "session")}) {
			if f.s == "." || f.s == ".*" || f.s == "" {
				a.add(cx, Dangerous, "mass-kill", "kills every process (pkill "+f.show()+")")
			}
		}
		return
	}
	// kill
	sig := ""
	var pids []field
	i := 0
	for i < len(rest) {
		f := rest[i]
		s := f.s
		if len(pids) > 0 {
			pids = append(pids, f)
			i++
			continue
		}
		switch {
		case s == "--":
			pids = append(pids, rest[i+1:]...)
			i = len(rest)
			continue
		case s == "-s" || s == "-n" || s == "--signal":
			if i+1 < len(rest) {
				sig = rest[i+1].s
			}
			i += 2
			continue
		case s == "-l" || s == "-L" || s == "--list" || s == "--table":
			return
		case len(s) > 1 && s[0] == '-' && !f.dyn && (i < len(rest)-1 || cx.via != ""):
			sig = s[1:]
			i++
			continue
		}
		pids = append(pids, f)
		i++
	}
	force := isKillSig(sig)
	many := cx.via != ""
	for _, p := range pids {
		switch p.s {
		case "-1":
			a.add(cx, Hardline, "kill-all", "sends a signal to every process on the machine (kill -1)")
			return
		case "0", "-0":
			a.add(cx, Dangerous, "mass-kill", "signals every process in the current process group (kill 0)")
		case "1":
			if force || sig == "" {
				a.add(cx, Dangerous, "mass-kill", "kills init (pid 1)")
			}
		}
		if p.dyn && (strings.Contains(p.disp, "$(") || strings.Contains(p.disp, "`")) {
			many = true
		}
	}
	if force && (many || len(pids) >= 3) {
		what := clip(joinShow(pids), 50)
		if what == "" {
			what = "with arguments from " + cx.via
		}
		a.add(cx, Dangerous, "mass-kill", "force-kills many processes at once (kill -9 "+what+")")
	}
}

func joinShow(fs []field) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.show()
	}
	return strings.Join(parts, " ")
}

func (a *analyzer) power(name string, args []field, cx *ctx) {
	rest := args[1:]
	hard := func(reason string) { a.add(cx, Hardline, "shutdown", reason) }
	stop := func(reason string) { a.add(cx, Dangerous, "service-stop", reason) }
	help := hasFlag(rest, "", "help", "version")
	switch name {
	case "shutdown":
		if hasFlag(rest, "ck", "cancel", "show") || help {
			return
		}
		if hasFlag(rest, "r", "reboot") {
			hard("reboots the machine (shutdown -r)")
		} else {
			hard("shuts the machine down")
		}
	case "reboot", "halt", "poweroff", "openrc-shutdown":
		if help {
			return
		}
		verb := map[string]string{"reboot": "reboots", "halt": "halts", "poweroff": "powers off", "openrc-shutdown": "shuts down"}[name]
		hard(verb + " the machine (" + name + ")")
	case "init", "telinit":
		ops := operands(rest, opts{})
		if len(ops) == 0 {
			return
		}
		switch strings.ToLower(ops[0].s) {
		case "0":
			hard("powers off the machine (" + name + " 0)")
		case "6":
			hard("reboots the machine (" + name + " 6)")
		case "1", "s", "single", "emergency":
			a.add(cx, Dangerous, "shutdown", "switches the machine to single-user mode ("+name+" "+ops[0].s+")")
		}
	case "kexec":
		if hasFlag(rest, "e", "exec") {
			hard("reboots into another kernel (kexec -e)")
		}
	case "systemctl", "loginctl":
		ops := operands(rest, opts{short: "tpHMnosP", long: longSet("type", "property", "host", "machine", "lines",
			"output", "signal", "kill-whom", "kill-value", "root", "state", "job-mode", "what", "boot-loader-menu",
			"boot-loader-entry", "reboot-argument", "timestamp", "message", "when", "image", "image-policy", "drop-in", "legend", "preset-mode")})
		if len(ops) == 0 {
			return
		}
		verb := strings.ToLower(ops[0].s)
		units := clip(joinShow(ops[1:]), 60)
		switch verb {
		case "poweroff", "reboot", "halt", "kexec", "soft-reboot":
			hard(map[string]string{"poweroff": "powers off", "reboot": "reboots", "halt": "halts", "kexec": "reboots",
				"soft-reboot": "restarts"}[verb] + " the machine (" + name + " " + verb + ")")
		case "suspend", "hibernate", "hybrid-sleep", "suspend-then-hibernate", "sleep", "emergency", "rescue":
			a.add(cx, Dangerous, "shutdown", "puts the machine into "+verb+" ("+name+" "+verb+")")
		case "isolate", "start", "restart", "reload-or-restart", "try-restart":
			for _, u := range ops[1:] {
				switch strings.TrimSuffix(strings.ToLower(u.s), ".target") {
				case "poweroff", "reboot", "halt", "kexec", "soft-reboot", "ctrl-alt-del":
					hard("powers off or reboots the machine (" + name + " " + verb + " " + u.s + ")")
					return
				case "rescue", "emergency", "shutdown", "sleep", "suspend", "hibernate":
					a.add(cx, Dangerous, "shutdown", "switches the machine to "+u.s+" ("+name+" "+verb+")")
					return
				}
			}
			if verb == "isolate" {
				a.add(cx, Dangerous, "service-stop", "switches the system to another target ("+name+" isolate "+units+")")
			}
		case "stop", "disable", "mask", "kill", "terminate-session", "terminate-user", "kill-session", "kill-user", "terminate-seat":
			if name == "systemctl" && verb == "kill" || name == "loginctl" || verb != "kill" {
				stop(verb + "s " + orDefault(units, "a service") + " (" + name + " " + verb + ")")
			}
		default:
			if hasFlag(rest, "", "now") && verb == "disable" {
				stop("disables and stops " + units)
			}
		}
	case "service", "rc-service":
		ops := operands(rest, opts{})
		if len(ops) >= 2 {
			switch ops[1].s {
			case "stop", "disable", "zap", "kill":
				stop("stops the service " + ops[0].show() + " (" + name + " " + ops[0].show() + " " + ops[1].s + ")")
			}
		}
	case "rc-update", "update-rc.d", "chkconfig":
		for _, f := range rest {
			switch f.s {
			case "del", "delete", "remove", "disable", "off":
				stop("disables a service at boot (" + name + " " + joinShow(rest) + ")")
				return
			}
		}
	case "launchctl":
		ops := operands(rest, opts{})
		if len(ops) > 0 {
			switch ops[0].s {
			case "unload", "bootout", "remove", "stop", "disable", "kill":
				stop("stops a launchd service (launchctl " + ops[0].s + ")")
			case "reboot":
				hard("reboots the machine (launchctl reboot)")
			}
		}
	case "sv", "initctl":
		ops := operands(rest, opts{short: "w"})
		if len(ops) > 0 {
			switch ops[0].s {
			case "down", "stop", "kill", "force-stop", "force-shutdown", "exit", "d", "k":
				stop("stops a service (" + name + " " + joinShow(ops) + ")")
			}
		}
	}
}

func (a *analyzer) perms(name string, args []field, cx *ctx) {
	rest := args[1:]
	recursive := false
	var ops []field
	dashdash := false
	for _, f := range rest {
		s := f.s
		if !dashdash && !f.dyn && len(s) > 1 && s[0] == '-' {
			if s == "--" {
				dashdash = true
				continue
			}
			if strings.HasPrefix(s, "--") {
				if s == "--recursive" {
					recursive = true
				}
				if strings.HasPrefix(s, "--reference") {
					ops = append(ops, lit("--reference"))
				}
				continue
			}
			if name == "chmod" && strings.Trim(s[1:], "rwxXstugoa,+-=01234567") == "" {
				ops = append(ops, f) // a mode like -w or -rwx
				continue
			}
			if name == "setfacl" && strings.ContainsAny(s[1:], "mMxX") && !strings.ContainsAny(s[1:], "R") {
				ops = append(ops, f)
				continue
			}
			if strings.Contains(s[1:], "R") {
				recursive = true
			}
			continue
		}
		ops = append(ops, f)
	}
	if name == "chflags" || name == "chattr" {
		if len(ops) > 0 && strings.HasPrefix(ops[0].s, "-") {
			ops[0] = lit("mode")
		}
	}
	if len(ops) == 0 {
		return
	}
	mode := ops[0]
	files := ops[1:]
	if name == "setfacl" {
		files = operands(rest, opts{short: "mMxX", long: longSet("modify", "modify-file", "remove", "remove-file", "set", "set-file")})
	}
	verb := "changes permissions of"
	if name == "chown" || name == "chgrp" {
		verb = "changes ownership of"
	}
	if name == "chattr" || name == "chflags" {
		verb = "changes attributes of"
	}
	names := clip(joinShow(files), 60)
	if recursive && !(name == "chmod" && ownerOnlyAdd(mode) && a.allRelativeInside(files)) {
		a.add(cx, Dangerous, "chmod-broad", verb+" "+orDefault(names, "files")+" recursively ("+name+" -R)")
	}
	if name == "chmod" && !mode.dyn {
		if why := broadMode(mode.s); why != "" {
			a.add(cx, Dangerous, "chmod-broad", why+" on "+orDefault(names, "files")+" (chmod "+mode.s+")")
		}
	}
	for _, f := range files {
		p := a.resolve(f.s)
		if f.dyn || !strings.HasPrefix(p, "/") {
			continue
		}
		if a.isSystemPath(p) {
			kind := "the system path "
			if a.isHomeDir(p) {
				kind = "the home directory "
			}
			a.add(cx, Dangerous, "chmod-broad", verb+" "+kind+a.pretty(p))
			break
		}
	}
}

// ownerOnlyAdd: a mode such as u+w or u+rwX only adds permissions for the owner.
var ownerOnlyAddRe = lazyRegexp(`^u\+[rwxX]+(,u\+[rwxX]+)*$`)

func ownerOnlyAdd(mode field) bool { return !mode.dyn && ownerOnlyAddRe().MatchString(mode.s) }

// allRelativeInside: every file is a plain relative path below the working directory (no ..,
// no ~, no absolute path, nothing known only at run time).
func (a *analyzer) allRelativeInside(files []field) bool {
	if len(files) == 0 {
		return false
	}
	for _, f := range files {
		p := path.Clean(f.s)
		if f.dyn || f.glob || p == "." || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") || p == ".." || strings.HasPrefix(p, "../") {
			return false
		}
	}
	return a.cwd == "" || !a.isSystemPath(a.cwd) && !a.isHomeDir(a.cwd)
}

// broadMode explains why a chmod mode is too broad ("" when it is not).
func broadMode(m string) string {
	if m == "" {
		return ""
	}
	if strings.Trim(m, "01234567") == "" {
		n, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return ""
		}
		switch {
		case n&0o002 != 0:
			return "makes files world-writable"
		case n&0o4000 != 0:
			return "sets the setuid bit"
		case n&0o2000 != 0 && len(m) >= 4:
			return "sets the setgid bit"
		}
		return ""
	}
	for _, clause := range strings.Split(m, ",") {
		who := strings.TrimLeft(clause, "ugoa")
		whoSet := clause[:len(clause)-len(who)]
		for len(who) > 0 {
			op := who[0]
			if op != '+' && op != '=' && op != '-' {
				break
			}
			perms := who[1:]
			end := strings.IndexAny(perms, "+-=")
			if end >= 0 {
				who = perms[end:]
				perms = perms[:end]
			} else {
				who = ""
			}
			if op == '-' {
				continue
			}
			if strings.Contains(perms, "w") && (strings.ContainsAny(whoSet, "oa")) {
				return "makes files world-writable"
			}
			if strings.Contains(perms, "s") && (whoSet == "" || strings.ContainsAny(whoSet, "uga")) {
				return "sets the setuid/setgid bit"
			}
		}
	}
	return ""
}

func (a *analyzer) git(args []field, cx *ctx) {
	rest := args[1:]
	i := 0
	for i < len(rest) {
		s := rest[i].s
		switch {
		case s == "-C" || s == "--git-dir" || s == "--work-tree" || s == "--namespace" || s == "--exec-path" || s == "--config-env" || s == "--super-prefix":
			i += 2
			continue
		case s == "-c":
			if i+1 < len(rest) {
				a.gitConfig(rest[i+1].s, cx)
			}
			i += 2
			continue
		case strings.HasPrefix(s, "-c") && len(s) > 2:
			a.gitConfig(s[2:], cx)
			i++
			continue
		case strings.HasPrefix(s, "-") && !rest[i].dyn:
			i++
			continue
		}
		break
	}
	if i >= len(rest) {
		return
	}
	sub := rest[i].s
	r := rest[i+1:]
	d := func(reason string) { a.add(cx, Dangerous, "git-destructive", reason) }
	wholeTree := func(fs []field) bool {
		for _, f := range fs {
			switch f.s {
			case ".", ":/", "*", "./", ":(top)", "/", "..", "../":
				return true
			}
		}
		return false
	}
	switch sub {
	case "reset":
		if hasFlag(r, "", "hard") {
			d("discards all uncommitted changes (git reset --hard)")
		}
	case "push":
		switch {
		case hasFlag(r, "f", "force", "force-with-lease", "force-if-includes"):
			d("force-pushes, overwriting remote history (git push --force)")
		case hasFlag(r, "", "mirror"):
			d("mirrors the repository, overwriting and deleting remote refs (git push --mirror)")
		case hasFlag(r, "d", "delete", "prune"):
			d("deletes remote branches or tags (git push --delete)")
		default:
			ops := operands(r, opts{short: "o", long: longSet("repo", "receive-pack", "exec", "push-option", "signed")})
			if len(ops) > 0 {
				ops = ops[1:]
			}
			for _, f := range ops {
				if strings.HasPrefix(f.s, "+") {
					d("force-pushes " + f.s + " (a + refspec)")
					break
				}
				if strings.HasPrefix(f.s, ":") && len(f.s) > 1 {
					d("deletes the remote branch " + f.s[1:])
					break
				}
			}
		}
	case "clean":
		if hasFlag(r, "f", "force") && !hasFlag(r, "n", "dry-run") {
			d("deletes untracked files (git clean -f)")
		}
	case "branch":
		if hasFlag(r, "D") || (hasFlag(r, "d", "delete") && hasFlag(r, "f", "force")) {
			d("force-deletes a branch, even if unmerged (git branch -D)")
		}
		if hasFlag(r, "M", "") || (hasFlag(r, "m", "move") && hasFlag(r, "f", "force")) {
			d("force-renames a branch, overwriting another (git branch -M)")
		}
	case "checkout":
		if hasFlag(r, "f", "force") {
			d("discards uncommitted changes (git checkout -f)")
			break
		}
		for j, f := range r {
			if f.s == "--" {
				if wholeTree(r[j+1:]) {
					d("discards all uncommitted changes (git checkout -- .)")
				}
				return
			}
		}
		if wholeTree(r) {
			d("discards all uncommitted changes (git checkout .)")
		}
	case "restore":
		staged := hasFlag(r, "S", "staged")
		worktree := hasFlag(r, "W", "worktree")
		if (!staged || worktree) && wholeTree(operands(r, opts{short: "s", long: longSet("source", "pathspec-from-file")})) {
			d("discards all uncommitted changes (git restore .)")
		}
	case "switch":
		if hasFlag(r, "f", "force", "discard-changes") {
			d("discards uncommitted changes (git switch --discard-changes)")
		}
	case "stash":
		if len(r) > 0 && r[0].s == "clear" {
			d("deletes all stashed changes (git stash clear)")
		}
	case "filter-branch", "filter-repo":
		d("rewrites the repository's history (git " + sub + ")")
	case "reflog":
		if len(r) > 0 && (r[0].s == "expire" || r[0].s == "delete") {
			d("deletes reflog entries, making lost commits unrecoverable (git reflog " + r[0].s + ")")
		}
	case "gc":
		for _, f := range r {
			if f.s == "--prune=now" || f.s == "--prune=all" {
				d("prunes unreachable commits immediately (git gc " + f.s + ")")
			}
		}
	case "update-ref":
		if hasFlag(r, "d") {
			d("deletes a ref (git update-ref -d)")
		}
	case "config":
		ops := operands(r, opts{short: "f", long: longSet("file", "blob", "default", "type")})
		if len(ops) >= 2 {
			a.gitConfig(ops[0].s+"="+ops[1].s, cx)
		}
	}
}

// gitConfig analyses configuration values that run commands.
func (a *analyzer) gitConfig(kv string, cx *ctx) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return
	}
	k = strings.ToLower(k)
	switch {
	case strings.HasPrefix(k, "alias.") && strings.HasPrefix(v, "!"):
		a.script(v[1:], cx)
	case k == "core.sshcommand" || k == "core.pager" || k == "core.editor" || k == "core.fsmonitor" ||
		k == "sequence.editor" || k == "diff.external" || strings.HasPrefix(k, "pager.") ||
		k == "credential.helper" && strings.HasPrefix(v, "!") || strings.HasSuffix(k, ".textconv") ||
		strings.HasPrefix(k, "filter.") && (strings.HasSuffix(k, ".clean") || strings.HasSuffix(k, ".smudge") || strings.HasSuffix(k, ".process")):
		a.script(strings.TrimPrefix(v, "!"), cx)
	case k == "core.hookspath":
		a.add(cx, Dangerous, "git-destructive", "redirects git hooks to "+v+" (core.hooksPath)")
	}
}

func (a *analyzer) pkg(name string, args []field, cx *ctx) {
	rest := args[1:]
	ops := operands(rest, opts{short: "octCqRS", long: longSet("option", "config-file", "target-release", "root", "prefix", "cache")})
	sub := ""
	if len(ops) > 0 {
		sub = ops[0].s
	}
	remove := func() {
		what := ops
		if len(ops) > 0 && ops[0].s == sub {
			what = ops[1:]
		}
		a.add(cx, Dangerous, "package-remove", "removes packages ("+strings.TrimSpace(name+" "+sub+" "+clip(joinShow(what), 60))+")")
	}
	global := hasFlag(rest, "g", "global", "location=global")
	switch name {
	case "apt", "apt-get", "aptitude":
		switch sub {
		case "remove", "purge", "autoremove", "autopurge", "auto-remove":
			remove()
		}
	case "dpkg":
		if hasFlag(rest, "rP", "remove", "purge") {
			sub = "-r"
			remove()
		}
	case "yum", "dnf", "microdnf", "tdnf", "zypper":
		switch sub {
		case "remove", "erase", "autoremove", "rm", "remove-n", "remove-na", "remove-nevra":
			remove()
		}
	case "pacman", "yay", "paru":
		for _, f := range rest {
			if strings.HasPrefix(f.s, "-R") || f.s == "--remove" {
				sub = f.s
				remove()
				return
			}
		}
	case "apk":
		if sub == "del" {
			remove()
		}
	case "pip", "pipx":
		if sub == "uninstall" || sub == "uninstall-all" {
			remove()
		}
	case "npm", "pnpm":
		switch sub {
		case "uninstall", "un", "remove", "rm", "r", "unlink":
			if global {
				remove()
			}
		}
	case "yarn":
		if sub == "global" && len(ops) > 1 && ops[1].s == "remove" {
			remove()
		}
	case "brew":
		switch sub {
		case "uninstall", "remove", "rm", "autoremove", "zap":
			remove()
		}
	case "snap", "flatpak", "port", "gem", "cargo", "pkg", "opkg", "choco", "winget", "scoop", "mas", "conda":
		switch sub {
		case "remove", "uninstall", "delete":
			remove()
		}
	case "rpm":
		if hasFlag(rest, "e", "erase") {
			sub = "-e"
			remove()
		}
	case "nix-env":
		if hasFlag(rest, "e", "uninstall") {
			sub = "-e"
			remove()
		}
	case "emerge":
		if hasFlag(rest, "Cc", "unmerge", "depclean") {
			remove()
		}
	case "xbps-remove":
		remove()
	}
}

func (a *analyzer) sql(name string, args []field, cx *ctx) {
	rest := args[1:]
	var texts []field
	get := func(short string, long ...string) {
		for i := 0; i < len(rest); i++ {
			s := rest[i].s
			for _, l := range long {
				if s == "--"+l && i+1 < len(rest) {
					texts = append(texts, rest[i+1])
				} else if strings.HasPrefix(s, "--"+l+"=") {
					texts = append(texts, field{s: s[len(l)+3:]})
				}
			}
			if short == "" || strings.HasPrefix(s, "--") || len(s) < 2 || s[0] != '-' {
				continue
			}
			for _, ch := range short {
				if s == "-"+string(ch) && i+1 < len(rest) {
					texts = append(texts, rest[i+1])
				} else if len(s) > 2 && s[1] == byte(ch) {
					texts = append(texts, field{s: s[2:]})
				}
			}
		}
	}
	switch name {
	case "psql", "pgcli", "usql":
		get("c", "command")
	case "mysql", "mariadb", "mycli":
		get("e", "execute")
	case "sqlite3", "sqlite", "duckdb", "litecli":
		get("cs", "cmd")
		for i := 0; i < len(rest); i++ {
			if rest[i].s == "-cmd" && i+1 < len(rest) {
				texts = append(texts, rest[i+1])
			}
		}
		ops := operands(rest, opts{short: "", long: nil})
		var clean []field
		skipNext := false
		for _, f := range rest {
			if skipNext {
				skipNext = false
				continue
			}
			switch f.s {
			case "-cmd", "-init", "-separator", "-newline", "-nullvalue", "-mmap", "-vfs", "-lookaside", "-pagecache", "-heap", "-maxsize", "-c", "-s":
				skipNext = true
				continue
			}
			if strings.HasPrefix(f.s, "-") {
				continue
			}
			clean = append(clean, f)
		}
		_ = ops
		if len(clean) > 1 {
			texts = append(texts, clean[1:]...)
		}
	case "sqlcmd":
		get("Qq", "query")
	case "clickhouse-client", "clickhouse", "snowsql":
		get("q", "query")
	case "cockroach", "cqlsh", "trino", "presto":
		get("e", "execute")
	case "influx":
		get("", "execute")
		for i, f := range rest {
			if f.s == "-execute" && i+1 < len(rest) {
				texts = append(texts, rest[i+1])
			}
		}
	case "bq":
		ops := operands(rest, opts{})
		if len(ops) > 1 && ops[0].s == "query" {
			texts = append(texts, ops[1:]...)
		}
		if len(ops) > 0 && ops[0].s == "rm" {
			a.add(cx, Dangerous, "sql-destructive", "deletes a BigQuery dataset or table (bq rm)")
		}
	case "mongo", "mongosh":
		get("", "eval")
		for _, t := range texts {
			if mongoRe().MatchString(t.s) {
				a.add(cx, Dangerous, "sql-destructive", "drops or empties a MongoDB database or collection")
			}
		}
		if cx.stdin != nil && cx.stdin.known && mongoRe().MatchString(cx.stdin.text) {
			a.add(cx, Dangerous, "sql-destructive", "drops or empties a MongoDB database or collection")
		}
		return
	case "redis-cli", "valkey-cli", "keydb-cli":
		ops := operands(rest, opts{short: "hpanusiNdrcx", long: longSet("user", "pass", "tls", "cacert", "cert", "key", "sni")})
		check := func(s string) {
			for _, line := range strings.Split(s, "\n") {
				w := strings.Fields(strings.ToLower(line))
				if len(w) > 0 && (w[0] == "flushall" || w[0] == "flushdb") {
					a.add(cx, Dangerous, "sql-destructive", "deletes all keys in Redis ("+w[0]+")")
					return
				}
			}
		}
		if len(ops) > 0 {
			check(joinShow(ops))
		}
		if cx.stdin != nil && cx.stdin.known {
			check(cx.stdin.text)
		}
		return
	}
	if cx.stdin != nil && cx.stdin.known {
		texts = append(texts, field{s: cx.stdin.text})
	}
	for _, t := range texts {
		if reason, ok := sqlDestructive(t.s); ok {
			a.add(cx, Dangerous, "sql-destructive", reason+" ("+name+")")
			return
		}
	}
}

func (a *analyzer) crontab(args []field, cx *ctx) {
	rest := args[1:]
	switch {
	case hasFlag(rest, "r", "remove"):
		a.add(cx, Dangerous, "sensitive-write", "removes all your cron jobs (crontab -r)")
	case hasFlag(rest, "e", "edit"):
		a.add(cx, Dangerous, "sensitive-write", "edits your crontab (crontab -e)")
	case hasFlag(rest, "l", "list"):
	default:
		if len(operands(rest, opts{short: "uCsT"})) > 0 || cx.stdin != nil {
			a.add(cx, Dangerous, "sensitive-write", "replaces your crontab")
			if cx.stdin != nil && cx.stdin.known {
				for _, line := range strings.Split(cx.stdin.text, "\n") {
					f := strings.Fields(line)
					if len(f) > 5 && !strings.HasPrefix(f[0], "#") {
						a.scriptQuiet(strings.Join(f[5:], " "), cx)
					}
				}
			}
		}
	}
}

var copyOpts = map[string]opts{
	"cp":      {short: "tS", long: longSet("target-directory", "suffix")},
	"mv":      {short: "tS", long: longSet("target-directory", "suffix")},
	"ln":      {short: "tS", long: longSet("target-directory", "suffix")},
	"install": {short: "tSmogC", long: longSet("target-directory", "suffix", "mode", "owner", "group", "strip-program")},
	"rsync": {short: "efTBM", long: longSet("rsh", "filter", "exclude", "include", "exclude-from", "include-from",
		"files-from", "temp-dir", "backup-dir", "suffix", "chmod", "chown", "usermap", "groupmap", "password-file",
		"log-file", "rsync-path", "out-format", "compare-dest", "link-dest", "copy-dest", "partial-dir", "timeout",
		"contimeout", "port", "bwlimit", "max-size", "min-size", "max-delete", "modify-window", "iconv", "sockopts", "info", "debug")},
	"scp":    {short: "cFiJloPSDX"},
	"ditto":  {},
	"rclone": {long: longSet("config", "include", "exclude", "filter", "transfers", "checkers")},
}

func (a *analyzer) copyCmd(name string, args []field, cx *ctx) {
	rest := args[1:]
	o := copyOpts[name]
	if name == "rclone" {
		ops := operands(rest, o)
		if len(ops) >= 3 && (ops[0].s == "copy" || ops[0].s == "sync" || ops[0].s == "move" || ops[0].s == "copyto" || ops[0].s == "moveto") {
			a.copyOut(name, ops[1:len(ops)-1], ops[len(ops)-1], cx)
		}
		if len(ops) > 0 && (ops[0].s == "purge" || ops[0].s == "delete" || ops[0].s == "rmdirs") {
			a.add(cx, Dangerous, "recursive-delete", "deletes remote files (rclone "+ops[0].s+")")
		}
		return
	}
	if name == "rsync" {
		for i, f := range rest {
			if strings.HasPrefix(f.s, "--delete") || f.s == "--remove-source-files" {
				a.add(cx, Dangerous, "recursive-delete", "deletes files at the destination that are not in the source (rsync "+f.s+")")
			}
			if (f.s == "-e" || f.s == "--rsh") && i+1 < len(rest) {
				a.scriptQuiet(rest[i+1].s, cx)
			} else if strings.HasPrefix(f.s, "--rsh=") {
				a.scriptQuiet(f.s[len("--rsh="):], cx)
			}
		}
	}
	ops := operands(rest, o)
	var dest field
	var sources []field
	target := ""
	for i, f := range rest {
		if (f.s == "-t" || f.s == "--target-directory") && i+1 < len(rest) {
			target = rest[i+1].s
		} else if strings.HasPrefix(f.s, "--target-directory=") {
			target = f.s[len("--target-directory="):]
		}
	}
	switch {
	case target != "":
		dest, sources = lit(target), ops
	case len(ops) >= 2:
		dest, sources = ops[len(ops)-1], ops[:len(ops)-1]
	case len(ops) == 1 && name == "ln":
		dest = lit(path.Base(ops[0].s))
	default:
		return
	}
	if name == "rsync" || name == "scp" {
		a.copyOut(name, sources, dest, cx)
		if isRemote(dest.s) {
			return
		}
	}
	if (name == "ln" || name == "cp" || name == "install") && len(sources) == 1 && !dest.dyn && !sources[0].dyn {
		a.link(dest.s, sources[0].s)
		a.link(dest.s+"/"+path.Base(sources[0].s), sources[0].s)
	}
	p := a.resolve(dest.s)
	if isBlockDevice(p) {
		a.add(cx, Hardline, "disk-wipe", "copies over the block device "+p+" ("+name+")")
	} else if what, ok := a.sensitiveWrite(p); ok {
		a.add(cx, Dangerous, "sensitive-write", "writes to "+what+" ("+name+")")
	}
	if name == "mv" {
		for _, s := range sources {
			sp := a.resolve(s.s)
			if s.dyn {
				continue
			}
			if what, hard := a.wipeTarget(s); hard && !s.glob {
				a.add(cx, Hardline, "recursive-delete", "moves "+what+" away (mv)")
			} else if what, ok := a.sensitiveWrite(sp); ok {
				a.add(cx, Dangerous, "sensitive-write", "moves "+what+" away (mv)")
			}
		}
	}
}

func isRemote(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	j := strings.IndexByte(s, '/')
	return j < 0 || i < j
}

func (a *analyzer) sed(args []field, cx *ctx) {
	rest := args[1:]
	inplace, scriptGiven := false, false
	var scripts []string
	var ops []field
	for i := 0; i < len(rest); i++ {
		f := rest[i]
		s := f.s
		switch {
		case s == "--":
			ops = append(ops, rest[i+1:]...)
			i = len(rest)
		case s == "-e" || s == "--expression":
			if i+1 < len(rest) {
				scripts = append(scripts, rest[i+1].s)
			}
			scriptGiven = true
			i++
		case strings.HasPrefix(s, "--expression="):
			scripts = append(scripts, s[len("--expression="):])
			scriptGiven = true
		case s == "-f" || s == "--file":
			scriptGiven = true
			i++
		case strings.HasPrefix(s, "--file="):
			scriptGiven = true
		case strings.HasPrefix(s, "--in-place"):
			inplace = true
		case s == "-l" || s == "--line-length":
			i++
		case s == "-i":
			inplace = true
			if i+1 < len(rest) && rest[i+1].s == "" {
				i++ // BSD sed -i ''
			}
		case len(s) > 1 && s[0] == '-' && !strings.HasPrefix(s, "--") && !f.dyn:
			for j := 1; j < len(s); j++ {
				ch := s[j]
				if ch == 'i' {
					inplace = true
					break
				}
				if ch == 'e' || ch == 'f' {
					scriptGiven = true
					if j+1 < len(s) {
						if ch == 'e' {
							scripts = append(scripts, s[j+1:])
						}
					} else if i+1 < len(rest) {
						if ch == 'e' {
							scripts = append(scripts, rest[i+1].s)
						}
						i++
					}
					break
				}
			}
		case strings.HasPrefix(s, "--"):
		default:
			ops = append(ops, f)
		}
	}
	if !scriptGiven && len(ops) > 0 {
		scripts = append(scripts, ops[0].s)
		ops = ops[1:]
	}
	if inplace {
		for _, f := range ops {
			a.writeTarget(f, cx, "edits")
		}
	}
	for _, sc := range scripts {
		a.sedScript(sc, cx)
	}
}

// sedScript finds commands a sed script runs (e, s///e) and files it writes (w, s///w).
func (a *analyzer) sedScript(sc string, cx *ctx) {
	if len(sc) > 8192 {
		sc = sc[:8192]
	}
	for i := 0; i < len(sc); i++ {
		// position at the start of a command: skip addresses
		c := sc[i]
		switch c {
		case 's', 'y':
			if i+1 >= len(sc) {
				return
			}
			d := sc[i+1]
			if d == '\\' || d == '\n' || d == ' ' && c == 'y' {
				continue
			}
			j, parts := i+2, 0
			for j < len(sc) && parts < 2 {
				if sc[j] == '\\' {
					j += 2
					continue
				}
				if sc[j] == d {
					parts++
				}
				j++
			}
			if c == 'y' {
				i = j - 1
				continue
			}
			k := j
			for k < len(sc) && strings.IndexByte("gpiImMe0123456789w", sc[k]) >= 0 {
				if sc[k] == 'e' {
					a.add(cx, Dangerous, "dynamic-command", "runs the result of a sed substitution as a command (s///e)")
				}
				if sc[k] == 'w' {
					file := strings.TrimSpace(sc[k+1:])
					if n := strings.IndexByte(file, '\n'); n >= 0 {
						file = file[:n]
					}
					a.writeTarget(a.literalPath(file), cx, "writes to")
					k = len(sc)
					break
				}
				k++
			}
			i = k - 1
		case 'e':
			if (i == 0 || strings.IndexByte(";\n{}0123456789$/! ", sc[i-1]) >= 0) && (i+1 == len(sc) || sc[i+1] == ' ' || sc[i+1] == ';' || sc[i+1] == '\n') {
				cmd := strings.TrimSpace(sc[i+1:])
				if n := strings.IndexAny(cmd, "\n"); n >= 0 {
					cmd = cmd[:n]
				}
				a.add(cx, Dangerous, "dynamic-command", "runs commands from a sed script (e command)")
				if cmd != "" {
					a.scriptQuiet(cmd, cx)
				}
				return
			}
		case 'w', 'W':
			if (i == 0 || strings.IndexByte(";\n{}0123456789$/! ", sc[i-1]) >= 0) && i+1 < len(sc) && sc[i+1] == ' ' {
				file := strings.TrimSpace(sc[i+1:])
				if n := strings.IndexByte(file, '\n'); n >= 0 {
					file = file[:n]
				}
				a.writeTarget(a.literalPath(file), cx, "writes to")
				return
			}
		case '\n', ';':
		}
	}
}

func (a *analyzer) download(name string, args []field, cx *ctx) {
	rest := args[1:]
	record := func(f field) {
		if f.s == "" || f.s == "-" || f.dyn {
			return
		}
		p := a.resolve(f.s)
		if a.downloads == nil {
			a.downloads = map[string]bool{}
		}
		a.downloads[p] = true
		a.writeTarget(f, cx, "downloads into")
	}
	var urls []string
	for _, f := range rest {
		if strings.Contains(f.s, "://") {
			urls = append(urls, f.s)
		}
	}
	urlBase := func() {
		for _, u := range urls {
			u, _, _ = strings.Cut(u, "?")
			if b := path.Base(u); b != "" && b != "/" && !strings.Contains(b, ":") {
				record(lit(b))
			}
		}
	}
	upload := func(v string) {
		v = strings.TrimPrefix(v, "@")
		if strings.Contains(v, "=@") {
			_, v, _ = strings.Cut(v, "=@")
		} else if strings.Contains(v, "=<") {
			_, v, _ = strings.Cut(v, "=<")
		}
		v, _, _ = strings.Cut(v, ";")
		p := a.resolve(a.literalPath(v).s)
		if what, ok := a.credential(p); ok {
			a.add(cx, Dangerous, "exfiltration", "uploads "+what+" to the network")
		} else if what, ok := a.sensitiveWrite(p); ok && p != "/dev/stdin" {
			a.add(cx, Dangerous, "exfiltration", "uploads "+what+" to the network")
		}
		if p == "/etc/shadow" || p == "/etc/passwd" {
			a.add(cx, Dangerous, "exfiltration", "uploads "+p+" to the network")
		}
	}
	switch name {
	case "curl", "curlie":
		for i, f := range rest {
			s := f.s
			next := func() field {
				if i+1 < len(rest) {
					return rest[i+1]
				}
				return field{}
			}
			switch {
			case s == "-o" || s == "--output":
				record(next())
			case strings.HasPrefix(s, "--output="):
				record(lit(s[len("--output="):]))
			case strings.HasPrefix(s, "-o") && len(s) > 2 && !strings.HasPrefix(s, "--"):
				record(lit(s[2:]))
			case s == "-O" || s == "--remote-name" || s == "--remote-name-all" || (strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "--") && strings.Contains(s, "O") && !strings.ContainsAny(s, "o")):
				urlBase()
			case s == "-T" || s == "--upload-file":
				upload(next().s)
			case s == "-F" || s == "--form" || s == "-d" || s == "--data" || s == "--data-binary" || s == "--data-raw" || s == "--data-urlencode" || s == "--json":
				if strings.Contains(next().s, "@") || strings.Contains(next().s, "=<") {
					upload(next().s)
				}
			}
		}
		for _, r := range cx.redirs {
			if r.Op.String() == ">" || r.Op.String() == ">>" {
				if r.N == nil || r.N.Value == "1" {
					record(a.wordString(r.Word))
				}
			}
		}
	case "wget", "wget2":
		named := false
		dir := ""
		for i, f := range rest {
			s := f.s
			switch {
			case s == "-O" || s == "--output-document":
				if i+1 < len(rest) {
					record(rest[i+1])
				}
				named = true
			case strings.HasPrefix(s, "--output-document="):
				record(lit(s[len("--output-document="):]))
				named = true
			case strings.HasPrefix(s, "-O") && len(s) > 2:
				record(lit(s[2:]))
				named = true
			case s == "-P" || s == "--directory-prefix":
				if i+1 < len(rest) {
					dir = rest[i+1].s
					a.writeTarget(rest[i+1], cx, "downloads into")
				}
			case strings.HasPrefix(s, "--post-file=") || strings.HasPrefix(s, "--body-file="):
				_, v, _ := strings.Cut(s, "=")
				upload(v)
			}
		}
		if !named {
			for _, u := range urls {
				u, _, _ = strings.Cut(u, "?")
				if b := path.Base(u); b != "" && b != "/" && !strings.Contains(b, ":") {
					if dir != "" {
						b = dir + "/" + b
					}
					record(lit(b))
				}
			}
		}
	default:
		for i, f := range rest {
			if (f.s == "-o" || f.s == "--out" || f.s == "--output" || f.s == "-O") && i+1 < len(rest) {
				record(rest[i+1])
			}
		}
	}
}

func (a *analyzer) archive(name string, args []field, cx *ctx) {
	rest := args[1:]
	switch name {
	case "tar", "bsdtar", "gtar":
		extract := false
		if len(rest) > 0 && !strings.HasPrefix(rest[0].s, "-") && strings.Contains(rest[0].s, "x") {
			extract = true
		}
		for i, f := range rest {
			s := f.s
			if s == "--extract" || s == "--get" || (len(s) > 1 && s[0] == '-' && s[1] != '-' && strings.Contains(s, "x")) {
				extract = true
			}
			var cmd string
			switch {
			case strings.HasPrefix(s, "--to-command="):
				cmd = s[len("--to-command="):]
			case strings.HasPrefix(s, "--checkpoint-action=exec="):
				cmd = s[len("--checkpoint-action=exec="):]
			case strings.HasPrefix(s, "--use-compress-program="):
				cmd = s[len("--use-compress-program="):]
			case strings.HasPrefix(s, "--info-script=") || strings.HasPrefix(s, "--new-volume-script="):
				_, cmd, _ = strings.Cut(s, "=")
			case (s == "-I" || s == "--use-compress-program" || s == "--to-command" || s == "-F" || s == "--info-script") && i+1 < len(rest):
				cmd = rest[i+1].s
			}
			if cmd != "" {
				a.scriptQuiet(cmd, cx)
			}
		}
		if !extract {
			return
		}
		for i, f := range rest {
			s := f.s
			var dir string
			switch {
			case (s == "-C" || s == "--directory") && i+1 < len(rest):
				dir = rest[i+1].s
			case strings.HasPrefix(s, "--directory="):
				dir = s[len("--directory="):]
			case strings.HasPrefix(s, "-C") && len(s) > 2:
				dir = s[2:]
			}
			if dir != "" {
				p := a.resolve(dir)
				if what, ok := a.sensitiveWrite(p); ok || p == "/" || a.isHomeDir(p) {
					if !ok {
						what = a.describeDir(p)
					}
					a.add(cx, Dangerous, "sensitive-write", "extracts an archive into "+what)
				}
			}
		}
	case "unzip", "7z", "7za", "unrar":
		for i, f := range rest {
			var dir string
			switch {
			case f.s == "-d" && i+1 < len(rest):
				dir = rest[i+1].s
			case strings.HasPrefix(f.s, "-o") && len(f.s) > 2 && name != "unzip":
				dir = f.s[2:]
			}
			if dir != "" {
				p := a.resolve(dir)
				if what, ok := a.sensitiveWrite(p); ok || p == "/" {
					if !ok {
						what = p
					}
					a.add(cx, Dangerous, "sensitive-write", "extracts an archive into "+what)
				}
			}
		}
	}
}

func (a *analyzer) netcat(name string, args []field, cx *ctx) {
	rest := args[1:]
	switch name {
	case "nc", "ncat", "netcat":
		for _, f := range rest {
			s := f.s
			if s == "-e" || s == "-c" || s == "--exec" || s == "--sh-exec" || s == "--lua-exec" ||
				(len(s) > 1 && s[0] == '-' && s[1] != '-' && strings.ContainsAny(s[1:], "ec") && !strings.ContainsAny(s[1:], "0123456789")) {
				a.add(cx, Dangerous, "reverse-shell", "connects a program to a network socket ("+name+" "+s+")")
				return
			}
		}
	case "socat":
		for _, f := range rest {
			l := strings.ToLower(f.s)
			if strings.HasPrefix(l, "exec:") || strings.HasPrefix(l, "system:") || strings.Contains(l, ",exec:") || strings.Contains(l, "!!exec:") {
				a.add(cx, Dangerous, "reverse-shell", "connects a program to a network socket (socat EXEC)")
				return
			}
		}
	case "openssl":
		if len(rest) > 0 && rest[0].s == "s_server" && hasFlag(rest, "", "") {
			return
		}
	}
}

func (a *analyzer) firewall(name string, args []field, cx *ctx) {
	rest := args[1:]
	f := func(reason string) { a.add(cx, Dangerous, "firewall", reason) }
	switch name {
	case "iptables", "ip6tables":
		if hasFlag(rest, "FX", "flush", "delete-chain") {
			f("flushes the firewall rules (" + name + " -F)")
		}
		for i, x := range rest {
			if (x.s == "-P" || x.s == "--policy") && i+2 < len(rest) && strings.EqualFold(rest[i+2].s, "ACCEPT") {
				f("opens the firewall (default policy ACCEPT)")
			}
		}
	case "nft":
		j := strings.ToLower(joinShow(rest))
		if strings.Contains(j, "flush ruleset") || strings.HasPrefix(j, "delete table") || strings.Contains(j, " delete table") {
			f("flushes the firewall rules (nft)")
		}
	case "ufw":
		ops := operands(rest, opts{})
		if len(ops) > 0 && (ops[0].s == "disable" || ops[0].s == "reset") {
			f("turns the firewall off (ufw " + ops[0].s + ")")
		}
	case "firewall-cmd":
		if hasFlag(rest, "", "panic-off") || hasFlag(rest, "", "set-default-zone=trusted") {
			f("opens the firewall (firewall-cmd)")
		}
	case "pfctl":
		if hasFlag(rest, "dF") {
			f("disables or flushes the packet filter (pfctl)")
		}
	}
}

func (a *analyzer) users(name string, args []field, cx *ctx) {
	rest := args[1:]
	switch name {
	case "userdel", "deluser", "groupdel":
		a.add(cx, Dangerous, "user-admin", "deletes a user or group ("+name+" "+clip(joinShow(rest), 40)+")")
	case "passwd", "chpasswd":
		if name == "passwd" && hasFlag(rest, "S", "status") {
			return
		}
		a.add(cx, Dangerous, "user-admin", "changes passwords ("+name+")")
	case "usermod":
		a.add(cx, Dangerous, "user-admin", "changes a user account ("+name+" "+clip(joinShow(rest), 40)+")")
	}
}

// hermesGrants are the hermes commands that change what hermes trusts or grants. Only the user
// may run them: run by the agent (its terminal tool) or a plugin (exec), they would let it
// install code, grant itself capabilities or trust a signing key without being asked.
var hermesGrants = map[string]bool{
	"plugins install": true, "plugins add": true, "plugins update": true, "plugins reset": true,
	"plugins enable": true, "keys trust": true, "keys generate": true, "skills install": true,
	"skills reset": true, "config set": true,
	// Who may talk to the agent from a chat platform.
	"gateway allow": true, "gateway pair": true,
}

// hermesSelf flags hermes commands that change its own trust: see hermesGrants.
func (a *analyzer) hermesSelf(args []field, cx *ctx) {
	var words []string
	for i := 1; i < len(args) && len(words) < 3; i++ {
		w := args[i].s
		switch {
		case w == "--profile" || w == "--log-level":
			i++ // its value
		case strings.HasPrefix(w, "-"):
		default:
			words = append(words, w)
		}
	}
	if len(words) < 2 {
		return
	}
	cmd := words[0] + " " + words[1]
	// config set KEY: settings (lower-case, dotted: plugins.project_local, api.*) change what
	// hermes allows; a variable-style name is a key going to .env, which grants nothing —
	// except a gateway allowlist (TELEGRAM_ALLOWED_USERS), which lets people talk to the agent.
	if cmd == "config set" && len(words) == 3 && envStyleName().MatchString(words[2]) && !strings.HasSuffix(words[2], "_ALLOWED_USERS") {
		return
	}
	if hermesGrants[cmd] {
		a.add(cx, Dangerous, "self-grant", "changes what hermes trusts or grants (hermes "+cmd+"); only you should run it")
	}
}

var envStyleName = lazyRegexp(`^[A-Z][A-Z0-9_]*$`)
