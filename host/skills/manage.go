package skills

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/host/skills/scan"
	"github.com/hermes-agent/hermes/store"
)

// get returns the lock of an installed skill, or an error matching [ErrNotInstalled].
func (m *Manager) get(ctx context.Context, name string) (Skill, error) {
	rec, err := m.db.GetSkill(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return Skill{}, &kindError{msg: fmt.Sprintf("no skill named %s is installed (see: hermes skills list)", name), kind: ErrNotInstalled, err: err}
	}
	if err != nil {
		return Skill{}, err
	}
	return skillFromRecord(rec), nil
}

// List returns every installed skill's lock, by name.
func (m *Manager) List(ctx context.Context) ([]Skill, error) {
	recs, err := m.db.ListSkills(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Skill, len(recs))
	for i, r := range recs {
		out[i] = skillFromRecord(r)
	}
	return out, nil
}

// Details is everything known about one installed skill.
type Details struct {
	Skill         Skill              `json:"skill"`
	Manifest      *Manifest          `json:"manifest,omitempty"`       // nil when the installed SKILL.md cannot be read
	ManifestError string             `json:"manifest_error,omitempty"` // why
	Tools         []string           `json:"tools"`                    // tools/<name> directories
	Versions      []KeptVersion      `json:"versions"`                 // newest first
	History       []store.AuditEntry `json:"history"`                  // recent audit entries, oldest first
}

// KeptVersion is one version of a skill kept on disk.
type KeptVersion struct {
	Skill
	Active  bool `json:"active"`
	Present bool `json:"present"` // its directory still exists
}

// Inspect returns the lock, the installed SKILL.md's front matter, kept versions and recent
// audit entries of the named skill.
func (m *Manager) Inspect(ctx context.Context, name string) (*Details, error) {
	s, err := m.get(ctx, name)
	if err != nil {
		return nil, err
	}
	d := &Details{Skill: s, Tools: []string{}}
	if files, err := loadDir(s.Dir, s.Dir); err != nil {
		d.ManifestError = err.Error()
	} else if man, err := ParseSkillMDFor(fileData(files, "SKILL.md"), s.Name); err != nil {
		d.ManifestError = err.Error()
	} else {
		d.Manifest = &man
		d.Tools = append(d.Tools, toolDirs(files)...)
	}
	vs, err := m.db.SkillVersions(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		_, statErr := os.Stat(v.Dir)
		d.Versions = append(d.Versions, KeptVersion{Skill: skillFromRecord(v.SkillRecord),
			Active: v.Version == s.Version && v.ContentSHA256 == s.ContentSHA256, Present: statErr == nil})
	}
	if d.History, err = m.db.AuditLog(ctx, name, 20); err != nil {
		return nil, err
	}
	return d, nil
}

// AuditResult is one skill re-checked by [Manager.Audit].
type AuditResult struct {
	Skill           Skill         `json:"skill"`            // the lock after the audit
	PreviousVerdict scan.Severity `json:"previous_verdict"` // recorded before
	PreviousScanner string        `json:"previous_scanner"`
	Report          scan.Report   `json:"report"` // this scan, of the files as they are now
	// Modified: the files differ from the lock (edited, added, removed or unreadable). The
	// lock is then left as it was, and the report is of what is on disk now.
	Modified bool   `json:"modified"`
	Problem  string `json:"problem,omitempty"` // why the files could not be read or parsed
	// Decision is what the install policy says about this verdict under the skill's trust.
	Decision Decision `json:"decision"`
}

// Flagged reports whether the result needs attention: a finding at or above caution, or
// files that no longer match the lock.
func (r AuditResult) Flagged() bool {
	return r.Modified || r.Problem != "" || r.Report.Verdict >= scan.Caution
}

// Audit re-scans installed skills (the named one, or all when name is ""), with this hermes'
// scanner: a newer scanner may flag a skill an older one passed. It checks the files against
// the lock's digest, updates the recorded verdict and findings of unmodified skills, and
// writes a "skill.audit" entry per skill. It does not remove or block anything.
func (m *Manager) Audit(ctx context.Context, name string) ([]AuditResult, error) {
	var skills []Skill
	if name != "" {
		s, err := m.get(ctx, name)
		if err != nil {
			return nil, err
		}
		skills = []Skill{s}
	} else {
		var err error
		if skills, err = m.List(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]AuditResult, 0, len(skills))
	for _, s := range skills {
		r := m.audit(s)
		err := m.db.UpdateSkills(ctx, func(tx *store.SkillTx) error {
			if !r.Modified && r.Problem == "" && (r.Skill.ScannerVersion != s.ScannerVersion ||
				r.Skill.Verdict != s.Verdict || !slices.Equal(r.Skill.Findings, s.Findings)) {
				if err := tx.Put(r.Skill.record()); err != nil {
					return err
				}
			}
			return tx.Audit("skill.audit", s.Name, auditDetail(r))
		})
		if err != nil {
			return nil, fmt.Errorf("record audit of skill %s: %w", s.Name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (m *Manager) audit(s Skill) AuditResult {
	r := AuditResult{Skill: s, PreviousVerdict: s.Verdict, PreviousScanner: s.ScannerVersion}
	files, err := loadDir(s.Dir, s.Dir)
	if err != nil {
		r.Modified, r.Problem = true, err.Error()
		r.Report = scan.Report{ScannerVersion: scan.ScannerVersion, Verdict: scan.Dangerous, Findings: []scan.Finding{}}
		r.Decision = Decide(s.Trust, r.Report.Verdict)
		return r
	}
	r.Modified = contentHash(files) != s.ContentSHA256
	var declared []string
	if man, err := ParseSkillMDFor(fileData(files, "SKILL.md"), s.Name); err != nil {
		r.Problem = err.Error()
	} else {
		declared = man.EnvNames()
	}
	r.Report = scan.Scan(files, scan.Options{DeclaredEnv: declared})
	r.Decision = Decide(s.Trust, r.Report.Verdict)
	if !r.Modified && r.Problem == "" {
		r.Skill.ScannerVersion, r.Skill.Verdict, r.Skill.Findings = r.Report.ScannerVersion, r.Report.Verdict, r.Report.Findings
	}
	return r
}

func auditDetail(r AuditResult) string {
	d := fmt.Sprintf("verdict %s (scanner %s, %d findings), was %s (scanner %s); policy for %s: %s",
		r.Report.Verdict, r.Report.ScannerVersion, len(r.Report.Findings), r.PreviousVerdict, orDash(r.PreviousScanner), r.Skill.Trust, r.Decision)
	if r.Modified {
		d += "; files differ from the lock"
	}
	if r.Problem != "" {
		d += "; " + r.Problem
	}
	return d
}

// ResetOptions are the choices for [Manager.Reset].
type ResetOptions struct {
	// Restore brings back the bundled version of the skill, or else the newest earlier
	// version kept on disk, instead of accepting the active copy as it is.
	Restore bool
	// Version, with Restore, picks the kept version to bring back instead: the newest kept
	// copy of that version, or the one whose content digest starts with it (at least 6 hex
	// digits, as hermes skills inspect shows them; evolved versions share their version).
	Version string
	// Confirm is asked when the policy says ask; nil refuses (see InstallOptions).
	Confirm func(ctx context.Context, p Pending) (bool, error)
}

// ResetResult is what a reset did.
type ResetResult struct {
	Skill    Skill       `json:"skill"`    // the lock now
	Previous Skill       `json:"previous"` // the lock before
	Report   scan.Report `json:"report"`
	// What happened: "unchanged" (the active copy matches its lock: re-scanned only),
	// "accepted" (local changes to the active copy became the lock), "restored" (an earlier
	// version is active again) or "bundled" (the bundled version was installed).
	Action string       `json:"action"`
	Tools  []ToolStatus `json:"tools"`
}

// Reset puts a skill back on a known footing.
//
// Without Restore it accepts the active copy as it is on disk now (after edits, say by the
// agent): the files are re-scanned, the policy of the skill's trust level is applied (--force
// is not available here; reinstall to accept caution findings), and the copy becomes the lock,
// in a directory named after its new digest. An unchanged copy is only re-scanned.
//
// With Restore it brings back the skill bundled with hermes, when there is one, and otherwise
// the newest earlier version kept on disk (whose files must still match their lock, and which
// must still pass the policy of its trust level). A modified active copy is discarded; an
// intact one is kept, so it can be restored in turn.
func (m *Manager) Reset(ctx context.Context, name string, opts ResetOptions) (*ResetResult, error) {
	if opts.Restore && opts.Version == "" && m.isBundled(name) {
		prev, _ := m.get(ctx, name)
		files, err := loadFS(m.bundled, name, "bundled skill "+name)
		if err != nil {
			return nil, err
		}
		res, err := m.install(ctx, files, "bundled:"+name, name, InstallOptions{Trust: TrustBuiltin}, "skill.reset", "restored the bundled version")
		if err != nil {
			return nil, err
		}
		return &ResetResult{Skill: res.Skill, Previous: prev, Report: res.Report, Action: "bundled", Tools: res.Tools}, nil
	}
	cur, err := m.get(ctx, name)
	if err != nil {
		return nil, err
	}
	if opts.Restore {
		return m.restore(ctx, cur, opts)
	}
	return m.rebaseline(ctx, cur, opts)
}

// decideReset applies the policy to a copy being made active by a reset.
func (m *Manager) decideReset(ctx context.Context, s Skill, man Manifest, report scan.Report, confirm func(context.Context, Pending) (bool, error)) error {
	blocked := &BlockedError{Name: s.Name, Version: man.Version, Trust: s.Trust, Verdict: report.Verdict,
		Findings: report.Findings, Decision: Decide(s.Trust, report.Verdict)}
	label := "reset of " + s.Dir
	switch blocked.Decision {
	case Block:
		return m.auditBlock(ctx, blocked, label, "")
	case Ask:
		if confirm == nil {
			return m.auditBlock(ctx, blocked, label, "no one to ask")
		}
		ok, err := confirm(ctx, Pending{Manifest: man, Source: s.Source, Trust: s.Trust, Report: report})
		if err != nil {
			return fmt.Errorf("confirm skill %s: %w", s.Name, err)
		}
		if !ok {
			blocked.Declined = true
			return m.auditBlock(ctx, blocked, label, "declined")
		}
	}
	return nil
}

// readCopy reads, parses and scans the copy of a skill in dir.
func readCopy(dir, name string) ([]scan.File, Manifest, scan.Report, error) {
	files, err := loadDir(dir, dir)
	if err != nil {
		return nil, Manifest{}, scan.Report{}, err
	}
	man, err := ParseSkillMDFor(fileData(files, "SKILL.md"), name)
	if err != nil {
		return nil, Manifest{}, scan.Report{}, err
	}
	if man.Name != name {
		return nil, Manifest{}, scan.Report{}, invalidf("the copy in %s is now named %s in its SKILL.md, not %s; install it as a new skill instead", dir, man.Name, name)
	}
	return files, man, scan.Scan(files, scan.Options{DeclaredEnv: man.EnvNames()}), nil
}

func (m *Manager) rebaseline(ctx context.Context, cur Skill, opts ResetOptions) (*ResetResult, error) {
	files, man, report, err := readCopy(cur.Dir, cur.Name)
	if err != nil {
		return nil, fmt.Errorf("reset skill %s: %w; bring back an earlier version with --restore, or reinstall it", cur.Name, err)
	}
	digest := contentHash(files)
	next := cur
	next.ScannerVersion, next.Verdict, next.Findings = report.ScannerVersion, report.Verdict, report.Findings
	res := &ResetResult{Previous: cur, Report: report, Action: "unchanged"}
	if digest == cur.ContentSHA256 {
		res.Skill = next
		err := m.db.UpdateSkills(ctx, func(tx *store.SkillTx) error {
			if err := tx.Put(next.record()); err != nil {
				return err
			}
			return tx.Audit("skill.reset", cur.Name, fmt.Sprintf("unchanged (sha256 %s); re-scanned: verdict %s (scanner %s)", digest, report.Verdict, report.ScannerVersion))
		})
		return res, err
	}
	if err := m.decideReset(ctx, cur, man, report, opts.Confirm); err != nil {
		return nil, err
	}
	// Rename the edited copy to the directory its new content is named by. If that already
	// exists with this content (edits undone back to a kept version), the edited copy is
	// redundant.
	target := filepath.Join(filepath.Dir(cur.Dir), versionDir(man.Version, digest))
	moved := false
	if kept, err := loadDir(target, target); err == nil && contentHash(kept) == digest {
		if err := os.RemoveAll(cur.Dir); err != nil {
			return nil, fmt.Errorf("reset skill %s: %w", cur.Name, err)
		}
	} else if err := os.Rename(cur.Dir, target); err != nil {
		return nil, fmt.Errorf("reset skill %s: move %s to %s: %w", cur.Name, cur.Dir, target, err)
	} else {
		moved = true
	}
	moveBack := func() {
		if moved {
			if err := os.Rename(target, cur.Dir); err != nil {
				m.logger.Warn("skill reset: could not move the copy back after a failure", "from", target, "to", cur.Dir, "err", err)
			}
		}
	}
	next.Version, next.ContentSHA256, next.Dir, next.InstalledAt = man.Version, digest, target, time.Now().UTC()
	restore, err := m.snapshotTools(ctx, cur.Name)
	if err != nil {
		moveBack()
		return nil, err
	}
	tools, err := m.installTools(ctx, cur.Name, target, files, restore)
	if err != nil {
		moveBack()
		return nil, err
	}
	err = m.db.UpdateSkills(ctx, func(tx *store.SkillTx) error {
		// The old version's files are gone: they became the new version.
		if err := tx.DropVersion(cur.Name, cur.Version, cur.ContentSHA256); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.Put(next.record()); err != nil {
			return err
		}
		return tx.Audit("skill.reset", cur.Name, fmt.Sprintf("accepted local changes: %s (sha256 %s) is now %s (sha256 %s), verdict %s (scanner %s)",
			orDash(cur.Version), cur.ContentSHA256, orDash(next.Version), digest, report.Verdict, report.ScannerVersion))
	})
	if err != nil {
		moveBack()
		m.restoreTools(ctx, cur.Name, restore)
		return nil, fmt.Errorf("record reset of skill %s: %w", cur.Name, err)
	}
	m.removeDroppedTools(ctx, cur.Name, tools)
	res.Skill, res.Action, res.Tools = next, "accepted", tools
	return res, nil
}

func (m *Manager) restore(ctx context.Context, cur Skill, opts ResetOptions) (*ResetResult, error) {
	vs, err := m.db.SkillVersions(ctx, cur.Name)
	if err != nil {
		return nil, err
	}
	var target *store.SkillVersion
	for i, v := range vs {
		if v.Version == cur.Version && v.ContentSHA256 == cur.ContentSHA256 {
			continue
		}
		if opts.Version != "" && !keptVersionIs(v, opts.Version) {
			continue
		}
		if _, err := os.Stat(v.Dir); err == nil {
			target = &vs[i]
			break
		}
	}
	if target == nil && opts.Version != "" {
		return nil, &kindError{msg: fmt.Sprintf("skill %s has no other kept version %s (see the versions: hermes skills inspect %s)", cur.Name, opts.Version, cur.Name), kind: ErrNothingToRestore}
	}
	if target == nil {
		return nil, &kindError{msg: fmt.Sprintf("skill %s is not bundled with hermes and no earlier version is kept; reinstall it (it came from %s)", cur.Name, cur.Source), kind: ErrNothingToRestore}
	}
	files, man, report, err := readCopy(target.Dir, cur.Name)
	if err != nil {
		return nil, fmt.Errorf("restore skill %s %s: %w", cur.Name, target.Version, err)
	}
	if contentHash(files) != target.ContentSHA256 {
		return nil, invalidf("the kept copy of %s %s in %s was modified since it was installed; reinstall it from %s", cur.Name, orDash(target.Version), target.Dir, target.Source)
	}
	next := skillFromRecord(target.SkillRecord)
	next.ScannerVersion, next.Verdict, next.Findings, next.InstalledAt = report.ScannerVersion, report.Verdict, report.Findings, time.Now().UTC()
	if err := m.decideReset(ctx, next, man, report, opts.Confirm); err != nil {
		return nil, err
	}
	// The active copy is kept for a later restore only if it still matches its lock.
	curFiles, err := loadDir(cur.Dir, cur.Dir)
	discard := err != nil || contentHash(curFiles) != cur.ContentSHA256
	restore, err := m.snapshotTools(ctx, cur.Name)
	if err != nil {
		return nil, err
	}
	tools, err := m.installTools(ctx, cur.Name, next.Dir, files, restore)
	if err != nil {
		return nil, err
	}
	err = m.db.UpdateSkills(ctx, func(tx *store.SkillTx) error {
		if discard {
			if err := tx.DropVersion(cur.Name, cur.Version, cur.ContentSHA256); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := tx.Put(next.record()); err != nil {
			return err
		}
		detail := fmt.Sprintf("restored %s (sha256 %s) in place of %s (sha256 %s), verdict %s (scanner %s)",
			orDash(next.Version), next.ContentSHA256, orDash(cur.Version), cur.ContentSHA256, report.Verdict, report.ScannerVersion)
		if discard {
			detail += "; the replaced copy was modified and is deleted"
		}
		return tx.Audit("skill.reset", cur.Name, detail)
	})
	if err != nil {
		m.restoreTools(ctx, cur.Name, restore)
		return nil, fmt.Errorf("record restore of skill %s: %w", cur.Name, err)
	}
	m.removeDroppedTools(ctx, cur.Name, tools)
	if discard && cur.Dir != next.Dir {
		if err := os.RemoveAll(cur.Dir); err != nil {
			m.logger.Warn("skill reset: could not delete the modified copy", "dir", cur.Dir, "err", err)
		}
	}
	return &ResetResult{Skill: next, Previous: cur, Report: report, Action: "restored", Tools: tools}, nil
}

// keptVersionIs: v is version want, or its content digest starts with want.
func keptVersionIs(v store.SkillVersion, want string) bool {
	if v.Version == want {
		return true
	}
	if len(want) < 6 || strings.Trim(strings.ToLower(want), "0123456789abcdef") != "" {
		return false
	}
	return strings.HasPrefix(v.ContentSHA256, strings.ToLower(want))
}

// Remove uninstalls a skill: its tools, its lock and kept versions (with a "skill.remove"
// audit entry), then its files.
func (m *Manager) Remove(ctx context.Context, name string) error {
	s, err := m.get(ctx, name)
	if err != nil {
		return err
	}
	// name passed nameRE when it was installed; checking again keeps the RemoveAll below
	// inside the skills directory whatever the database says.
	if !nameRE().MatchString(name) {
		return fmt.Errorf("remove skill %q: not a valid skill name; delete its files under %s by hand", name, m.root)
	}
	if m.tools != nil {
		if err := m.tools.RemoveTools(ctx, name); err != nil {
			return fmt.Errorf("remove the tools of skill %s: %w", name, err)
		}
	}
	vs, err := m.db.SkillVersions(ctx, name)
	if err != nil {
		return err
	}
	err = m.db.UpdateSkills(ctx, func(tx *store.SkillTx) error {
		if err := tx.Delete(name); err != nil {
			return err
		}
		return tx.Audit("skill.remove", name, fmt.Sprintf("removed %s (sha256 %s) and %d kept versions", orDash(s.Version), s.ContentSHA256, len(vs)))
	})
	if err != nil {
		return fmt.Errorf("remove skill %s: %w", name, err)
	}
	if err := os.RemoveAll(filepath.Join(m.root, name)); err != nil {
		return fmt.Errorf("skill %s is removed, but deleting its files failed: %w; delete %s by hand", name, err, filepath.Join(m.root, name))
	}
	return nil
}
