// Package scan looks for hostile content in an agent skill before hermes installs it.
//
// A skill is instructions an AI agent reads and follows, plus files it may use, so the scanner
// reads every file the way an agent would: after undoing the usual disguises. Each text file is
// normalised first (Unicode look-alike letters folded to ASCII, zero-width and other invisible
// characters dropped, HTML character references decoded), then read as logical lines (shell
// continuations joined, strings split by quoting or concatenation glued back, simple variables
// substituted), and as prose (soft line breaks and markdown emphasis removed, so a phrase split
// across lines still reads as one). Base64 and hex blobs, and text hidden in Unicode tag
// characters, are decoded and scanned again. Shell in code blocks, inline code and scripts goes
// through the sandbox's command classifier (sandbox/classify) as well as the rules here.
//
// The scanner is pure: it reads only the bytes it is given and never runs anything. Its result
// depends only on those bytes, the options and [ScannerVersion], so a verdict recorded at install
// time can be reproduced, and a newer scanner can re-judge an old skill.
package scan

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// ScannerVersion identifies the rules. Change it whenever a rule is added, removed or changed,
// so `hermes skills audit` knows an installed skill was judged by older rules.
const ScannerVersion = "2"

// Limits that keep a scan's time and memory bounded whatever it is given. A typical skill
// (tens of KiB) scans in milliseconds; text crafted to trip every rule on every line scans at
// about 10 s per MiB, so these bound such a skill to under a minute.
const (
	// MaxScanBytes is how much of one file is scanned; the rest of a longer file is not, and
	// the file gets a caution finding saying so.
	MaxScanBytes = 512 << 10
	// MaxScanTotal is how much text of one skill is scanned in all; files past it get a
	// caution finding.
	MaxScanTotal = 4 << 20
	// MaxFindings caps the findings kept in a report (the most severe are kept).
	MaxFindings = 200
	// maxDecodeDepth bounds decoding inside decoded text (base64 of base64 …).
	maxDecodeDepth = 3
	// maxDecodedBytes bounds the decoded text scanned again per file.
	maxDecodedBytes = 1 << 20
)

// Severity is how bad a finding is. A report's verdict is the worst severity among its
// findings, Safe when there are none.
//
// Severity follows context: a command in a fenced shell block, a script or an instruction in
// prose weighs what its rule says; the same text in documentation (a table row, a help
// listing, a list of commands that are blocked or asked about) or with a placeholder instead
// of a real target (curl ... | bash) weighs less, often only [Advisory].
type Severity int

const (
	Safe      Severity = iota // nothing found
	Advisory                  // a caution that never blocks an install: worth knowing, routine in published skills
	Caution                   // worth a human look; may be legitimate
	Dangerous                 // hostile on its face
)

func (s Severity) String() string {
	switch s {
	case Safe:
		return "safe"
	case Advisory:
		return "advisory"
	case Caution:
		return "caution"
	case Dangerous:
		return "dangerous"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity is the inverse of [Severity.String].
func ParseSeverity(s string) (Severity, error) {
	switch s {
	case "safe":
		return Safe, nil
	case "advisory":
		return Advisory, nil
	case "caution":
		return Caution, nil
	case "dangerous":
		return Dangerous, nil
	}
	return Safe, fmt.Errorf("unknown severity %q: use safe, advisory, caution or dangerous", s)
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Category is what kind of threat a finding is about. The values are stable identifiers.
type Category string

const (
	Exfiltration    Category = "exfiltration"     // secrets, keys or the environment sent off the machine
	PromptInjection Category = "prompt-injection" // text that tries to take over the agent, or hides text from the user
	Destructive     Category = "destructive"      // commands that delete, wipe or break things
	Persistence     Category = "persistence"      // cron, shell rc files, authorized_keys, services
	ReverseShell    Category = "reverse-shell"    // remote shells and tunnels into the machine
	Obfuscation     Category = "obfuscation"      // encoded or disguised content
	SupplyChain     Category = "supply-chain"     // running downloads, unpinned or insecure installs
	Credential      Category = "credential"       // secrets written into the skill itself
	Unscannable     Category = "unscannable"      // content the scanner cannot read (binaries, archives, oversize)
)

// Finding is one thing the scanner flagged.
type Finding struct {
	File     string   `json:"file"`     // slash path inside the skill
	Line     int      `json:"line"`     // 1-based; 0 when it is about the whole file
	Category Category `json:"category"` //
	Severity Severity `json:"severity"` //
	Rule     string   `json:"rule"`     // stable rule id, e.g. "exfil-credential-file"; "base64:" prefixes rules that matched decoded text
	Reason   string   `json:"reason"`   // one plain sentence
	Excerpt  string   `json:"excerpt"`  // what matched, as the agent would read it; secrets masked, invisible characters shown as \u escapes
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d %s %s %s: %s (%s)", f.File, f.Line, f.Category, f.Severity, f.Rule, f.Reason, f.Excerpt)
}

// Report is the result of scanning one skill.
type Report struct {
	ScannerVersion string    `json:"scanner_version"`
	Verdict        Severity  `json:"verdict"`
	Findings       []Finding `json:"findings"`
	Files          int       `json:"files"`     // files scanned
	Truncated      bool      `json:"truncated"` // more than MaxFindings were found; the least severe were dropped
}

// Count returns how many findings have at least severity min.
func (r Report) Count(min Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity >= min {
			n++
		}
	}
	return n
}

// Categories returns the distinct categories of the findings at or above min, in a fixed order.
func (r Report) Categories(min Severity) []Category {
	var out []Category
	for _, f := range r.Findings {
		if f.Severity >= min && !slices.Contains(out, f.Category) {
			out = append(out, f.Category)
		}
	}
	slices.Sort(out)
	return out
}

// File is one file of a skill.
type File struct {
	Path string // slash-separated, relative to the skill's root, e.g. "references/api.md"
	Data []byte
}

// Options change what counts as suspicious.
type Options struct {
	// DeclaredEnv are the variables the skill declares in required_environment_variables. A
	// skill using one of them in a request (an API key in an Authorization header) is doing
	// what it said it would; a secret-looking variable it did not declare, sent over the
	// network, is flagged.
	DeclaredEnv []string
}

// Scan scans a skill's files. It never fails: what it cannot read becomes a finding.
func Scan(files []File, opts Options) Report {
	s := newScanner(opts)
	for _, f := range files {
		s.file(f)
	}
	return s.report(len(files))
}

// ScanFS scans every regular file under the root of fsys. It fails only when fsys cannot be
// read; a symbolic link or other special file is a finding, never followed.
func ScanFS(fsys fs.FS, opts Options) (Report, error) {
	s := newScanner(opts)
	files := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		if !d.Type().IsRegular() {
			s.add(Finding{File: p, Category: Unscannable, Severity: Caution, Rule: "special-file",
				Reason: "is a link or special file, not a regular file", Excerpt: p})
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		s.file(File{Path: p, Data: data})
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("scan: read skill files: %w", err)
	}
	return s.report(files), nil
}

// FindingsJSON encodes findings for storage: always a JSON array, never null.
func FindingsJSON(findings []Finding) []byte {
	if findings == nil {
		findings = []Finding{}
	}
	b, err := json.Marshal(findings)
	if err != nil { // a Finding has only strings and ints; this cannot happen
		return []byte("[]")
	}
	return b
}

// scanner collects the findings of one Scan call.
type scanner struct {
	opts     Options
	declared map[string]bool
	findings []Finding
	seen     map[findingKey]int // index in findings
	// decoded counts the bytes of decoded text scanned for the current file.
	decoded int
	// scanned counts the bytes of text scanned so far, against MaxScanTotal.
	scanned int
}

type findingKey struct {
	file     string
	line     int
	category Category
	hidden   bool
}

func newScanner(opts Options) *scanner {
	prepare()
	s := &scanner{opts: opts, declared: map[string]bool{}, seen: map[findingKey]int{}}
	for _, name := range opts.DeclaredEnv {
		s.declared[strings.ToUpper(name)] = true
	}
	return s
}

// add records a finding, keeping one per line and category, the most severe: several rules
// (and the command classifier) often see the same thing. Hidden-text findings are kept beside
// others, since they say how the text was disguised.
func (s *scanner) add(f Finding) {
	k := findingKey{f.File, f.Line, f.Category, strings.Contains(f.Rule, "hidden-")}
	if i, ok := s.seen[k]; ok {
		if s.findings[i].Severity < f.Severity {
			s.findings[i] = f
		}
		return
	}
	s.seen[k] = len(s.findings)
	s.findings = append(s.findings, f)
}

func (s *scanner) report(files int) Report {
	r := Report{ScannerVersion: ScannerVersion, Files: files, Findings: s.findings}
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if len(r.Findings) > MaxFindings {
		slices.SortStableFunc(r.Findings, func(a, b Finding) int { return cmp.Compare(b.Severity, a.Severity) })
		r.Findings, r.Truncated = r.Findings[:MaxFindings], true
	}
	slices.SortFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Category, b.Category), cmp.Compare(a.Rule, b.Rule))
	})
	for _, f := range r.Findings {
		r.Verdict = max(r.Verdict, f.Severity)
	}
	return r
}

// file scans one file: binaries by their magic numbers, text by every rule.
func (s *scanner) file(f File) {
	s.decoded = 0
	name := path.Clean(strings.TrimPrefix(f.Path, "./"))
	data := f.Data
	if kind, ok := binaryKind(data); ok {
		s.binary(name, kind)
		return
	}
	if len(data) > MaxScanBytes {
		s.add(Finding{File: name, Category: Unscannable, Severity: Caution, Rule: "too-large",
			Reason:  fmt.Sprintf("is larger than %d KiB; only the start was scanned", MaxScanBytes>>10),
			Excerpt: fmt.Sprintf("%d bytes", len(data))})
		data = trimToRune(data[:MaxScanBytes])
	}
	if left := MaxScanTotal - s.scanned; len(data) > left {
		s.add(Finding{File: name, Category: Unscannable, Severity: Caution, Rule: "too-much-text",
			Reason:  fmt.Sprintf("comes after %d MiB of text in the skill; it was not scanned in full", MaxScanTotal>>20),
			Excerpt: fmt.Sprintf("%d bytes", len(data))})
		data = trimToRune(data[:max(left, 0)])
	}
	s.scanned += len(data)
	s.text(name, string(data), kindOf(name, data), 0, 0, "")
}
