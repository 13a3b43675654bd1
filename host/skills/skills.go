// Package skills installs, checks and removes agent skills: directories with a SKILL.md
// (instructions for the agent, with YAML front matter) and optional references/, templates/,
// assets/, scripts and tools.
//
// Installing is: fetch the source (a directory or a .tar.gz) into memory within size limits,
// write it to a quarantine directory under the cache, scan every file (package scan), decide by
// the trust level the caller gives, and only then move the quarantined copy into
// <root>/<name>/<version>-<hash12>/ with one rename and record the lock (content digest,
// source, scanner version, verdict, findings) together with an audit-log entry in one
// transaction. The five most recent versions stay on disk for `reset --restore`.
//
// A skill's scripts are stored, never executed: hermes runs commands only through the sandbox
// backends, and a skill's tools are WebAssembly plugins installed by a [ToolInstaller] after the
// skill has passed its scan.
package skills

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/host/skills/scan"
	"github.com/hermes-agent/hermes/store"
)

// Trust is how much a skill's source is trusted; it decides what a scan verdict leads to.
type Trust string

const (
	// TrustBuiltin is for skills bundled with hermes itself, and is given only by
	// [Manager.InstallBundled] (and `reset --restore` of a bundled skill), never by a caller.
	TrustBuiltin Trust = "builtin"
	// TrustTrusted is a source the user vouches for.
	TrustTrusted Trust = "trusted"
	// TrustCommunity is anything else: the default.
	TrustCommunity Trust = "community"
	// TrustAgentCreated is a skill the agent wrote itself.
	TrustAgentCreated Trust = "agent-created"
)

// ParseTrust accepts the trust levels a caller may choose: trusted, community, agent-created.
func ParseTrust(s string) (Trust, error) {
	switch t := Trust(s); t {
	case TrustTrusted, TrustCommunity, TrustAgentCreated:
		return t, nil
	case TrustBuiltin:
		return "", errors.New(`trust "builtin" is only for skills bundled with hermes; use trusted, community or agent-created`)
	}
	return "", fmt.Errorf("unknown trust level %q: use trusted, community or agent-created", s)
}

func parseStoredTrust(s string) Trust {
	if t, err := ParseTrust(s); err == nil {
		return t
	}
	if s == string(TrustBuiltin) {
		return TrustBuiltin
	}
	return TrustCommunity // the most careful reading of a value hermes did not write
}

// Decision is what the policy says about a verdict.
type Decision string

const (
	Allow Decision = "allow"
	Block Decision = "block"
	Ask   Decision = "ask" // only a person at a terminal may allow it
)

// policy is the install policy: trust level × verdict (safe, advisory, caution, dangerous).
// An advisory finding never blocks.
var policy = map[Trust][4]Decision{
	TrustBuiltin:      {Allow, Allow, Allow, Allow},
	TrustTrusted:      {Allow, Allow, Allow, Block},
	TrustCommunity:    {Allow, Allow, Block, Block},
	TrustAgentCreated: {Allow, Allow, Allow, Ask},
}

// Decide applies the install policy. An unknown trust level is treated as community.
func Decide(trust Trust, verdict scan.Severity) Decision {
	row, ok := policy[trust]
	if !ok {
		row = policy[TrustCommunity]
	}
	return row[min(max(int(verdict), 0), len(row)-1)]
}

// Errors, matched with errors.Is.
var (
	// ErrInvalid: the source or its SKILL.md cannot be used.
	ErrInvalid = errors.New("invalid skill")
	// ErrBlocked: the policy refused the skill (see [BlockedError] for the findings).
	ErrBlocked = errors.New("skill blocked")
	// ErrNeedsConfirmation: the policy says ask, and there was no one to ask.
	ErrNeedsConfirmation = errors.New("skill needs confirmation")
	// ErrDeclined: the person asked said no.
	ErrDeclined = errors.New("skill declined")
	// ErrNotInstalled: no installed skill has that name.
	ErrNotInstalled = errors.New("skill not installed")
	// ErrNothingToRestore: reset --restore found no bundled or earlier version.
	ErrNothingToRestore = errors.New("nothing to restore")
)

// kindError is an error with a one-line message that matches a sentinel.
type kindError struct {
	msg  string
	kind error
	err  error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
func (e *kindError) Unwrap() error        { return e.err }

func invalidf(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrInvalid}
}

// BlockedError is a skill the policy did not let in. It matches [ErrBlocked], and also
// [ErrNeedsConfirmation] or [ErrDeclined] when the policy said ask.
type BlockedError struct {
	Name, Version string
	Trust         Trust
	Verdict       scan.Severity
	Findings      []scan.Finding
	Decision      Decision
	Declined      bool // asked, and the answer was no
}

func (e *BlockedError) Error() string {
	cats := categories(e.Findings, e.Verdict)
	switch {
	case e.Declined:
		return fmt.Sprintf("skill %s %s not installed: you declined", e.Name, e.Version)
	case e.Decision == Ask:
		return fmt.Sprintf("skill %s %s has dangerous findings (%s) and %s skills need your confirmation, but there is no terminal to ask on; review the findings and install it from a terminal",
			e.Name, e.Version, cats, e.Trust)
	case e.Verdict == scan.Caution:
		return fmt.Sprintf("skill %s %s blocked: %s skills may not have caution findings (%s); review them and install with --force to accept them",
			e.Name, e.Version, e.Trust, cats)
	}
	return fmt.Sprintf("skill %s %s blocked: dangerous findings (%s), which %s skills may not have and --force does not override; to accept them one by one after reading each, install from a terminal",
		e.Name, e.Version, cats, e.Trust)
}

func (e *BlockedError) Is(target error) bool {
	switch target {
	case ErrBlocked:
		return true
	case ErrNeedsConfirmation:
		return e.Decision == Ask && !e.Declined
	case ErrDeclined:
		return e.Declined
	}
	return false
}

func categories(findings []scan.Finding, min scan.Severity) string {
	var cats []string
	for _, f := range findings {
		if f.Severity >= min && !slices.Contains(cats, string(f.Category)) {
			cats = append(cats, string(f.Category))
		}
	}
	slices.Sort(cats)
	return strings.Join(cats, ", ")
}

// Skill is the lock of one installed skill version.
type Skill struct {
	Name           string         `json:"name"`
	Version        string         `json:"version"`
	Source         string         `json:"source"`
	Trust          Trust          `json:"trust"`
	ContentSHA256  string         `json:"content_sha256"`
	ScannerVersion string         `json:"scanner_version"`
	Verdict        scan.Severity  `json:"verdict"`
	Findings       []scan.Finding `json:"findings"`
	Dir            string         `json:"dir"`
	InstalledAt    time.Time      `json:"installed_at"`
}

func skillFromRecord(rec store.SkillRecord) Skill {
	s := Skill{Name: rec.Name, Version: rec.Version, Source: rec.Source, Trust: parseStoredTrust(rec.Trust),
		ContentSHA256: rec.ContentSHA256, ScannerVersion: rec.ScannerVersion, Dir: rec.Dir, InstalledAt: rec.InstalledAt}
	if v, err := scan.ParseSeverity(rec.Verdict); err == nil {
		s.Verdict = v
	} else {
		s.Verdict = scan.Dangerous // a verdict hermes did not write is not trusted
	}
	if err := json.Unmarshal(rec.Findings, &s.Findings); err != nil || s.Findings == nil {
		s.Findings = []scan.Finding{}
	}
	return s
}

func (s Skill) record() store.SkillRecord {
	return store.SkillRecord{Name: s.Name, Version: s.Version, Source: s.Source, Trust: string(s.Trust),
		ContentSHA256: s.ContentSHA256, ScannerVersion: s.ScannerVersion, Verdict: s.Verdict.String(),
		Findings: scan.FindingsJSON(s.Findings), Dir: s.Dir, InstalledAt: s.InstalledAt}
}

// ToolInstaller installs the WebAssembly tools a skill ships (tools/<tool>/plugin.toml), with
// the same verification as any plugin. The manager calls it only for a skill that passed its
// scan and policy, with the tool's directory inside the installed (not the quarantined) copy.
//
// A new version's tools are installed over the old ones (a tool of the same name is updated in
// place), and only when every one of them is in, and the new version recorded, are the tools it
// no longer ships removed. Nothing of the installed version is removed before, so a refusal
// half-way loses nothing: restore from the snapshot taken first puts it back as it was.
type ToolInstaller interface {
	// InstallTool installs the tool in dir for skill, or updates the skill's tool of the same
	// name in place.
	InstallTool(ctx context.Context, skill, dir string) error
	// RemoveTools removes every tool installed for skill; removing none is not an error.
	RemoveTools(ctx context.Context, skill string) error
	// RemoveToolsExcept removes the tools installed for skill other than those of the tool
	// directories keep.
	RemoveToolsExcept(ctx context.Context, skill string, keep []string) error
	// SnapshotTools records how the tools of skill are installed now. restore puts them back
	// exactly so (a tool updated since returns to what it was, with the trust it was installed
	// with, without asking again; one installed since is removed).
	SnapshotTools(ctx context.Context, skill string) (restore func(context.Context) error, err error)
}

// ToolStatus says what happened to one of a skill's tools.
type ToolStatus struct {
	Name      string `json:"name"`
	Dir       string `json:"dir"`
	Installed bool   `json:"installed"`
	Note      string `json:"note,omitempty"`
}

// NoToolInstaller is the note for tools when the manager has no ToolInstaller.
const NoToolInstaller = "not installed: plugin install is not available yet"

// Manager installs and manages the skills of one hermes home.
type Manager struct {
	db         *store.DB
	root       string // <home>/skills
	quarantine string // <home>/cache/quarantine
	tools      ToolInstaller
	bundled    fs.FS
	logger     *slog.Logger
	http       *http.Client // downloads of skills from URLs; nil is download.DefaultClient
}

// New returns a manager keeping skills under root, quarantining new ones under quarantine
// (which must be on the same file system as root, for the final rename). It has no tool
// installer and no bundled skills until given them.
func New(db *store.DB, root, quarantine string) *Manager {
	return &Manager{db: db, root: root, quarantine: quarantine, logger: slog.New(slog.DiscardHandler)}
}

// WithTools returns a copy of m that installs skills' tools with t.
func (m *Manager) WithTools(t ToolInstaller) *Manager {
	c := *m
	c.tools = t
	return &c
}

// WithBundled returns a copy of m whose bundled skills (trust builtin) are the directories
// <name>/ of fsys, each with a SKILL.md.
func (m *Manager) WithBundled(fsys fs.FS) *Manager {
	c := *m
	c.bundled = fsys
	return &c
}

// WithLogger returns a copy of m that logs to l. Default: nowhere.
func (m *Manager) WithLogger(l *slog.Logger) *Manager {
	c := *m
	c.logger = l
	return &c
}
