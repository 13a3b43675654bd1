package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SkillRecord is the lock of an installed skill: which content was installed from where, under
// which trust level, and what the scanner said about it. The skills table holds the active
// version of each skill; skill_versions keeps every version installed and still on disk, for
// `hermes skills reset --restore`.
type SkillRecord struct {
	Name           string
	Version        string
	Source         string // e.g. "dir:/abs/path", "file:/abs/x.tar.gz", "bundled:name"
	Trust          string // builtin, trusted, community or agent-created
	ContentSHA256  string // digest over every file of the skill (see host/skills)
	ScannerVersion string
	Verdict        string // safe, advisory, caution or dangerous
	Findings       []byte // JSON array of the scanner's findings
	Dir            string // where the skill's files are
	InstalledAt    time.Time
}

// SkillVersion is one kept version of a skill.
type SkillVersion struct {
	ID int64 // increases with every new version row: the newest has the largest
	SkillRecord
}

var (
	skillTrusts   = map[string]bool{"builtin": true, "trusted": true, "community": true, "agent-created": true}
	skillVerdicts = map[string]bool{"safe": true, "advisory": true, "caution": true, "dangerous": true}
)

func (rec SkillRecord) validate() error {
	switch {
	case rec.Name == "":
		return errors.New("skill name is empty")
	case rec.Dir == "":
		return errors.New("skill directory is empty")
	case !isSHA256Hex(rec.ContentSHA256):
		return fmt.Errorf("content digest %q is not 64 lowercase hex digits", rec.ContentSHA256)
	case !skillTrusts[rec.Trust]:
		return fmt.Errorf("trust %q is not builtin, trusted, community or agent-created", rec.Trust)
	case !skillVerdicts[rec.Verdict]:
		return fmt.Errorf("verdict %q is not safe, advisory, caution or dangerous", rec.Verdict)
	case len(rec.Findings) > 0 && !json.Valid(rec.Findings):
		return errors.New("findings are not valid JSON")
	}
	return nil
}

const skillColumns = `name, version, source, trust, content_sha256, scanner_version, verdict, findings, dir, installed_at`

func (rec SkillRecord) values() []any {
	findings := string(rec.Findings)
	if findings == "" {
		findings = "[]"
	}
	return []any{rec.Name, rec.Version, rec.Source, rec.Trust, rec.ContentSHA256, rec.ScannerVersion,
		rec.Verdict, findings, rec.Dir, formatTime(rec.InstalledAt)}
}

func scanSkill(row scanner) (SkillRecord, error) {
	var (
		rec                 SkillRecord
		findings, installed string
	)
	if err := row.Scan(&rec.Name, &rec.Version, &rec.Source, &rec.Trust, &rec.ContentSHA256,
		&rec.ScannerVersion, &rec.Verdict, &findings, &rec.Dir, &installed); err != nil {
		return SkillRecord{}, err
	}
	rec.Findings = []byte(findings)
	var err error
	if rec.InstalledAt, err = parseTime(installed); err != nil {
		return SkillRecord{}, err
	}
	return rec, nil
}

func scanSkillVersion(row scanner) (SkillVersion, error) {
	var (
		v                   SkillVersion
		findings, installed string
	)
	if err := row.Scan(&v.ID, &v.Name, &v.Version, &v.Source, &v.Trust, &v.ContentSHA256,
		&v.ScannerVersion, &v.Verdict, &findings, &v.Dir, &installed); err != nil {
		return SkillVersion{}, err
	}
	v.Findings = []byte(findings)
	var err error
	if v.InstalledAt, err = parseTime(installed); err != nil {
		return SkillVersion{}, err
	}
	return v, nil
}

// GetSkill returns the lock of the named skill's active version, or an error wrapping
// [ErrNotFound].
func (db *DB) GetSkill(ctx context.Context, name string) (SkillRecord, error) {
	rec, err := queryOne(ctx, db, scanSkill, `SELECT `+skillColumns+` FROM skills WHERE name = ?`, name)
	if err != nil {
		return SkillRecord{}, fmt.Errorf("store: get skill %q: %w", name, err)
	}
	return rec, nil
}

// ListSkills returns the lock of every installed skill, ordered by name.
func (db *DB) ListSkills(ctx context.Context) ([]SkillRecord, error) {
	recs, err := queryAll(ctx, db, scanSkill, `SELECT `+skillColumns+` FROM skills ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list skills: %w", err)
	}
	return recs, nil
}

// SkillVersions returns every kept version of the named skill, newest first (the active one
// among them). It is empty, not an error, for a skill never installed.
func (db *DB) SkillVersions(ctx context.Context, name string) ([]SkillVersion, error) {
	vs, err := queryAll(ctx, db, scanSkillVersion,
		`SELECT id, `+skillColumns+` FROM skill_versions WHERE name = ? ORDER BY id DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("store: list versions of skill %q: %w", name, err)
	}
	return vs, nil
}

// SkillTx changes skills and writes the audit log in one transaction, so the lock never says
// something the audit log does not, and the other way round. Use it only inside the function
// passed to [DB.UpdateSkills].
type SkillTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// UpdateSkills runs fn in one transaction and commits it if fn returns nil; any error rolls
// everything fn did back.
func (db *DB) UpdateSkills(ctx context.Context, fn func(*SkillTx) error) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return fn(&SkillTx{ctx: ctx, tx: tx}) })
}

// Put makes rec the active version of its skill and records it among the kept versions (a row
// with the same name, version and content digest is updated, not duplicated). A zero
// InstalledAt is stored as the current time.
func (t *SkillTx) Put(rec SkillRecord) error {
	if err := rec.validate(); err != nil {
		return fmt.Errorf("store: put skill %q: %w", rec.Name, err)
	}
	if rec.InstalledAt.IsZero() {
		rec.InstalledAt = time.Now()
	}
	_, err := t.tx.ExecContext(t.ctx, `
INSERT INTO skills (`+skillColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
	version = excluded.version,
	source = excluded.source,
	trust = excluded.trust,
	content_sha256 = excluded.content_sha256,
	scanner_version = excluded.scanner_version,
	verdict = excluded.verdict,
	findings = excluded.findings,
	dir = excluded.dir,
	installed_at = excluded.installed_at`, rec.values()...)
	if err != nil {
		return fmt.Errorf("store: put skill %q: %w", rec.Name, err)
	}
	_, err = t.tx.ExecContext(t.ctx, `
INSERT INTO skill_versions (`+skillColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name, version, content_sha256) DO UPDATE SET
	source = excluded.source,
	trust = excluded.trust,
	scanner_version = excluded.scanner_version,
	verdict = excluded.verdict,
	findings = excluded.findings,
	dir = excluded.dir,
	installed_at = excluded.installed_at`, rec.values()...)
	if err != nil {
		return fmt.Errorf("store: put version of skill %q: %w", rec.Name, err)
	}
	return nil
}

// DropVersion forgets one kept version (its files are gone). It returns an error wrapping
// [ErrNotFound] when there is no such version.
func (t *SkillTx) DropVersion(name, version, contentSHA256 string) error {
	err := changed(t.tx.ExecContext(t.ctx,
		`DELETE FROM skill_versions WHERE name = ? AND version = ? AND content_sha256 = ?`, name, version, contentSHA256))
	if err != nil {
		return fmt.Errorf("store: drop version %s of skill %q: %w", version, name, err)
	}
	return nil
}

// Delete forgets a skill: its lock and every kept version. It returns an error wrapping
// [ErrNotFound] when the skill is not installed.
func (t *SkillTx) Delete(name string) error {
	if err := changed(t.tx.ExecContext(t.ctx, `DELETE FROM skills WHERE name = ?`, name)); err != nil {
		return fmt.Errorf("store: delete skill %q: %w", name, err)
	}
	if _, err := t.tx.ExecContext(t.ctx, `DELETE FROM skill_versions WHERE name = ?`, name); err != nil {
		return fmt.Errorf("store: delete versions of skill %q: %w", name, err)
	}
	return nil
}

// Audit appends an entry to the audit log as part of the transaction (see [DB.Audit]).
func (t *SkillTx) Audit(event, subject, detail string) error {
	if event == "" {
		return errors.New("store: audit: event is empty")
	}
	_, err := t.tx.ExecContext(t.ctx,
		`INSERT INTO audit (time, event, subject, detail) VALUES (?, ?, ?, ?)`,
		formatTime(time.Now()), event, subject, detail)
	if err != nil {
		return fmt.Errorf("store: audit %s %q: %w", event, subject, err)
	}
	return nil
}
