package classify

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// ---- cloud metadata ---------------------------------------------------------------------

var metaNames = []string{
	"169.254.169.254", "metadata.google.internal", "metadata.goog", "fd00:ec2::254",
	"100.100.100.200", "169.254.170.2", "168.63.129.16", "metadata.azure.internal",
	"metadata.tencentyun.com", "metadata.platformequinix.com", "metadata.packet.net",
	"169.254.169.123", "[fd00:ec2::254]", "//instance-data/", "//instance-data.ec2.internal",
}

var metaIPs = []net.IP{
	net.ParseIP("169.254.169.254"), net.ParseIP("100.100.100.200"), net.ParseIP("169.254.170.2"),
	net.ParseIP("168.63.129.16"), net.ParseIP("fd00:ec2::254"),
}

// metadataAddr finds a cloud metadata service address in s, including numeric disguises
// (2852039166, 0xa9fea9fe, 0251.0376.0251.0376, ::ffff:a9fe:a9fe).
func metadataAddr(s string) (string, bool) {
	if len(s) < 7 {
		return "", false
	}
	ls := s
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			ls = strings.ToLower(s)
			break
		}
	}
	for _, m := range metaNames {
		if strings.Contains(ls, m) {
			return m, true
		}
	}
	digits := false
	for i := 0; i < len(ls); i++ {
		if ls[i] >= '0' && ls[i] <= '9' {
			digits = true
			break
		}
	}
	if !digits {
		return "", false
	}
	// numeric host forms
	start := -1
	for i := 0; i <= len(ls); i++ {
		hostChar := i < len(ls) && (ls[i] >= '0' && ls[i] <= '9' || ls[i] >= 'a' && ls[i] <= 'f' || ls[i] == 'x' || ls[i] == '.' || ls[i] == ':')
		if hostChar {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			tok := strings.Trim(ls[start:i], ".:")
			start = -1
			if len(tok) < 7 || len(tok) > 45 {
				continue
			}
			if ip := inetAton(tok); ip != nil {
				for _, m := range metaIPs {
					if ip.Equal(m) {
						return m.String() + " (written as " + tok + ")", true
					}
				}
			}
		}
	}
	return "", false
}

// inetAton parses the loose IPv4 forms inet_aton(3) accepts, and IPv6.
func inetAton(s string) net.IP {
	if strings.Contains(s, ":") {
		return net.ParseIP(s)
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return nil
	}
	var nums []uint64
	for _, p := range parts {
		if p == "" {
			return nil
		}
		var n uint64
		var err error
		switch {
		case strings.HasPrefix(p, "0x"):
			n, err = strconv.ParseUint(p[2:], 16, 32)
		case len(p) > 1 && p[0] == '0':
			n, err = strconv.ParseUint(p[1:], 8, 32)
		default:
			n, err = strconv.ParseUint(p, 10, 32)
		}
		if err != nil {
			return nil
		}
		nums = append(nums, n)
	}
	var v uint64
	switch len(nums) {
	case 1:
		v = nums[0]
		if len(s) < 8 { // plain small numbers are not addresses
			return nil
		}
	case 2:
		if nums[0] > 255 || nums[1] > 0xffffff {
			return nil
		}
		v = nums[0]<<24 | nums[1]
	case 3:
		if nums[0] > 255 || nums[1] > 255 || nums[2] > 0xffff {
			return nil
		}
		v = nums[0]<<24 | nums[1]<<16 | nums[2]
	case 4:
		for _, n := range nums {
			if n > 255 {
				return nil
			}
		}
		v = nums[0]<<24 | nums[1]<<16 | nums[2]<<8 | nums[3]
	}
	if v > 0xffffffff {
		return nil
	}
	return net.IPv4(byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// scanText flags cloud metadata addresses in any argument, assignment or here-document.
func (a *analyzer) scanText(s string, cx *ctx) {
	if m, ok := metadataAddr(s); ok {
		a.add(cx, Dangerous, "cloud-metadata", "accesses the cloud metadata service ("+m+"), which can leak credentials")
	}
}

// rawScan looks at the command line as written, with quotes and backslashes removed, so that
// addresses split by quoting are still seen.
func (a *analyzer) rawScan(src string, cx *ctx) {
	if !strings.ContainsAny(src, "'\"\\") {
		return // the per-argument scan has seen it all
	}
	clean := strings.Map(func(r rune) rune {
		switch r {
		case '\'', '"', '\\':
			return -1
		}
		return r
	}, src)
	a.scanText(clean, cx)
}

// ---- SQL --------------------------------------------------------------------------------

var (
	sqlCommentRe = lazyRegexp(`(?s)/\*.*?\*/|--[^\n]*`)
	sqlDropRe    = lazyRegexp(`(?i)\bDROP\s+(?:TEMPORARY\s+|TEMP\s+)?(TABLE|DATABASE|SCHEMA|MATERIALIZED\s+VIEW|VIEW|INDEX|USER|ROLE|OWNED|COLLECTION|KEYSPACE|SEQUENCE|TABLESPACE|EXTENSION)\b`)
	sqlTruncRe   = lazyRegexp(`(?i)\bTRUNCATE\b(?:\s+TABLE)?\s+[\w."` + "`" + `\[]`)
	sqlDeleteRe  = lazyRegexp(`(?i)\bDELETE\b[^;]*?\bFROM\b`)
	sqlUpdateRe  = lazyRegexp(`(?i)\bUPDATE\s+[\w."` + "`" + `\[\]]+\s+SET\b`)
	sqlWhereRe   = lazyRegexp(`(?i)\bWHERE\b`)
	sqlTrivialRe = lazyRegexp(`(?i)\bWHERE\s+(?:1\s*=\s*1|true|1|'1'\s*=\s*'1'|0\s*=\s*0)\s*(?:;|$|\bLIMIT\b|\bRETURNING\b)`)
	sqlAlterRe   = lazyRegexp(`(?i)\bALTER\s+TABLE\b[^;]*\bDROP\b`)
	mongoRe      = lazyRegexp(`(?i)dropDatabase\s*\(|\.drop\s*\(|deleteMany\s*\(\s*\{\s*\}|remove\s*\(\s*\{\s*\}|dropAllUsers`)
	sqlQuickRe   = lazyRegexp(`(?i)drop|truncate|delete|update|alter`)
)

// sqlDestructive reports whether SQL text drops, truncates or deletes/updates without WHERE.
func sqlDestructive(text string) (string, bool) {
	if !sqlQuickRe().MatchString(text) {
		return "", false
	}
	t := sqlCommentRe().ReplaceAllString(text, " ")
	if m := sqlDropRe().FindStringSubmatch(t); m != nil {
		return "runs SQL DROP " + strings.ToUpper(strings.Join(strings.Fields(m[1]), " ")), true
	}
	if sqlTruncRe().MatchString(t) {
		return "runs SQL TRUNCATE", true
	}
	if sqlAlterRe().MatchString(t) {
		return "runs SQL ALTER TABLE … DROP", true
	}
	for _, st := range strings.Split(t, ";") {
		where := sqlWhereRe().MatchString(st) && !sqlTrivialRe().MatchString(st+";")
		if sqlDeleteRe().MatchString(st) && !where {
			return "runs SQL DELETE without a WHERE clause", true
		}
		if sqlUpdateRe().MatchString(st) && !where {
			return "runs SQL UPDATE without a WHERE clause", true
		}
	}
	return "", false
}

// ---- code in other languages (python -c, perl -e, awk, …) --------------------------------

var (
	strLitRe      = lazyRegexp(`'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)"`)
	backtickRe    = lazyRegexp("`([^`]+)`|%x[({\\[]([^)}\\]]+)[)}\\]]|\\bqx\\s*[({\\[/]([^)}\\]/]+)")
	execishRe     = lazyRegexp(`\b(?:system|popen|spawn\w*|exec[a-zA-Z]*|subprocess|check_output|check_call|getoutput|getstatusoutput|shell_exec|passthru|proc_open|Popen|run|call|Open3|do shell script|Command|start_process|ProcessBuilder|getRuntime|Invoke-Expression|iex|pcntl_exec)\b|\|\s*getline|print[^;|]*\|\s*"`)
	downloadRunRe = lazyRegexp(`(?i)\b(?:exec|eval|Invoke-Expression|iex|load|instance_eval|run_string)\b[\s(]*[^;]*?(?:urlopen|urllib|requests\.get|http\.client|fetch\s*\(|Net::HTTP|open-uri|URI\.open|LWP|get\s*\(\s*['"]https?|file_get_contents\s*\(\s*['"]https?|DownloadString|Invoke-WebRequest|iwr|irm|Invoke-RestMethod|curl|wget|httpx)`)
	forkBombRe    = lazyRegexp(`fork\s*(?:\(\s*\))?\s*while\s+(?:fork|1|true)|while\s*\(?\s*(?:1|True|true|fork\s*(?:\(\s*\))?)\s*\)?\s*[:{]?\s*(?:do\s+)?(?:os\.|Process\.|pcntl_)?fork\s*\(|loop\s*(?:\{|do)\s*(?:Process\.)?fork|for\s*\(\s*;\s*;\s*\)\s*\{?\s*(?:pcntl_)?fork`)
	socketRe      = lazyRegexp(`socket\.socket|\bsocket\s*\(|TCPSocket|IO::Socket|fsockopen|net\.Socket|net\.connect|createConnection|Socket\.new|/dev/tcp/|SOCK_STREAM|Net\.Sockets|TCPClient`)
	shellishRe    = lazyRegexp(`/bin/(?:ba|z|da|k)?sh\b|\bpty\.spawn|\bdup2\b|\bsubprocess\b|child_process|\bspawn\s*\(|proc_open|cmd\.exe|\bexec\s*\(|['"](?:ba|z)?sh['"]|-i['"]|powershell|iex`)
	rmtreeRe      = lazyRegexp(`(?i)rmtree\s*\(|\brm_r[f]?\s*\(|FileUtils\.rm_r|remove_tree\s*\(|rimraf|rmSync\s*\((?:[^()]|\([^()]*\))*recursive|rmdirSync\s*\((?:[^()]|\([^()]*\))*recursive|fs\.rm\s*\((?:[^()]|\([^()]*\))*recursive|RemoveAll\s*\(|Remove-Item[^;|]*-Recurse|fs\.promises\.rm\s*\(`)
	homeExprRe    = lazyRegexp(`expanduser\(\s*['"]~/?['"]\s*\)|Path\.home\(\)|environ\[\s*['"]HOME['"]\s*\]|getenv\(\s*['"]HOME['"]\s*\)|process\.env\.HOME|\bhomedir\(\)|ENV\[\s*['"]HOME['"]\s*\]|Dir\.home|\$ENV\{\s*['"]?HOME['"]?\s*\}|\$HOME|\$env:USERPROFILE|\$HOME`)
	writeishRe    = lazyRegexp(`open\s*\([^)]*,\s*['"][^'"]*[wa+]|write_text|write_bytes|writeFileSync|writeFile|appendFile|file_put_contents|File\.write|File\.open\([^)]*['"][wa]|fopen\([^)]*['"][wa]|\bunlink|os\.remove|shutil\.(?:move|copy)|os\.rename|Set-Content|Add-Content|Out-File|>>?\s*"`)
	killAllRe     = lazyRegexp(`kill\s*\(\s*-1\s*,|process\.kill\s*\(\s*-1\b|\bkill\s*\(?\s*(?:9|-9|['"]?(?:SIG)?KILL['"]?|['"]?-?(?:SIG)?KILL['"]?)\s*,\s*-1\b|Process\.kill\([^,]+,\s*-1\)|killpg\s*\(\s*0|os\.kill\s*\(\s*-1`)
	sqlExecRe     = lazyRegexp(`(?i)execute|exec\b|query|cursor|\.run\(|prepare`)
)

// callArgs cuts span (the text after a call's opening parenthesis) at the parenthesis that
// closes the call, so that arguments with calls of their own (require('os').homedir()) are kept
// whole; a newline or a semicolon outside parentheses ends it too.
func callArgs(span string) string {
	depth := 0
	for i, c := range span {
		switch c {
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return span[:i]
			}
			depth--
		case '\n', ';':
			if depth == 0 {
				return span[:i]
			}
		}
	}
	return span
}

func unescapeLit(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	r := strings.NewReplacer(`\\`, `\`, `\'`, `'`, `\"`, `"`, `\n`, "\n", `\t`, "\t")
	return r.Replace(s)
}

func strLits(src string) []string {
	var out []string
	for _, m := range strLitRe().FindAllStringSubmatch(src, 64) {
		v := m[1]
		if v == "" {
			v = m[2]
		}
		out = append(out, unescapeLit(v))
	}
	return out
}

// inlineCode checks code given to an interpreter (python -c, perl -e, node -e, awk, …).
func (a *analyzer) inlineCode(lang string, code field, cx *ctx) {
	if code.dl {
		a.add(cx, Dangerous, "pipe-to-shell", "runs code downloaded by a command substitution with "+lang)
	}
	if code.dec {
		a.add(cx, Dangerous, "pipe-to-shell", "runs decoded (obfuscated) code with "+lang)
	}
	src := code.s
	if src == "" || !a.step(cx) {
		return
	}
	if len(src) > MaxCommandLen {
		src = src[:MaxCommandLen]
	}
	a.scanText(src, cx)
	low := strings.ToLower(src)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(low, w) {
				return true
			}
		}
		return false
	}
	if has("exec", "eval", "iex", "invoke-expression", "load", "run_string") &&
		has("url", "http", "fetch", "lwp", "get", "curl", "wget", "iwr", "irm", "invoke-") && downloadRunRe().MatchString(src) {
		a.add(cx, Dangerous, "pipe-to-shell", "downloads and runs code with "+lang)
	}
	if has("fork") && forkBombRe().MatchString(src) {
		a.add(cx, Hardline, "fork-bomb", "is a fork bomb written in "+lang)
	}
	if has("kill") && killAllRe().MatchString(src) {
		a.add(cx, Hardline, "kill-all", "kills every process (kill -1) from "+lang+" code")
	}
	if has("sock", "/dev/tcp", "tcpclient", "createconnection", "net.connect") && socketRe().MatchString(src) && shellishRe().MatchString(src) {
		a.add(cx, Dangerous, "reverse-shell", "connects a shell to a network socket from "+lang+" code")
	}
	var loc []int
	if has("rmtree", "rm_r", "remove_tree", "rimraf", "rmsync", "rmdirsync", "fs.rm", "removeall", "remove-item", "promises.rm") {
		loc = rmtreeRe().FindStringIndex(src)
	}
	if loc != nil {
		span := src[loc[0]:]
		if i := strings.IndexByte(span, '('); i >= 0 {
			span = span[i+1:]
		}
		span = callArgs(span)
		what, hard := "", false
		if homeExprRe().MatchString(span) {
			what, hard = "your home directory", true
		} else if lits := strLits(span); len(lits) > 0 {
			f := a.literalPath(lits[0])
			what, hard = a.wipeTarget(f)
			if !hard {
				what = lits[0]
			}
		}
		if hard {
			a.add(cx, Hardline, "recursive-delete", "deletes "+what+" recursively from "+lang+" code")
		} else {
			if what == "" {
				what = "a directory tree"
			}
			a.add(cx, Dangerous, "recursive-delete", "deletes "+what+" recursively from "+lang+" code")
		}
	}
	lits := strLits(src)
	// commands run through the shell
	var shellCode []string
	for _, m := range backtickRe().FindAllStringSubmatch(src, 16) {
		for _, g := range m[1:] {
			if g != "" {
				shellCode = append(shellCode, g)
			}
		}
	}
	for _, loc := range execishRe().FindAllStringIndex(src, 16) {
		span := src[loc[1]:]
		if len(span) > 400 {
			span = span[:400]
		}
		// up to the end of the call
		depth, end := 0, len(span)
	scan:
		for i := 0; i < len(span); i++ {
			switch span[i] {
			case '(', '[', '{':
				depth++
			case ')', ']', '}':
				depth--
				if depth <= 0 {
					end = i
					break scan
				}
			case ';', '\n':
				if depth <= 0 {
					end = i
					break scan
				}
			}
		}
		ls := strLits(span[:end])
		switch {
		case len(ls) == 1:
			shellCode = append(shellCode, ls[0])
		case len(ls) > 1:
			q := make([]string, len(ls))
			for i, l := range ls {
				q[i] = shellQuote(l)
			}
			shellCode = append(shellCode, strings.Join(q, " "))
			shellCode = append(shellCode, ls...)
		}
	}
	if lang == "awk" && execishRe().MatchString(src) {
		shellCode = append(shellCode, lits...)
	}
	for i, s := range shellCode {
		if i >= 24 {
			break
		}
		c := cx.child()
		a.scriptQuiet(s, c)
	}
	// sensitive files written from code
	writes := has("open", "write", "file", "unlink", "remove", "rename", "content", ">", "shutil") && writeishRe().MatchString(src)
	for _, l := range lits {
		if l == ">" || l == ">>" || l == "+>" || l == "+<" || l == "w" || l == "a" {
			writes = writes || l == ">" || l == ">>" || l == "+>"
		}
	}
	if writes {
		for _, l := range lits {
			p := strings.TrimLeft(l, "+<>| ")
			if !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~") {
				continue
			}
			f := a.literalPath(p)
			if isBlockDevice(a.resolve(f.s)) {
				a.add(cx, Hardline, "disk-wipe", "writes to the block device "+f.s+" from "+lang+" code")
				break
			}
			if what, ok := a.sensitiveWrite(a.resolve(f.s)); ok {
				a.add(cx, Dangerous, "sensitive-write", "writes to "+what+" from "+lang+" code")
				break
			}
		}
	}
	if has("drop", "truncate", "delete", "update", "alter") && sqlExecRe().MatchString(src) {
		for _, l := range lits {
			if reason, ok := sqlDestructive(l); ok {
				a.add(cx, Dangerous, "sql-destructive", reason+" from "+lang+" code")
				break
			}
		}
	}
	if (lang == "mongo" || lang == "mongosh") && mongoRe().MatchString(src) {
		a.add(cx, Dangerous, "sql-destructive", "drops or empties a MongoDB database or collection")
	}
}

// literalPath expands a leading ~ in a path written inside code.
func (a *analyzer) literalPath(s string) field {
	if s == "~" {
		return lit(a.home)
	}
	if strings.HasPrefix(s, "~/") {
		return lit(a.home + s[1:])
	}
	return lit(s)
}

// scriptQuiet parses a string that may or may not be shell code (taken from another language)
// and analyses it if it parses.
func (a *analyzer) scriptQuiet(code string, cx *ctx) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 8192 || !a.step(cx) {
		return
	}
	a.reparsed += len(code)
	if a.reparsed > maxReparse {
		return
	}
	f, err := a.parse(code)
	if err != nil {
		return
	}
	c := cx.child()
	c.node, c.text = nil, ""
	a.stmts(f.Stmts, c)
}

// lazyRegexp compiles pattern on first use rather than at start-up, which every command pays.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
