package scan

import (
	"net/url"
	"strings"
)

// rule is a pattern matched on one logical line (see lre). Rules run over a whole view at once,
// so skip gets the whole view text and the match's offsets in it.
type rule struct {
	id     string
	cat    Category
	sev    Severity
	reason string
	re     *lazyRE
	// code limits the rule to code: fenced blocks, inline code, scripts and decoded text.
	// Prose mentions of, say, crontab are explanations more often than commands.
	code bool
	// skip rejects a match the pattern cannot rule out itself (RE2 has no look-around).
	skip func(s string, m []int) bool
	m    matcher // re with its line filter (set in init)
}

// pairRule flags two patterns near each other: a source of secrets and a network sink.
type pairRule struct {
	id     string
	cat    Category
	sev    Severity
	reason string
	first  *lazyRE
	then   *lazyRE
	// window is how many lines apart the two may be in code; in prose they must share a line.
	window        int
	skipFirst     func(s string, m []int) bool
	firstM, thenM matcher // set in init
}

// Building blocks shared by several rules.
const (
	// Files that hold credentials: SSH and cloud keys, tokens, hermes' own secrets.
	sensitivePaths = `(?:~|\$\{?home\}?|%userprofile%|home\(\)\s*/)\s*/?\.(?:ssh|aws|gnupg|netrc|git-credentials|pgpass|npmrc|pypirc|docker/config\.json|kube/config|config/gcloud|config/gh/hosts\.yml|bash_history|zsh_history|password-store|vault-token)\b` +
		`|\.hermes/\.env\b|\.aws/credentials\b|\.ssh/id_[a-z0-9]+|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|/etc/(?:shadow|gshadow|sudoers)\b|application_default_credentials\.json|login\.keychain|/proc/(?:self|\d+)/environ`
	// Ways of sending data off the machine.
	networkSinks = `\b(?:curl|wget|nc|ncat|netcat|socat|telnet|scp|sftp|rsync|ftp|tftp|aria2c|invoke-webrequest|invoke-restmethod|iwr|irm)\b` +
		`|\brequests\.(?:get|post|put|patch|delete|request|session)\b|\bhttpx\.(?:get|post|put|patch|request|client|asyncclient)\b|\burllib\.request\.(?:urlopen|request|urlretrieve)\b|\burllib2?\.urlopen\b|\burlopen\(|\bhttp\.client\.https?connection\b` +
		`|\bfetch\s*\(|\baxios(?:\.\w+)?\s*\(|\bxmlhttprequest\b|\bhttp\.(?:post|get|newrequest|postform)\b|\bnew\s+websocket\b|\bsocket\.(?:socket|create_connection)\b|/dev/(?:tcp|udp)/` +
		`|\bsmtplib\.smtp|\bsendmail\b|\bnet\.webclient\b|\buploadstring\b|\bcreatetransport\(|\|\s*ssh\s|\bssh\s+(?:-\S+\s+)*[\w.-]+@[\w.-]+`
	// Whole-environment dumps (as opposed to reading one named variable).
	envDumps = `\bprintenv\b|(?:^|[\s|;&(\x60])env\s*(?:$|[|>)\x60;&])|\$\(\s*(?:env|printenv|set|export\s+-p|declare\s+-x)\s*\)|\bexport\s+-p\b|\bdeclare\s+-x\b` +
		`|\bos\.environ\s*(?:$|[),}\]]|\.(?:items|copy|keys|values)\s*\()|\bdict\(\s*os\.environ|\bprocess\.env\s*(?:$|[),};\]])|\bjson\.stringify\(\s*process\.env|\bobject\.(?:entries|keys|values|assign)\(\s*(?:\{\}\s*,\s*)?process\.env` +
		`|/proc/(?:self|\d+|\$\$)/environ|\benv\.(?:to_h|to_hash|each|map|inspect)\b|\b(?:get-childitem|gci|dir|ls)\s+env:|\bos\.environ\(\)`
	// Commands that read a file's content.
	readVerbs = `\b(?:cat|less|more|head|tail|cp|mv|scp|base64|xxd|od|strings|grep|awk|sed|source|tar|zip|gzip|open|read_text|read_bytes|readfile|readfilesync|get-content|gc|type)\b`
	// Writing to a path: redirection, tee, cp/mv/ln targets, in-place edits, language APIs.
	writeVerbs = `(?:>>?|\btee\b|\bcp\b|\bmv\b|\bln\b|\binstall\s+-|\bsed\s+-i|\becho\b|\bprintf\b|\bcat\s*>|\bopen\(|\bwritefile|\bappendfile|\bwrite_text\b|\badd-content\b|\bset-content\b|\bout-file\b)`
	// Interpreters that run code read from standard input (python -c and -m read data instead).
	stdinShell = `(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:\S+=\S*\s+)*)?(?:(?:(?:ba|z|da|k|fi|a)?sh)(?:\s+-[^c\s]\S*)*|(?:python[0-9.]*|perl|ruby|node|php)(?:\s+-[^cmeE\s]\S*)*|iex|invoke-expression|pwsh|powershell)\s*(?:$|[;&|)])`
)

var (
	// An image (markdown or HTML) whose URL carries data: a placeholder in its query, or one
	// named like a secret. Rendering the image sends the data to the image's host.
	imageExfilRE = lre(`(?:!\[[^\]]*\]\(\s*<?|<img\b[^>]*\bsrc\s*=\s*)(?:https?:)?//[^)\s>]*(?:\?[^)\s>]*(?:\$\{?|\{\{?|%7b|%24|<)|(?:\$\{?|\{\{?)\s*(?:secret|token|key|api|password|passw|credential|env|data|conversation|history|chat|prompt|context|session|cookie|ssh|aws|user))`)
	sensitiveRE  = lre(sensitivePaths)
	networkM     matcher // networkRE with its filter (set in init)
	networkRE    = lre(networkSinks)
	envDumpRE    = lre(envDumps)
)

// notSecret skips a credential-path match that reads nothing secret: the public half of a key
// pair (`cat ~/.ssh/id_ed25519.pub` to paste into a Git host is routine), authorized_keys and
// known_hosts, or a path that is only being written to (> ~/.ssh/…; persistence rules judge
// that).
func notSecret(s string, m []int) bool {
	rest := s[m[1]:]
	for _, p := range []string{".pub", "/authorized_keys", "/known_hosts", "/config"} {
		if strings.HasPrefix(rest, p) {
			return true
		}
	}
	before := strings.TrimRight(s[strings.LastIndexByte(s[:m[0]], '\n')+1:m[0]], " \t")
	return strings.HasSuffix(before, ">")
}

// pairRules: something secret and a way to send it, close together.
var pairRules = []pairRule{
	{id: "exfil-credential-file", cat: Exfiltration, sev: Dangerous, window: 5,
		reason: "reads a credential file (SSH or cloud keys, tokens, hermes' .env) near a network call",
		first:  sensitiveRE, then: networkRE, skipFirst: notSecret},
	{id: "exfil-environment", cat: Exfiltration, sev: Dangerous, window: 5,
		reason: "collects the whole environment (every secret in it) near a network call",
		first:  envDumpRE, then: networkRE},
	{id: "reverse-shell-socket", cat: ReverseShell, sev: Dangerous, window: 8,
		reason: "connects a socket and hands it a shell",
		first:  lre(`\bsocket\.(?:socket|create_connection)\(|\bnet\.(?:connect|createconnection)\b|\bnew\s+net\.socket\b|\bfsockopen\b|\btcpsocket\b|\bnet\.dial\(`),
		then:   lre(`\bdup2\(|\bpty\.spawn\(|/bin/(?:ba|z)?sh\b|\bcmd\.exe\b|\bspawn\(\s*(?:/bin/)?(?:ba)?sh\b|\bsubprocess\.(?:call|popen|run)\(\s*\[?\s*(?:/bin/)?(?:ba)?sh\b|\bexec\.command\(\s*(?:/bin/)?(?:ba)?sh\b`)},
	{id: "supply-chain-download-exec", cat: SupplyChain, sev: Caution, window: 3,
		reason: "downloads a file and makes it executable",
		first:  lre(`\b(?:curl|wget|invoke-webrequest|iwr)\b[^|;&]*(?:\s-o\s*\S|\s-O\b|--output\b|--remote-name\b|-outfile\b)`),
		then:   lre(`\bchmod\s+(?:-\S+\s+)*(?:[ugoa]*\+[rw]*x|[0-7]*[1357])\b`)},
}

// lineRules run on every logical line of every part of a file (prose lines too, unless code).
var lineRules = []rule{
	// --- exfiltration
	{id: "exfil-markdown-image", cat: Exfiltration, sev: Dangerous,
		reason: "an image URL that carries data in its query or a secret-like placeholder: rendering it sends that data away",
		re:     imageExfilRE},
	{id: "exfil-markdown-link", cat: Exfiltration, sev: Caution,
		reason: "an image or link URL built from a placeholder: check what fills it",
		re:     lre(`(?:!?\[[^\]]*\]\(\s*<?|<img\b[^>]*\bsrc\s*=\s*|^\s*\[[^\]]+\]:\s*<?)(?:https?:)?//[^)\s>]*(?:\$\{?|\{\{?|%7b|%24)[^)\s>]*(?:secret|token|key|password|credential|env|data|conversation|history|chat|prompt|context|session|cookie)`),
		skip:   func(s string, m []int) bool { return imageExfilRE.MatchString(lineOf(s, m[0])) }},
	{id: "exfil-dns", cat: Exfiltration, sev: Dangerous,
		reason: "looks up a host name built from a variable or command output (DNS exfiltration)",
		re:     lre(`\b(?:dig|nslookup|drill)\s+(?:[-+@]\S*\s+)*[^;&]*?\$[^;&]*?\.[a-z0-9-]+\.[a-z]{2,}\b`), code: true},
	{id: "exfil-collector", cat: Exfiltration, sev: Caution,
		reason: "points at a request collector or anonymous upload service, used to receive stolen data",
		re:     lre(`\b(?:webhook\.site|requestbin\.(?:com|net)|pipedream\.net|m\.pipedream\.net|interact\.sh|oast\.(?:fun|me|site|live|pro|online)|burpcollaborator\.net|oastify\.com|canarytokens\.(?:com|org)|hookbin\.com|beeceptor\.com|requestcatcher\.com|transfer\.sh|0x0\.st|termbin\.com|ix\.io|paste\.ee)\b`)},
	{id: "exfil-hermes-secrets", cat: Exfiltration, sev: Dangerous, code: true,
		reason: "reads hermes' own secrets file (.env), which no skill needs",
		re:     lre(readVerbs + `[^|;&]*(?:\.hermes/\.env\b|hermes_home[^|;&\s]*/\.env\b)`)},
	{id: "exfil-hermes-secrets-mention", cat: Exfiltration, sev: Caution,
		reason: "refers to hermes' own secrets file (.env)",
		re:     lre(`\.hermes/\.env\b|\bhermes_home\}?/\.env\b`)},
	{id: "exfil-credential-read", cat: Exfiltration, sev: Caution, code: true,
		reason: "reads a credential file (SSH or cloud keys, tokens)",
		re:     lre(readVerbs + `[^|;&]*(?:` + sensitivePaths + `)`), skip: notSecret},

	// --- prompt injection that prose would garble (the prose view drops | and *)
	{id: "injection-chat-markup", cat: PromptInjection, sev: Dangerous,
		reason: "imitates chat-template markup to fake a system or assistant message",
		re:     lre(`<\|(?:im_start|im_end|system|endoftext|start_header_id|eot_id)\|?>|\[/?inst\]|<<sys>>|<\s*/?\s*(?:system|system_prompt|sys)\s*>`)},

	// --- destructive (the command classifier covers code; these also catch prose)
	{id: "destructive-wipe", cat: Destructive, sev: Dangerous,
		reason: "deletes / or the home directory recursively",
		re:     lre(`\brm\s+(?:-{1,2}[a-z-]+\s+)+(?:/|/\*|~/?\*?|\$\{?home\}?/?\*?)(?:\s|$|[;&|)])`)},
	{id: "destructive-disk", cat: Destructive, sev: Dangerous,
		reason: "formats or overwrites a disk",
		re:     lre(`\bmkfs(?:\.\w+)?\s+\S|\bwipefs\b|\bdd\b[^|;&]*\bof=/dev/(?:sd|hd|nvme|xvd|vd|disk|mmcblk)|>\s*/dev/(?:sd[a-z]|nvme\d|hd[a-z]|disk\d)|\bshred\b[^|;&]*/dev/(?:sd|nvme|hd|disk)`)},
	{id: "destructive-fork-bomb", cat: Destructive, sev: Dangerous,
		reason: "a fork bomb",
		re:     lre(`:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:`)},
	{id: "destructive-permissions", cat: Destructive, sev: Dangerous,
		reason: "changes permissions or ownership of everything under /",
		re:     lre(`\bch(?:mod|own)\s+(?:-\S+\s+)*-r\S*\s+(?:-\S+\s+)*\S+\s+/(?:\s|$|\*)`)},
	{id: "destructive-script", cat: Destructive, sev: Dangerous,
		reason: "deletes / or the home directory from a script",
		re:     lre(`\bshutil\.rmtree\(\s*(?:/\s*[),]|~|os\.path\.expanduser\(\s*~/?\s*\)|path\.home\(\)|os\.environ\[home\]|os\.getenv\(home\))|\[\s*rm\s*,\s*-[a-z]*r[a-z]*\s*,\s*(?:/|~)|\b(?:rmsync|rmdirsync|rimraf)\(\s*(?:/\s*[,)]|os\.homedir\(\)|~)|\bremove-item\b[^|;]*-recurse[^|;]*(?:\s[a-z]:\\?\s|\$home\b|~)`)},

	// --- persistence
	{id: "persistence-cron", cat: Persistence, sev: Dangerous, code: true,
		reason: "installs a cron job",
		re:     lre(`\|\s*crontab\b|\bcrontab\s+(?:-u\s+\S+\s+)?(?:-[eir]?\s*(?:$|[;&|])|[^-\s]\S*)|@reboot\b|` + writeVerbs + `[^|;&]*(?:/etc/cron\.\w+/|/var/spool/cron\b|/etc/crontab\b)`)},
	{id: "persistence-cron-mention", cat: Persistence, sev: Caution,
		reason: "asks for a scheduled job (cron) to be set up",
		re:     lre(`\b(?:add|install|create|schedule|set\s+up|register)\b[^.]{0,40}\b(?:cron\s*job|crontab|cron\s+entry)\b|@reboot\b`)},
	{id: "persistence-shell-rc", cat: Persistence, sev: Dangerous, code: true,
		reason: "writes to a shell startup file, so its code runs in every new shell",
		re:     lre(writeVerbs + `[^|;&]*(?:~|\$\{?home\}?|expanduser\(\s*~|/root|/home/\w+)?/?\.(?:bashrc|zshrc|bash_profile|bash_login|profile|zprofile|zshenv|zlogin|cshrc|tcshrc|kshrc|config/fish/config\.fish)\b|(?:add-content|set-content|out-file)\s+[^|;]*\$profile\b`)},
	{id: "persistence-shell-rc-mention", cat: Persistence, sev: Caution,
		reason: "refers to a shell startup file",
		re:     lre(`(?:~|\$\{?home\}?)/\.(?:bashrc|zshrc|bash_profile|bash_login|profile|zprofile|zshenv|zlogin)\b`)},
	{id: "persistence-authorized-keys", cat: Persistence, sev: Dangerous, code: true,
		reason: "adds an SSH key to authorized_keys, a standing way in",
		re:     lre(`(?:` + writeVerbs + `|\bssh-copy-id\b)[^|;&]*\bauthorized_keys2?\b`)},
	{id: "persistence-authorized-keys-mention", cat: Persistence, sev: Caution,
		reason: "refers to SSH authorized_keys",
		re:     lre(`\bauthorized_keys2?\b|\bssh-copy-id\b`)},
	{id: "persistence-service", cat: Persistence, sev: Dangerous, code: true,
		reason: "installs or enables a service or startup script",
		re:     lre(`\bsystemctl\s+(?:--user\s+)?(?:enable|link|preset|reenable)\b|` + writeVerbs + `[^|;&]*(?:/etc/systemd/|/lib/systemd/|\.config/systemd/|/etc/init\.d/|/etc/rc\.local\b|/etc/profile\.d/|/etc/profile\b|/etc/environment\b|/etc/bash\.bashrc\b|/etc/zsh/|/etc/update-motd\.d/|\.config/autostart/)|\bwantedby\s*=\s*(?:multi-user|default|graphical)\.target\b|\bupdate-rc\.d\b|\bchkconfig\s+\S+\s+on\b`)},
	{id: "persistence-launchd", cat: Persistence, sev: Dangerous, code: true,
		reason: "installs a macOS launch agent or daemon",
		re:     lre(`\blaunchctl\s+(?:load|bootstrap|submit|enable)\b|` + writeVerbs + `[^|;&]*library/launch(?:agents|daemons)\b`)},
	{id: "persistence-windows", cat: Persistence, sev: Dangerous,
		reason: "adds a Windows autorun entry or scheduled task",
		re:     lre(`currentversion\\?run(?:once)?\b|\bschtasks(?:\.exe)?\s+/create\b|\bregister-scheduledtask\b|\bnew-scheduledtasktrigger\b|start\s*menu\\?programs\\?startup\b`)},
	{id: "persistence-preload", cat: Persistence, sev: Dangerous,
		reason: "preloads a library into every program",
		re:     lre(`/etc/ld\.so\.preload\b|\bld_preload\s*=\s*\S|\bdyld_insert_libraries\s*=\s*\S`)},
	{id: "persistence-sudoers", cat: Persistence, sev: Dangerous,
		reason: "changes sudo rules (privilege escalation)",
		re:     lre(`/etc/sudoers\b|\bvisudo\b|\bnopasswd\b`)},
	{id: "persistence-git-hooks", cat: Persistence, sev: Caution, code: true,
		reason: "installs a Git hook, which runs on later Git commands",
		re:     lre(writeVerbs + `[^|;&]*\.git/hooks/|\bcore\.hookspath\b`)},
	{id: "persistence-agent-config", cat: Persistence, sev: Dangerous, code: true,
		reason: "changes hermes' own configuration, skills or plugins",
		re:     lre(`(?:` + writeVerbs + `|\brm\b|\bchmod\b)[^|;&]*\.hermes/(?:config\.toml|skills\b|plugins\b|state\.db|profiles\b)`)},
	{id: "persistence-agent-instructions", cat: Persistence, sev: Caution, code: true,
		reason: "changes another agent's standing instructions (AGENTS.md, CLAUDE.md, .cursorrules)",
		re:     lre(writeVerbs + `[^|;&]*(?:\bagents\.md\b|\bclaude\.md\b|\.cursorrules\b|\.clinerules\b|\.github/copilot-instructions\.md\b)`)},

	// --- reverse shells and tunnels
	{id: "reverse-shell-dev-tcp", cat: ReverseShell, sev: Dangerous,
		reason: "opens a network connection as a file (/dev/tcp), as reverse shells do",
		re:     lre(`/dev/(?:tcp|udp)/[^\s/]+/\d+`)},
	{id: "reverse-shell-netcat", cat: ReverseShell, sev: Dangerous,
		reason: "connects a shell to netcat",
		re:     lre(`\b(?:nc|ncat|netcat)(?:\.\w+)?\s+(?:[^|;&]*\s)?-[a-z]*[ec]\s*\S|\b(?:nc|ncat|netcat)\b[^|;&]*\|\s*(?:/bin/)?(?:ba|z|da)?sh\b|\bmkfifo\b[^\n]*\b(?:nc|ncat|netcat|openssl\s+s_client|telnet)\b|\b(?:ba|z|da)?sh\s+-i\b[^\n]*\|\s*(?:nc|ncat|netcat|telnet)\b`)},
	{id: "reverse-shell-socat", cat: ReverseShell, sev: Dangerous,
		reason: "uses socat to serve or connect a shell or port",
		re:     lre(`\bsocat\b[^\n]*(?:exec:|system:|\bpty\b|tcp[46]?-listen:|openssl-listen:)`)},
	{id: "reverse-shell-script", cat: ReverseShell, sev: Dangerous,
		reason: "spawns a shell over a socket from a script",
		re:     lre(`\bpty\.spawn\(\s*(?:/bin/)?(?:ba|z)?sh\b|\bfsockopen\(|system\.net\.sockets\.tcpclient|\bos\.dup2\(\s*\w+\.fileno\(\)`)},
	{id: "reverse-shell-tunnel", cat: ReverseShell, sev: Dangerous,
		reason: "opens a tunnel that exposes this machine to the internet",
		re:     lre(`\bngrok\s+(?:http|tcp|tls|start|tunnel)\b|\bcloudflared\s+(?:tunnel|access\s+tcp)\b|\bssh\b[^|;&]*\s-(?-i:[a-zA-Z]*R)\s*(?:\[?[\w.:]*\]?:)?\d+:|\b(?:lt|localtunnel)\s+--port\b|\bserveo\.net\b|\blocalhost\.run\b|\bbore\s+local\b|\bchisel\s+(?:client|server)\b|\bfrpc\b|\btailscale\s+funnel\b|\bpinggy\.io\b|\bzrok\s+share\b|\bdevtunnel\s+host\b`)},

	// --- obfuscation
	{id: "obfuscation-decode-exec", cat: Obfuscation, sev: Dangerous,
		reason: "decodes hidden text and runs it",
		re: lre(`(?:\bbase64\s+(?:-\w+\s+)*(?:-d|--decode)\b|\bopenssl\s+(?:base64|enc)\b[^|;&]*\s-d\b|\bxxd\s+-r\b|\bb64decode\b|\batob\s*\(|\bfrombase64string\b|\bunhexlify\b|\bbytes\.fromhex\b|\bcodecs\.decode\b|\bzlib\.decompress\b|\bmarshal\.loads\b|\bbase32\s+-d\b|\brev\b\s*\|)[^\n]*(?:\|\s*` + stdinShell + `|\beval\b|\bexec\b|\b(?:ba)?sh\s+-c\b|\binvoke-expression\b|\biex\b)` +
			`|\b(?:eval|exec|invoke-expression|iex)\b[^\n]*(?:\bbase64\s+(?:-\w+\s+)*(?:-d|--decode)\b|\bb64decode\b|\batob\s*\(|\bfrombase64string\b|\bunhexlify\b|\bbytes\.fromhex\b|\bzlib\.decompress\b|\bmarshal\.loads\b|\bcodecs\.decode\b)`)},
	{id: "obfuscation-char-codes", cat: Obfuscation, sev: Caution,
		reason: "builds text from character codes",
		re:     lre(`(?:\bchr\(\s*\d+\s*\)\s*[+.,]\s*){4,}|\bfromcharcode\(\s*(?:\d+\s*,\s*){6,}`)},
	{id: "obfuscation-ifs", cat: Obfuscation, sev: Caution, code: true,
		reason: "uses $IFS as a word separator, a filter-evasion trick",
		re:     lre(`\S\$\{?ifs\}?\S`)},

	// --- supply chain
	{id: "supply-chain-pipe-to-shell", cat: SupplyChain, sev: Dangerous,
		reason: "runs a script straight from the network",
		re: lre(`\b(?:curl|wget|fetch|iwr|irm|invoke-webrequest|invoke-restmethod)\b[^\n]*\|\s*` + stdinShell +
			`|\b(?:(?:ba|z|da|k)?sh|source|\.)\s+(?:-\S+\s+)*<\(\s*(?:curl|wget)\b|\b(?:ba|z|da|k)?sh\s+-c\s+\$\(\s*(?:curl|wget)\b|\beval\s+\$\(\s*(?:curl|wget)\b` +
			`|\b(?:iex|invoke-expression)\b[^\n]*\b(?:iwr|irm|invoke-webrequest|invoke-restmethod|downloadstring|net\.webclient)\b|\burlopen\b[^\n]*\bexec\(|\bexec\([^\n]*\burlopen\b`)},
	{id: "supply-chain-insecure-transport", cat: SupplyChain, sev: Caution,
		reason: "turns off TLS certificate checks or script signing",
		re:     lre(`\bcurl\b[^|;&]*\s(?-i:-k)\b|\bcurl\b[^|;&]*--insecure\b|\bwget\b[^|;&]*--no-check-certificate\b|--trusted-host\b|\bstrict-ssl\s+false\b|\bgit_ssl_no_verify\s*=\s*(?:1|true)\b|\bpythonhttpsverify\s*=\s*0\b|\bnode_tls_reject_unauthorized\s*=\s*0\b|\bhttp\.sslverify\s*(?:=\s*)?false\b|\bverify\s*=\s*false\b|\bset-executionpolicy\s+(?:bypass|unrestricted)\b|-executionpolicy\s+bypass\b`)},
	{id: "supply-chain-registry", cat: SupplyChain, sev: Caution,
		reason: "installs packages from a non-default registry",
		re:     lre(`(?:--(?:extra-)?index-url|--registry|\bregistry\s*=|\bindex-url\s*=|\bnpm\s+config\s+set\s+registry|\bpip\s+config\s+set\s+global\.(?:extra-)?index-url)[\s=]+\S+`),
		skip:   defaultRegistry},
}

// defaultRegistry skips a registry option that names the default public registry.
func defaultRegistry(s string, m []int) bool {
	f := strings.Fields(strings.ReplaceAll(s[m[0]:m[1]], "=", " "))
	u, err := url.Parse(f[len(f)-1])
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Hostname()) {
	case "pypi.org", "pypi.python.org", "files.pythonhosted.org", "registry.npmjs.org", "registry.yarnpkg.com":
		return true
	}
	return false
}

// proseRules run on the prose view (lower case, one paragraph per line): instructions to the
// agent rather than commands.
var proseRules = []rule{
	{id: "injection-ignore-instructions", cat: PromptInjection, sev: Dangerous,
		reason: "tells the agent to ignore its instructions",
		re:     lre(`\b(?:ignore|disregard|forget|override|bypass|abandon)\s+(?:\w+\s+){0,4}?(?:previous|prior|above|earlier|preceding|former|original|initial|system|developer|safety|existing|all\s+other|your)\s+(?:\w+\s+){0,2}?(?:instructions?|directions?|prompts?|rules|guidelines|messages|guardrails|polic(?:y|ies)|constraints|directives|programming)\b`)},
	{id: "injection-forget", cat: PromptInjection, sev: Dangerous,
		reason: "tells the agent to forget what it was told",
		re:     lre(`\bforget\s+(?:everything|all)\s+(?:you\s+(?:know|were|have)|(?:that\s+)?(?:was\s+|you\s+were\s+)?(?:said|told)|above|before|previously)`)},
	{id: "injection-role-hijack", cat: PromptInjection, sev: Dangerous,
		reason: "tries to give the agent a new identity or lift its limits",
		re: lre(`\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+|the\s+|in\s+|my\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|dan\b|evil|free\s+(?:from|of)|developer\s+mode|god\s+mode|root\b|admin\b|an?\s+ai\b|bound\b|restricted\b|limited\b|required\b|obligated\b|hermes\b|claude\b|chatgpt\b|an?\s+assistant\b)` +
			`|\bfrom\s+now\s+on,?\s+you\s+(?:are|must\s+act|act\s+as|respond\s+as|have\s+no)\b` +
			`|\b(?:act|behave|respond|roleplay)\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken|evil|amoral|dan\b)` +
			`|\b(?:enter|enable|activate|switch\s+to)\s+(?:developer|god|dan|jailbreak|unrestricted)\s+mode\b` +
			`|\bpretend\s+(?:that\s+)?(?:you\s+(?:are|have)\s+(?:no\b|not\b|an?\s+(?:unrestricted|different))|there\s+are\s+no\s+rules)` +
			`|\byour\s+new\s+(?:instructions|role|task|goal|objective|persona|directive)s?\s+(?:is|are)\b|\bnew\s+(?:system\s+)?(?:instructions|persona|directives?)\s*:`)},
	{id: "injection-conceal", cat: PromptInjection, sev: Dangerous,
		reason: "tells the agent to hide what it does from the user",
		re: lre(`\b(?:do\s+not|don'?t|dont|never|without)\s+(?:\w+\s+){0,2}?(?:tell(?:ing)?|inform(?:ing)?|notify(?:ing)?|alert(?:ing)?|warn(?:ing)?)\s+(?:\w+\s+){0,3}?(?:the\s+)?(?:user|human|operator|owner)s?\b` +
			`|\b(?:hide|conceal|keep)\s+(?:\w+\s+){0,3}?(?:secret\s+|hidden\s+)?from\s+(?:the\s+)?(?:user|human|operator)s?\b` +
			`|\bsilently\s+(?:run|execute|send|upload|install|delete|download|post|exfiltrate|add|modify|change|copy)\b` +
			`|\bwhen\s+no\s*one\s+is\s+(?:watching|looking)\b|\bwithout\s+(?:the\s+)?user(?:'?s)?\s+(?:knowledge|noticing|knowing)\b`)},
	{id: "injection-bypass-safety", cat: PromptInjection, sev: Dangerous,
		reason: "tells the agent to get around hermes' safety checks",
		re:     lre(`\b(?:bypass|disable|circumvent|evade|get\s+around|work\s+around|ignore|skip|turn\s+off)\s+(?:\w+\s+){0,2}?(?:safety|sandbox(?:ing)?|approvals?|guardrails?|content\s+(?:policy|filters?)|security\s+(?:checks?|policy|policies|scanner|scan)|permission\s+(?:checks?|prompts?)|(?:skill\s+)?scanner)\b`)},
	{id: "injection-auto-approve", cat: PromptInjection, sev: Caution,
		reason: "tells the agent to approve things for the user",
		re:     lre(`\b(?:always|automatically|just)\s+(?:approve|answer\s+(?:yes|y)\b|accept|confirm|say\s+yes)\s+(?:\w+\s+){0,3}?(?:prompts?|approvals?|requests?|confirmations?|dialogs?|questions?|commands?)\b`)},
	{id: "injection-prompt-leak", cat: PromptInjection, sev: Caution,
		reason: "asks the agent to reveal its system prompt or instructions",
		re:     lre(`\b(?:reveal|print|output|show|repeat|dump|leak|send|share|disclose)\s+(?:me\s+)?(?:\w+\s+){0,2}?(?:system\s+prompt|initial\s+(?:prompt|instructions)|hidden\s+(?:prompt|instructions)|original\s+instructions|developer\s+(?:message|instructions))\b`)},
	{id: "injection-decode-and-run", cat: PromptInjection, sev: Caution,
		reason: "asks the agent to decode text and then act on it",
		re:     lre(`\b(?:decode|decrypt|unscramble|rot13|reverse)\s+(?:\w+\s+){0,6}?(?:and|then)\s+(?:then\s+)?(?:execute|run|eval|follow|obey)\b`)},
	{id: "exfil-instruction", cat: Exfiltration, sev: Dangerous,
		reason: "tells the agent to send secrets or the conversation somewhere",
		re:     lre(`\b(?:send|post|upload|transmit|forward|exfiltrate|leak|email|e-mail|append|attach|encode)\s+(?:\w+\s+){0,5}?(?:api\s*keys?|secrets?|credentials?|passwords?|private\s+keys?|ssh\s+keys?|tokens?|env(?:ironment)?\s+(?:variables|vars)|\.env\b|conversation|chat\s+history|system\s+prompt)\b[^.\n]{0,80}?\b(?:to|into|at|via)\s+(?:https?://|(?:the\s+|this\s+|my\s+|our\s+)?(?:webhook|endpoint\s+https?://|collector)|[\w.-]+@[\w-]+\.[\w.]+|(?:[a-z0-9-]+\.)+(?:com|net|org|io|sh|site|xyz|ru|cn|dev|app|invalid)\b)`)},
}
