package skills

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/host/skills/scan"
	"github.com/hermes-agent/hermes/store"
)

// InstallOptions are the caller's choices for one install.
type InstallOptions struct {
	// Trust is the source's trust level. Default: community. Builtin is refused: it belongs
	// to skills bundled with hermes (see InstallBundled).
	Trust Trust
	// Force installs a skill the policy blocked for caution findings. It never overrides a
	// dangerous verdict.
	Force bool
	// Confirm is asked when the policy says ask (an agent-created skill with dangerous
	// findings). nil means there is no one to ask, and the skill is refused.
	Confirm func(ctx context.Context, p Pending) (bool, error)
	// SHA256 pins the archive downloaded when the source is an https:// URL: hex SHA-256 of
	// the .tar.gz; a download with other bytes is refused.
	SHA256 string
	// Accept is the informed override of a block: asked about each finding that makes the
	// policy refuse the skill, most severe first, it lets a person who has read a finding
	// accept it. The skill is installed only when every such finding is accepted, and the
	// audit entry lists them. Only a person at a terminal may be asked: the CLI sets it when
	// its input and output are a terminal, and the API server, MCP server, gateway and agent
	// never do. nil refuses as the policy says. --force (caution findings) is checked first.
	Accept func(ctx context.Context, p Pending, f scan.Finding) (bool, error)
}

// Pending is a skill waiting for a person's decision.
type Pending struct {
	Manifest Manifest
	Source   string
	Trust    Trust
	Report   scan.Report
}

// InstallResult is what an install did.
type InstallResult struct {
	Skill    Skill        `json:"skill"`
	Manifest Manifest     `json:"manifest"`
	Report   scan.Report  `json:"report"`
	Decision Decision     `json:"decision"` // allow, or ask answered yes; block when Forced
	Forced   bool         `json:"forced"`   // a caution block was overridden
	Reused   bool         `json:"reused"`   // this exact content was already kept and is active again
	Tools    []ToolStatus `json:"tools"`
	// Accepted are the findings a person accepted one by one at the terminal (see
	// InstallOptions.Accept); the policy would have refused the skill for them.
	Accepted []scan.Finding `json:"accepted,omitempty"`
}

// Install installs the skill at source, a directory, a .tar.gz archive, or an https:// URL of
// one (at most MaxDownloadBytes, pinned by opts.SHA256 when given). A skill the policy
// refuses returns a *[BlockedError] (matching [ErrBlocked]) and leaves nothing behind but a
// "skill.block" audit entry; a bad source or SKILL.md returns an error matching [ErrInvalid].
func (m *Manager) Install(ctx context.Context, source string, opts InstallOptions) (*InstallResult, error) {
	if opts.Trust == "" {
		opts.Trust = TrustCommunity
	}
	if _, err := ParseTrust(string(opts.Trust)); err != nil {
		return nil, err
	}
	var files []scan.File
	var label, dir string
	var err error
	if isURL(source) {
		files, label, dir, err = m.fetchURL(ctx, source, opts.SHA256)
	} else if opts.SHA256 != "" {
		return nil, invalidf("--sha256 pins a download; %s is not a URL", source)
	} else {
		files, label, dir, err = fetch(source)
	}
	if err != nil {
		return nil, err
	}
	return m.install(ctx, files, label, dir, opts, "skill.install", "")
}

// InstallBundled installs (or reinstalls) the bundled skill name with trust builtin.
func (m *Manager) InstallBundled(ctx context.Context, name string) (*InstallResult, error) {
	if !m.isBundled(name) {
		return nil, &kindError{msg: fmt.Sprintf("no bundled skill named %s", name), kind: ErrNotInstalled}
	}
	files, err := loadFS(m.bundled, name, "bundled skill "+name)
	if err != nil {
		return nil, err
	}
	return m.install(ctx, files, "bundled:"+name, name, InstallOptions{Trust: TrustBuiltin}, "skill.install", "")
}

func (m *Manager) isBundled(name string) bool {
	if m.bundled == nil || !nameRE().MatchString(name) {
		return false
	}
	fi, err := fs.Stat(m.bundled, path.Join(name, "SKILL.md"))
	return err == nil && fi.Mode().IsRegular()
}

// install runs the pipeline on files already read from label: parse, quarantine, scan,
// decide, place, install tools, record. The lock and the audit entry (event, its detail
// starting with note when given) are written in one transaction. dir is the name of the
// source's directory, which names a skill whose SKILL.md has no front matter.
func (m *Manager) install(ctx context.Context, files []scan.File, label, dir string, opts InstallOptions, event, note string) (*InstallResult, error) {
	man, err := ParseSkillMDFor(fileData(files, "SKILL.md"), dir)
	if err != nil {
		return nil, err
	}
	digest := contentHash(files)
	quarantined, cleanup, err := m.quarantineFiles(files)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	report := scan.Scan(files, scan.Options{DeclaredEnv: man.EnvNames()})
	res := &InstallResult{Manifest: man, Report: report, Decision: Decide(opts.Trust, report.Verdict)}
	blocked := &BlockedError{Name: man.Name, Version: man.Version, Trust: opts.Trust, Verdict: report.Verdict,
		Findings: report.Findings, Decision: res.Decision}
	switch res.Decision {
	case Block:
		switch {
		case report.Verdict == scan.Caution && opts.Force:
			res.Forced = true
		case opts.Accept != nil:
			accepted, declined, err := acceptEach(ctx, opts, Pending{Manifest: man, Source: label, Trust: opts.Trust, Report: report})
			if err != nil {
				return nil, fmt.Errorf("accept findings of skill %s: %w", man.Name, err)
			}
			if declined != nil {
				blocked.Declined = true
				return nil, m.auditBlock(ctx, blocked, label, "declined "+findingRef(*declined)+" at the terminal")
			}
			res.Accepted = accepted
		default:
			return nil, m.auditBlock(ctx, blocked, label, "")
		}
	case Ask:
		if opts.Confirm == nil {
			return nil, m.auditBlock(ctx, blocked, label, "no one to ask")
		}
		ok, err := opts.Confirm(ctx, Pending{Manifest: man, Source: label, Trust: opts.Trust, Report: report})
		if err != nil {
			return nil, fmt.Errorf("confirm skill %s: %w", man.Name, err)
		}
		if !ok {
			blocked.Declined = true
			return nil, m.auditBlock(ctx, blocked, label, "declined")
		}
	}

	prev, err := m.db.GetSkill(ctx, man.Name)
	hadPrev := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	restore, err := m.snapshotTools(ctx, man.Name)
	if err != nil {
		return nil, err
	}
	final := filepath.Join(m.root, man.Name, versionDir(man.Version, digest))
	created, err := m.place(quarantined, final, digest)
	if err != nil {
		return nil, err
	}
	res.Reused = !created
	undo := func() {
		if created {
			if err := os.RemoveAll(final); err != nil {
				m.logger.Warn("skill install: could not remove the new copy after a failure", "dir", final, "err", err)
			}
		}
	}
	if res.Tools, err = m.installTools(ctx, man.Name, final, files, restore); err != nil {
		undo()
		return nil, err
	}
	res.Skill = Skill{Name: man.Name, Version: man.Version, Source: label, Trust: opts.Trust, ContentSHA256: digest,
		ScannerVersion: report.ScannerVersion, Verdict: report.Verdict, Findings: report.Findings, Dir: final,
		InstalledAt: time.Now().UTC()}
	detail := fmt.Sprintf("%s %s from %s, trust %s, verdict %s (scanner %s, %d findings), sha256 %s",
		man.Name, orDash(man.Version), label, opts.Trust, report.Verdict, report.ScannerVersion, len(report.Findings), digest)
	if res.Forced {
		detail += ", caution findings accepted with --force"
	}
	if res.Decision == Ask {
		detail += ", dangerous findings accepted on the terminal"
	}
	if len(res.Accepted) > 0 {
		refs := make([]string, len(res.Accepted))
		for i, f := range res.Accepted {
			refs[i] = findingRef(f)
		}
		detail += ", accepted one by one on the terminal after review: " + strings.Join(refs, "; ")
	}
	if hadPrev {
		detail += fmt.Sprintf(", replacing %s (sha256 %s)", orDash(prev.Version), prev.ContentSHA256)
	}
	if note != "" {
		detail = note + ": " + detail
	}
	err = m.db.UpdateSkills(ctx, func(tx *store.SkillTx) error {
		if err := tx.Put(res.Skill.record()); err != nil {
			return err
		}
		return tx.Audit(event, man.Name, detail)
	})
	if err != nil {
		m.restoreTools(ctx, man.Name, restore)
		undo()
		return nil, fmt.Errorf("record skill %s: %w", man.Name, err)
	}
	m.removeDroppedTools(ctx, man.Name, res.Tools)
	m.logger.Info("skill installed", "skill", man.Name, "version", man.Version, "trust", opts.Trust, "verdict", report.Verdict.String())
	m.pruneVersions(ctx, man.Name, final)
	return res, nil
}

// KeptVersions is how many versions of a skill are kept for `reset --restore`, as for plugins.
const KeptVersions = 5

// pruneVersions forgets all but the KeptVersions most recent versions of a skill and deletes
// their files; the active copy (current) is never deleted. Failing to prune loses nothing, so
// it is only logged.
func (m *Manager) pruneVersions(ctx context.Context, name, current string) {
	vs, err := m.db.SkillVersions(ctx, name)
	if err != nil || len(vs) <= KeptVersions {
		return
	}
	base := filepath.Join(m.root, name) + string(filepath.Separator)
	for _, v := range vs[KeptVersions:] {
		if v.Dir == current {
			continue
		}
		err := m.db.UpdateSkills(ctx, func(tx *store.SkillTx) error { return tx.DropVersion(name, v.Version, v.ContentSHA256) })
		if err != nil {
			m.logger.Warn("skill install: could not forget an old version", "skill", name, "version", v.Version, "err", err)
			continue
		}
		// Only a directory inside the skill's own, whatever the database says.
		if strings.HasPrefix(v.Dir, base) && !strings.Contains(v.Dir[len(base):], "..") {
			if err := os.RemoveAll(v.Dir); err != nil {
				m.logger.Warn("skill install: could not delete an old version", "dir", v.Dir, "err", err)
			}
		}
	}
}

// acceptEach asks opts.Accept about every finding the policy of opts.Trust refuses, most
// severe first, and stops at the first one declined.
func acceptEach(ctx context.Context, opts InstallOptions, p Pending) (accepted []scan.Finding, declined *scan.Finding, err error) {
	var blocking []scan.Finding
	for _, f := range p.Report.Findings {
		if Decide(opts.Trust, f.Severity) != Allow {
			blocking = append(blocking, f)
		}
	}
	slices.SortStableFunc(blocking, func(a, b scan.Finding) int { return int(b.Severity) - int(a.Severity) })
	for i, f := range blocking {
		ok, err := opts.Accept(ctx, p, f)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, &blocking[i], nil
		}
		accepted = append(accepted, f)
	}
	return accepted, nil, nil
}

// findingRef names a finding in the audit log: severity, rule, place.
func findingRef(f scan.Finding) string {
	return fmt.Sprintf("%s %s at %s:%d", f.Severity, f.Rule, f.File, f.Line)
}

// auditBlock records a refusal and returns it.
func (m *Manager) auditBlock(ctx context.Context, b *BlockedError, label, why string) error {
	detail := fmt.Sprintf("%s %s from %s refused: trust %s, verdict %s (%s)", b.Name, orDash(b.Version), label,
		b.Trust, b.Verdict, categories(b.Findings, scan.Caution))
	if why != "" {
		detail += ", " + why
	}
	if err := m.db.Audit(ctx, "skill.block", b.Name, detail); err != nil {
		return errors.Join(b, err)
	}
	return b
}

// quarantineFiles writes files to a fresh directory under the quarantine root, where they
// wait for the scan and the decision. cleanup removes whatever is left of it.
func (m *Manager) quarantineFiles(files []scan.File) (dir string, cleanup func(), err error) {
	if err := os.MkdirAll(m.quarantine, 0o700); err != nil {
		return "", nil, fmt.Errorf("create quarantine directory: %w", err)
	}
	tmp, err := os.MkdirTemp(m.quarantine, "skill-")
	if err != nil {
		return "", nil, fmt.Errorf("create quarantine directory: %w", err)
	}
	cleanup = func() {
		if err := os.RemoveAll(tmp); err != nil {
			m.logger.Warn("skill install: could not clean the quarantine", "dir", tmp, "err", err)
		}
	}
	dir = filepath.Join(tmp, "skill")
	if err := writeFiles(dir, files); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("write skill to quarantine %s: %w", tmp, err)
	}
	return dir, cleanup, nil
}

// place moves the quarantined copy to final with one rename. When final already exists with
// the same content (this exact version was installed before) it is kept and created is false;
// a kept copy whose files no longer match is replaced.
func (m *Manager) place(quarantined, final, digest string) (created bool, err error) {
	if _, err := os.Lstat(final); err == nil {
		if files, err := loadDir(final, final); err == nil && contentHash(files) == digest {
			return false, nil
		}
		// Changed since it was kept: move it aside into the quarantine (removed with it).
		if err := os.Rename(final, filepath.Join(filepath.Dir(quarantined), "replaced")); err != nil {
			return false, fmt.Errorf("replace modified copy %s: %w", final, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return false, fmt.Errorf("create skill directory: %w", err)
	}
	if err := os.Rename(quarantined, final); err != nil {
		return false, fmt.Errorf("move skill from quarantine to %s (the quarantine must be on the same file system as the skills directory): %w", final, err)
	}
	return true, nil
}

// toolDirs finds the skill's tools: tools/<tool>/plugin.toml.
func toolDirs(files []scan.File) []string {
	var dirs []string
	for _, f := range files {
		parts := strings.Split(f.Path, "/")
		if len(parts) == 3 && parts[0] == "tools" && parts[2] == "plugin.toml" {
			dirs = append(dirs, parts[0]+"/"+parts[1])
		}
	}
	slices.Sort(dirs)
	return dirs
}

// snapshotTools records how the tools of skill are installed before they change; restore is
// nil without a tool installer.
func (m *Manager) snapshotTools(ctx context.Context, skill string) (restore func(context.Context) error, err error) {
	if m.tools == nil {
		return nil, nil
	}
	if restore, err = m.tools.SnapshotTools(ctx, skill); err != nil {
		return nil, fmt.Errorf("read the installed tools of %s: %w", skill, err)
	}
	return restore, nil
}

// installTools installs the tools of the copy at dir over those installed (each updated in
// place or added; none removed). When one fails, restore (from snapshotTools) puts back the
// tools as they were.
func (m *Manager) installTools(ctx context.Context, skill, dir string, files []scan.File, restore func(context.Context) error) ([]ToolStatus, error) {
	var out []ToolStatus
	for _, d := range toolDirs(files) {
		out = append(out, ToolStatus{Name: path.Base(d), Dir: filepath.Join(dir, filepath.FromSlash(d))})
	}
	if m.tools == nil {
		for i := range out {
			out[i].Note = NoToolInstaller
		}
		return out, nil
	}
	for i := range out {
		if err := m.tools.InstallTool(ctx, skill, out[i].Dir); err != nil {
			err = fmt.Errorf("install tool %s of skill %s: %w", out[i].Name, skill, err)
			if rerr := m.restoreTools(ctx, skill, restore); rerr != nil {
				err = fmt.Errorf("%w; putting the installed tools back failed too: %v", err, rerr)
			}
			return nil, err
		}
		out[i].Installed = true
	}
	return out, nil
}

// restoreTools is the undo of installTools: the tools back as restore recorded them.
func (m *Manager) restoreTools(ctx context.Context, skill string, restore func(context.Context) error) error {
	if restore == nil {
		return nil
	}
	err := restore(ctx)
	if err != nil {
		m.logger.Warn("skill install: could not put the installed tools back after a failure", "skill", skill, "err", err)
	}
	return err
}

// removeDroppedTools removes, once the new version is recorded, the tools of skill it does not
// ship. Failing leaves an old tool installed, which is logged.
func (m *Manager) removeDroppedTools(ctx context.Context, skill string, tools []ToolStatus) {
	if m.tools == nil {
		return
	}
	keep := make([]string, len(tools))
	for i, t := range tools {
		keep[i] = t.Dir
	}
	if err := m.tools.RemoveToolsExcept(ctx, skill, keep); err != nil {
		m.logger.Warn("skill install: could not remove a tool the new version no longer ships (see: hermes plugins list)", "skill", skill, "err", err)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// InstallEvolved installs an evolved version of an installed skill: files read from dir (a
// staged candidate), judged like any install under the trust of the installed version
// (trusted, for a bundled skill: the text is no longer hermes'), recorded as a new kept
// version with a "skill.evolve" audit entry that starts with note. Its SKILL.md must have
// front matter (see [ParseSkillMD]). `reset --restore` brings the previous version back.
func (m *Manager) InstallEvolved(ctx context.Context, dir, note string) (*InstallResult, error) {
	files, err := loadDir(dir, dir)
	if err != nil {
		return nil, err
	}
	// Strictly: the lenient reading of a SKILL.md without front matter is for published skills
	// at install; a candidate must keep the front matter (name, tools) of the skill it evolves.
	man, err := ParseSkillMD(fileData(files, "SKILL.md"))
	if err != nil {
		return nil, fmt.Errorf("evolved candidate in %s: %w", dir, err)
	}
	cur, err := m.get(ctx, man.Name)
	if err != nil {
		return nil, err
	}
	trust := cur.Trust
	if trust == TrustBuiltin {
		trust = TrustTrusted
	}
	return m.install(ctx, files, "evolved:"+man.Name, man.Name, InstallOptions{Trust: trust}, "skill.evolve", note)
}
