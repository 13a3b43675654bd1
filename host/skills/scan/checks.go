package scan

import (
	"fmt"
	"math"
	"net/url"
	"path"
	"sort"
	"strings"
	"unicode/utf8"
)

// ---- secrets used over the network without being declared

// secretRefREs find references to environment variables in shell and common languages. They
// run on the logical view, where quotes are gone: os.environ["X"] reads os.environ[X].
var secretRefREs = []*lazyRE{
	lazy(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`),
	lre(`\bos\.environ\s*\[\s*([a-z_][a-z0-9_]*)\s*\]`),
	lre(`\bos\.(?:environ\.get|getenv)\s*\(\s*([a-z_][a-z0-9_]*)`),
	lre(`\bprocess\.env\.([a-z_][a-z0-9_]*)`),
	lre(`\bprocess\.env\[\s*([a-z_][a-z0-9_]*)\s*\]`),
	lre(`\benv(?:\.fetch\(|\[)\s*:?([a-z_][a-z0-9_]*)`),
	lre(`\$env:([a-z_][a-z0-9_]*)`),
	lre(`%([a-z_][a-z0-9_]*)%`),
}

var secretRefMs []matcher // secretRefREs with their line filters (set in init)

// secretParts are name parts that make a variable look like a secret.
var secretParts = map[string]bool{"KEY": true, "APIKEY": true, "TOKEN": true, "SECRET": true, "PASSWORD": true,
	"PASSWD": true, "PASS": true, "CREDENTIAL": true, "CREDENTIALS": true, "AUTH": true, "COOKIE": true, "PAT": true,
	"PRIVATE": true}

func secretName(name string) bool {
	upper := strings.ToUpper(name)
	for _, part := range strings.Split(upper, "_") {
		if secretParts[part] {
			return true
		}
	}
	for _, suffix := range []string{"TOKEN", "SECRET", "PASSWORD", "PASSWD", "APIKEY", "CREDENTIALS"} {
		if strings.HasSuffix(upper, suffix) {
			return true
		}
	}
	return false
}

var (
	headerContextRE = lre(`\s-h\s|--header\b|\bheaders?\s*[=:\[{(]|\bauthorization\b|\bbearer\b|\bx-api-key\b|\bapi-key\s*:|\bsetrequestheader\b|-headers\b|\bauth\s*=`)
	urlRE           = lazy(`(?i)\bhttps?://[^\s/"'<>)]+`)
)

// loopbackOnly reports whether every URL on a line goes to this machine: a token sent to a
// local server stays here.
func loopbackOnly(line string) bool {
	urls := urlRE.FindAllString(line, -1)
	if len(urls) == 0 {
		return false
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			return false
		}
		switch strings.ToLower(u.Hostname()) {
		case "localhost", "127.0.0.1", "::1", "0.0.0.0":
		default:
			return false
		}
	}
	return true
}

// logicalLine is one line of a view with its offset.
type logicalLine struct {
	text string
	off  int
}

func splitLines(s string) []logicalLine {
	var out []logicalLine
	for off := 0; off <= len(s); {
		end := strings.IndexByte(s[off:], '\n')
		if end < 0 {
			out = append(out, logicalLine{s[off:], off})
			break
		}
		out = append(out, logicalLine{s[off : off+end], off})
		off += end + 1
	}
	return out
}

// undeclaredSecrets flags a secret-looking variable the skill did not declare in
// required_environment_variables, used near a network call: in a header (it may just be the
// API's key) it is caution, anywhere else (URL, body, upload) it is dangerous.
func (s *scanner) undeclaredSecrets(c *ctx, v text, code bool) {
	lower := lowerASCII(v.s)
	var netLines []int
	for _, m := range networkM.findAll(v.s, lower) {
		if line := v.lineAt(m[0]); (len(netLines) == 0 || netLines[len(netLines)-1] != line) && !loopbackOnly(lineOf(v.s, m[0])) {
			netLines = append(netLines, line)
		}
	}
	if len(netLines) == 0 {
		return
	}
	window := 0
	if code {
		window = 5
	}
	for _, rm := range secretRefMs {
		for _, m := range rm.findAllSubmatch(v.s, lower) {
			name := v.s[m[2]:m[3]]
			if !secretName(name) || s.declared[strings.ToUpper(name)] {
				continue
			}
			line := v.lineAt(m[0])
			if i := sort.SearchInts(netLines, line-window); i == len(netLines) || netLines[i] > line+window {
				continue
			}
			text := lineOf(v.s, m[0])
			sev, reason := Dangerous, "sends "+name+", a secret the skill does not declare in required_environment_variables, over the network"
			if headerContextRE.MatchString(text) {
				sev, reason = Caution, "uses "+name+", a secret the skill does not declare in required_environment_variables, in a request header"
			}
			c.add(line, Exfiltration, sev, "exfil-undeclared-secret", reason, text)
		}
	}
}

// ---- unpinned installs

var installM matcher // installRE with its line filter (set in init)

var installRE = lre(`\b(pip3?|pipx|python[0-9.]*\s+-m\s+pip|uv\s+pip|uv\s+tool|npm|yarn|pnpm|bun|npx|bunx|cargo|gem|go)\s+((?:global\s+)?(?:install|i|add|dlx|get))?\b([^\n;&|#)]*)`)

// valueFlags take the next word as their value, so it is not a package.
var valueFlags = map[string]bool{"-r": true, "--requirement": true, "-c": true, "--constraint": true, "-e": true,
	"--editable": true, "-i": true, "--index-url": true, "--extra-index-url": true, "-t": true, "--target": true,
	"--prefix": true, "--root": true, "--python": true, "-f": true, "--find-links": true, "--platform": true,
	"--python-version": true, "--only-binary": true, "--no-binary": true, "--trusted-host": true, "--registry": true,
	"--path": true, "--git": true, "--rev": true, "--tag": true, "--branch": true, "-v": true, "--version": true,
	"--workspace": true, "-w": true, "--filter": true, "--cache": true, "--prefix-dir": true, "-p": true, "--package": true}

// unpinned flags package installs that do not pin a version: the next release of a package (or
// of a hijacked one) is what runs.
func (s *scanner) unpinned(c *ctx, v text) {
	for _, m := range installM.findAllSubmatch(v.s, lowerASCII(v.s)) {
		tool := strings.ToLower(strings.Join(strings.Fields(v.s[m[2]:m[3]]), " "))
		verb := ""
		if m[4] >= 0 {
			verb = strings.ToLower(strings.TrimSpace(v.s[m[4]:m[5]]))
		}
		// The command ends at a closing backtick (`pip install x` or set y) and at the first
		// word of prose after it (pip install x and restart).
		end := m[7]
		if i := strings.IndexByte(v.s[m[6]:end], '`'); i >= 0 {
			end = m[6] + i
		}
		args := commandWords(strings.Fields(v.s[m[6]:end]))
		var bad []string
		switch {
		case tool == "npx" || tool == "bunx" || verb == "dlx":
			// npx runs a package, from the network when it is not installed. Only -y (no
			// question asked) makes that certain; "npx eslint" usually runs a local one.
			if !hasAnyFlag(args, "-y", "--yes") && verb != "dlx" {
				continue
			}
			if p := firstOperand(args); p != "" && !npmPinned(p) {
				bad = append(bad, p)
			}
		case verb == "":
			continue
		case tool == "go":
			if verb == "install" || verb == "get" {
				for _, a := range operands(args) {
					if strings.HasSuffix(a, "@latest") || (verb == "install" && !strings.Contains(a, "@") && strings.Contains(a, ".")) {
						bad = append(bad, a)
					}
				}
			}
		case tool == "cargo":
			if verb == "install" && !hasAnyFlag(args, "--version", "--vers", "--path", "--git", "--locked") {
				for _, a := range operands(args) {
					if !strings.Contains(a, "@") {
						bad = append(bad, a)
					}
				}
			}
		case tool == "gem":
			if verb == "install" && !hasAnyFlag(args, "-v", "--version") {
				for _, a := range operands(args) {
					if !strings.Contains(a, ":") && !strings.HasSuffix(a, ".gem") {
						bad = append(bad, a)
					}
				}
			}
		case tool == "npm" || tool == "yarn" || tool == "pnpm" || tool == "bun":
			if verb == "get" {
				continue
			}
			for _, a := range operands(args) {
				if !npmPinned(a) {
					bad = append(bad, a)
				}
			}
		default: // pip and friends
			if verb != "install" {
				continue
			}
			for _, a := range operands(args) {
				if !pipPinned(a) {
					bad = append(bad, a)
				}
			}
		}
		if len(bad) > 0 {
			c.add(v.lineAt(m[0]), SupplyChain, Caution, "supply-chain-unpinned",
				"installs "+strings.Join(bad, ", ")+" without pinning a version", v.s[m[0]:end])
		}
	}
}

// proseWords end a command written inline in a sentence: "pip install foo or set bar".
var proseWords = map[string]bool{"and": true, "or": true, "then": true, "to": true, "with": true, "if": true,
	"first": true, "before": true, "after": true, "so": true, "which": true, "from": true, "into": true, "for": true,
	"in": true, "on": true, "when": true, "the": true, "a": true, "an": true, "is": true, "are": true, "installs": true,
	"once": true, "as": true, "via": true, "using": true, "also": true, "it": true, "that": true, "this": true}

// commandWords keeps the words of an install command up to where prose resumes: a word such
// as "or" or "then", or the word that ends a sentence (its "." or "," removed), or a
// parenthesis.
func commandWords(words []string) []string {
	for i, w := range words {
		if proseWords[strings.ToLower(w)] || strings.HasPrefix(w, "(") {
			return words[:i]
		}
		if t := strings.TrimRight(w, ".,:;!?)"); t != w {
			if t == "" {
				return words[:i]
			}
			return append(words[:i:i], t)
		}
	}
	return words
}

func hasAnyFlag(args []string, flags ...string) bool {
	for _, a := range args {
		name, _, _ := strings.Cut(a, "=")
		for _, f := range flags {
			if name == f {
				return true
			}
		}
	}
	return false
}

// operands are the arguments that name packages: not flags or their values, not placeholders,
// not local paths.
func operands(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			if valueFlags[a] {
				i++
			}
			continue
		}
		if a == "" || strings.ContainsAny(a, "<>{}[]$*`\\") || strings.HasPrefix(a, ".") || strings.HasPrefix(a, "/") ||
			strings.HasPrefix(a, "~") || strings.HasSuffix(a, ".whl") || strings.HasSuffix(a, ".txt") ||
			strings.HasPrefix(a, "file:") || a == "install" || a == "i" || a == "add" {
			continue
		}
		out = append(out, a)
	}
	return out
}

func firstOperand(args []string) string {
	if ops := operands(args); len(ops) > 0 {
		return ops[0]
	}
	return ""
}

var commitRE = lazy(`@[0-9a-f]{7,40}\b`)

func pipPinned(a string) bool {
	switch {
	case strings.Contains(a, "=="), strings.Contains(a, "==="):
		return true
	case strings.HasPrefix(a, "git+"), strings.HasPrefix(a, "hg+"):
		return commitRE.MatchString(a)
	case strings.HasPrefix(a, "http://"), strings.HasPrefix(a, "https://"):
		return strings.Contains(a, "#sha256=")
	case strings.Contains(a, "@") && !strings.Contains(a, "://"):
		return true // name @ url/version forms
	}
	return false
}

func npmPinned(a string) bool {
	at := strings.LastIndexByte(a, '@')
	if at <= 0 { // no version, or only the scope's @
		return strings.HasPrefix(a, "git+") && strings.Contains(a, "#")
	}
	ver := a[at+1:]
	return ver != "" && ver != "latest" && ver != "next" && !strings.ContainsAny(ver, "^~*x><")
}

// requirements flags unpinned lines in a pip requirements file.
func (s *scanner) requirements(c *ctx, v text) {
	for _, l := range splitLines(v.s) {
		line := strings.TrimSpace(l.text)
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-") {
			continue
		}
		if !pipPinned(line) && !strings.Contains(line, "--hash") {
			c.add(v.lineAt(l.off), SupplyChain, Caution, "supply-chain-unpinned",
				"requires "+line+" without pinning a version", l.text)
		}
	}
}

// ---- credentials written into the skill

type credentialRule struct {
	id     string
	reason string
	sev    Severity
	re     *lazyRE
	m      matcher // set in init
}

// Case matters for these (AKIA…, ghp_…), so they are not lre patterns; their classes never
// include a line break.
var credentialRules = []credentialRule{
	{"credential-private-key", "contains a private key", Dangerous,
		lazy(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----`), matcher{}},
	{"credential-openai", "contains what looks like an OpenAI, Anthropic or OpenRouter API key", Dangerous,
		lazy(`\bsk-(?:proj-|ant-(?:api\d+-)?|or-v1-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}`), matcher{}},
	{"credential-github", "contains what looks like a GitHub token", Dangerous,
		lazy(`\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b`), matcher{}},
	{"credential-aws", "contains what looks like an AWS access key", Dangerous,
		lazy(`\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b|(?i:aws_secret_access_key|secretaccesskey)["']?[ \t]*[:=][ \t]*["']?[A-Za-z0-9/+]{40}\b`), matcher{}},
	{"credential-slack", "contains what looks like a Slack token or webhook", Dangerous,
		lazy(`\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]{20,}`), matcher{}},
	{"credential-google", "contains what looks like a Google API key", Dangerous,
		lazy(`\bAIza[0-9A-Za-z_-]{35}\b`), matcher{}},
	{"credential-stripe", "contains what looks like a live Stripe key", Dangerous,
		lazy(`\b(?:sk|rk)_live_[0-9A-Za-z]{20,}\b`), matcher{}},
	{"credential-token", "contains what looks like a Hugging Face, GitLab or npm token", Dangerous,
		lazy(`\bhf_[A-Za-z0-9]{30,}\b|\bglpat-[A-Za-z0-9_-]{20,}\b|\bnpm_[A-Za-z0-9]{36}\b`), matcher{}},
	{"credential-assignment", "assigns what looks like a real secret to a key, token or password setting", Caution,
		lazy(`(?i)\b(?:api[_-]?key|api[_-]?secret|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|password|passwd|private[_-]?key)\b["']?[ \t]*[:=][ \t]*["']([^"'\s$<>{}()\[\]]{12,})["']`), matcher{}},
}

// placeholder reports tokens that are documentation, not secrets: AWS's own example key,
// "sk-xxxx…", "your-api-key-here", repeated or low-entropy strings.
func placeholder(tok string) bool {
	lower := strings.ToLower(tok)
	for _, w := range []string{"example", "xxxx", "your", "placeholder", "changeme", "dummy", "sample", "fake",
		"redacted", "test", "...", "***", "0000000", "1234567", "abcdef", "replace", "insert"} {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return entropy(tok) < 3.0
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	if s == "" {
		return 0
	}
	counts := map[rune]int{}
	n := 0
	for _, r := range s {
		counts[r]++
		n++
	}
	h := 0.0
	for _, c := range counts {
		p := float64(c) / float64(n)
		h -= p * math.Log2(p)
	}
	return h
}

// mask shows enough of a secret to find it, never the secret.
func mask(tok string) string {
	if strings.HasPrefix(tok, "-----BEGIN") {
		return tok
	}
	keep := min(6, len(tok)/4)
	return fmt.Sprintf("%s… (%d characters, masked)", tok[:keep], len(tok))
}

func (s *scanner) credentials(c *ctx, n text) {
	lower := lowerASCII(n.s)
	for _, r := range credentialRules {
		for _, m := range r.m.findAllSubmatch(n.s, lower) {
			tok := n.s[m[0]:m[1]]
			if len(m) >= 4 && m[2] >= 0 {
				tok = n.s[m[2]:m[3]]
			}
			if r.id != "credential-private-key" && placeholder(tok) {
				continue
			}
			c.add(n.lineAt(m[0]), Credential, r.sev, r.id, r.reason, mask(tok))
		}
	}
}

// ---- hidden text

// hidden looks at the raw text for what normalising removes: characters that hide or reorder
// text, tag characters smuggling invisible ASCII, and words disguised with look-alike letters.
// Tag-character text is decoded and scanned as prose.
func (s *scanner) hidden(c *ctx, raw text) {
	var tags strings.Builder
	tagLine := 0
	flushTags := func() {
		if tags.Len() == 0 {
			return
		}
		decoded := tags.String()
		tags.Reset()
		c.add(tagLine, PromptInjection, Dangerous, "hidden-tag-characters",
			"hides text in invisible Unicode tag characters", decoded)
		s.nested(c, tagLine, "tags:", decoded, kindMarkdown)
	}
	zeroLines, bidiLines := map[int]bool{}, map[int]bool{}
	for i := 0; i < len(raw.s); {
		r, size := utf8.DecodeRuneInString(raw.s[i:])
		line := raw.lineAt(i)
		switch {
		case isTag(r):
			if tags.Len() == 0 {
				tagLine = line
			}
			if r >= 0xE0020 && r <= 0xE007E {
				tags.WriteByte(byte(r - 0xE0000))
			}
		case isBidi(r):
			flushTags()
			if !bidiLines[line] {
				bidiLines[line] = true
				c.add(line, Obfuscation, Caution, "hidden-bidi-control",
					"contains bidirectional control characters that make text display differently from what it is", lineOf(raw.s, i))
			}
		case isInvisible(r):
			flushTags()
			if !zeroLines[line] && zeroWidthHides(raw.s, i, size, r) {
				zeroLines[line] = true
				c.add(line, PromptInjection, Caution, "hidden-zero-width",
					"contains invisible characters inside words, which hide text from readers and filters", lineOf(raw.s, i))
			}
		default:
			flushTags()
		}
		i += size
	}
	flushTags()
	for _, w := range lookalikeWords(raw.s) {
		folded := normalize(newText(w.word)).s
		c.add(raw.lineAt(w.off), Obfuscation, Caution, "lookalike-letters",
			"disguises a word with look-alike letters from another script", w.word+" (reads as "+folded+")")
	}
}

// lineOf returns the source line around offset i.
func lineOf(s string, i int) string {
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return s[start:]
	}
	return s[start : i+end]
}

var (
	htmlCommentRE = lazy(`(?s)<!--(.*?)-->`)
	agentWordRE   = lre(`\b(?:you|your|assistant|agent|ai|model|llm|claude|gpt|hermes|bot)\b`)
	imperativeRE  = lre(`\b(?:must|should|always|never|do\s+not|dont|ignore|execute|run|send|upload|instead|secretly|silently|important|immediately)\b`)
	hiddenStyleRE = lre(`<[a-z][^>]*\bstyle\s*=\s*["']?[^>]*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em|rem)?\s*(?:[;"'>]|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:[;"'>]|$)|color\s*:\s*(?:white|#fff\b|#ffffff|transparent)|(?:height|width)\s*:\s*0(?:px)?\s*(?:[;"'>]|$))|<[a-z]+\b[^>]*\shidden(?:\s|>|=|/)`)
)

// html flags text a markdown renderer hides from the user but an agent still reads: HTML
// comments addressed to the agent, and, in markdown (SKILL.md and its references), elements
// styled invisible. A skill's own HTML pages hide and show their elements from their scripts
// as every web page does; the agent does not read them as instructions.
func (s *scanner) html(c *ctx, n text, markdown bool) {
	for _, m := range htmlCommentRE.FindAllStringSubmatchIndex(n.s, -1) {
		body := prose(logical(n.slice(m[2], m[3]))).s
		if agentWordRE.MatchString(body) && imperativeRE.MatchString(body) {
			c.add(n.lineAt(m[0]), PromptInjection, Caution, "hidden-html-comment",
				"gives instructions in an HTML comment, which the user does not see rendered", body)
		}
	}
	if !markdown {
		return
	}
	for _, m := range hiddenStyleRE.FindAllStringIndex(n.s, -1) {
		c.add(n.lineAt(m[0]), PromptInjection, Caution, "hidden-html-element",
			"hides text with HTML styling, so the user does not see it rendered", n.s[m[0]:m[1]])
	}
}

// ---- binaries

// binaryKind recognises content that is not text. ok is false for text.
func binaryKind(data []byte) (kind string, ok bool) {
	head := data[:min(len(data), 8192)]
	has := func(prefix string) bool { return strings.HasPrefix(string(head[:min(len(head), 16)]), prefix) }
	switch {
	case len(data) == 0:
		return "", false
	case has("\x7fELF"), has("\xfe\xed\xfa\xce"), has("\xce\xfa\xed\xfe"), has("\xfe\xed\xfa\xcf"),
		has("\xcf\xfa\xed\xfe"), has("\xca\xfe\xba\xbe"), has("MZ"):
		return "native executable", true
	case has("PK\x03\x04"), has("\x1f\x8b"), has("BZh"), has("\xfd7zXZ\x00"), has("7z\xbc\xaf\x27\x1c"),
		has("Rar!"), len(head) > 262 && string(head[257:262]) == "ustar":
		return "archive", true
	case has("\x00asm"):
		return "wasm", true
	}
	if strings.IndexByte(string(head), 0) >= 0 || !utf8.Valid(trimToRune(head)) {
		return "binary", true
	}
	return "", false
}

// binary judges a file that is not text by what it is: an executable or an archive cannot be
// read by the scanner (or by a reviewer), other data (images, fonts, WebAssembly, which is
// verified as a plugin) is left alone.
func (s *scanner) binary(file, kind string) {
	switch kind {
	case "native executable":
		s.add(Finding{File: file, Category: Unscannable, Severity: Caution, Rule: "native-executable",
			Reason: "is a native executable, which cannot be scanned (skills never run programs on the host)", Excerpt: path.Base(file)})
	case "archive":
		s.add(Finding{File: file, Category: Unscannable, Severity: Caution, Rule: "nested-archive",
			Reason: "is an archive inside the skill, whose contents are not scanned", Excerpt: path.Base(file)})
	}
}
