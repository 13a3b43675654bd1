package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testSkill(name, version string) SkillRecord {
	return SkillRecord{
		Name:           name,
		Version:        version,
		Source:         "dir:/src/" + name,
		Trust:          "community",
		ContentSHA256:  strings.Repeat("a", 63) + version[len(version)-1:],
		ScannerVersion: "1",
		Verdict:        "safe",
		Findings:       []byte(`[]`),
		Dir:            "/home/u/.hermes/skills/" + name + "/" + version,
		InstalledAt:    time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC),
	}
}

func putSkill(t *testing.T, db *DB, rec SkillRecord, event string) {
	t.Helper()
	err := db.UpdateSkills(context.Background(), func(tx *SkillTx) error {
		if err := tx.Put(rec); err != nil {
			return err
		}
		return tx.Audit(event, rec.Name, "v "+rec.Version)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSkillLock(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if _, err := db.GetSkill(ctx, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetSkill of absent: %v", err)
	}
	if vs, err := db.SkillVersions(ctx, "x"); err != nil || len(vs) != 0 {
		t.Fatalf("SkillVersions of absent: %v %v", vs, err)
	}

	v1 := testSkill("notes", "1.0.1")
	putSkill(t, db, v1, "skill.install")
	got, err := db.GetSkill(ctx, "notes")
	if err != nil || !reflect.DeepEqual(got, v1) {
		t.Fatalf("GetSkill = %+v, %v\nwant %+v", got, err, v1)
	}

	// A new version becomes active; the old one is kept.
	v2 := testSkill("notes", "1.0.2")
	v2.Trust, v2.Verdict, v2.Findings = "trusted", "caution", []byte(`[{"rule":"x"}]`)
	putSkill(t, db, v2, "skill.install")
	if got, _ := db.GetSkill(ctx, "notes"); !reflect.DeepEqual(got, v2) {
		t.Fatalf("active = %+v", got)
	}
	vs, err := db.SkillVersions(ctx, "notes")
	if err != nil || len(vs) != 2 || vs[0].Version != "1.0.2" || vs[1].Version != "1.0.1" || vs[0].ID <= vs[1].ID {
		t.Fatalf("versions %+v %v", vs, err)
	}
	if !reflect.DeepEqual(vs[1].SkillRecord, v1) {
		t.Errorf("kept version %+v", vs[1].SkillRecord)
	}

	// Putting the same version and content again updates its row rather than adding one.
	v2.Verdict, v2.ScannerVersion = "dangerous", "2"
	putSkill(t, db, v2, "skill.audit")
	if vs, _ := db.SkillVersions(ctx, "notes"); len(vs) != 2 || vs[0].Verdict != "dangerous" {
		t.Fatalf("versions after re-put %+v", vs)
	}

	putSkill(t, db, testSkill("alpha", "0.0.1"), "skill.install")
	list, err := db.ListSkills(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "alpha" || list[1].Name != "notes" {
		t.Fatalf("ListSkills %+v %v", list, err)
	}

	// Drop and delete, each with its audit entry in the same transaction.
	err = db.UpdateSkills(ctx, func(tx *SkillTx) error {
		if err := tx.DropVersion("notes", "1.0.1", v1.ContentSHA256); err != nil {
			return err
		}
		return tx.Audit("skill.reset", "notes", "dropped")
	})
	if err != nil {
		t.Fatal(err)
	}
	if vs, _ := db.SkillVersions(ctx, "notes"); len(vs) != 1 {
		t.Fatalf("after drop %+v", vs)
	}
	err = db.UpdateSkills(ctx, func(tx *SkillTx) error { return tx.DropVersion("notes", "9", v1.ContentSHA256) })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("drop absent: %v", err)
	}
	err = db.UpdateSkills(ctx, func(tx *SkillTx) error {
		if err := tx.Delete("notes"); err != nil {
			return err
		}
		return tx.Audit("skill.remove", "notes", "gone")
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetSkill(ctx, "notes"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if vs, _ := db.SkillVersions(ctx, "notes"); len(vs) != 0 {
		t.Fatalf("versions after delete %+v", vs)
	}
	if err := db.UpdateSkills(ctx, func(tx *SkillTx) error { return tx.Delete("notes") }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete absent: %v", err)
	}
	log, _ := db.AuditLog(ctx, "notes", 0)
	var evs []string
	for _, e := range log {
		evs = append(evs, e.Event)
	}
	if strings.Join(evs, ",") != "skill.install,skill.install,skill.audit,skill.reset,skill.remove" {
		t.Fatalf("audit %v", evs)
	}
}

// TestSkillTxIsAtomic: when anything in the transaction fails, neither the lock nor the audit
// entry is written.
func TestSkillTxIsAtomic(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	err := db.UpdateSkills(ctx, func(tx *SkillTx) error {
		if err := tx.Put(testSkill("atom", "1.0.0")); err != nil {
			return err
		}
		if err := tx.Audit("skill.install", "atom", "x"); err != nil {
			return err
		}
		return tx.Audit("", "atom", "an empty event fails")
	})
	if err == nil {
		t.Fatal("want an error")
	}
	if _, err := db.GetSkill(ctx, "atom"); !errors.Is(err, ErrNotFound) {
		t.Errorf("lock written by a failed transaction: %v", err)
	}
	if log, _ := db.AuditLog(ctx, "atom", 0); len(log) != 0 {
		t.Errorf("audit written by a failed transaction: %+v", log)
	}
}

func TestSkillValidation(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(*SkillRecord)
		want   string
	}{
		{"empty name", func(r *SkillRecord) { r.Name = "" }, "skill name is empty"},
		{"empty dir", func(r *SkillRecord) { r.Dir = "" }, "skill directory is empty"},
		{"bad digest", func(r *SkillRecord) { r.ContentSHA256 = "abc" }, `content digest "abc" is not 64 lowercase hex digits`},
		{"bad trust", func(r *SkillRecord) { r.Trust = "root" }, `trust "root" is not builtin, trusted, community or agent-created`},
		{"bad verdict", func(r *SkillRecord) { r.Verdict = "fine" }, `verdict "fine" is not safe, advisory, caution or dangerous`},
		{"bad findings", func(r *SkillRecord) { r.Findings = []byte("{") }, "findings are not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := testSkill("v", "1.0.0")
			tt.change(&rec)
			err := db.UpdateSkills(ctx, func(tx *SkillTx) error { return tx.Put(rec) })
			if err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want suffix %q", err, tt.want)
			}
		})
	}
	// Empty findings are stored as an empty JSON array; a zero time as now.
	rec := testSkill("v", "1.0.0")
	rec.Findings, rec.InstalledAt = nil, time.Time{}
	before := time.Now().Add(-time.Second)
	if err := db.UpdateSkills(ctx, func(tx *SkillTx) error { return tx.Put(rec) }); err != nil {
		t.Fatal(err)
	}
	got, _ := db.GetSkill(ctx, "v")
	if string(got.Findings) != "[]" || got.InstalledAt.Before(before) {
		t.Fatalf("stored %+v", got)
	}
}

// TestSkillsAdvisoryMigration: a database from before v9 keeps its skills, and only after the
// migration takes the "advisory" verdict.
func TestSkillsAdvisoryMigration(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/state.db"
	old, err := open(ctx, path, migrations[:8])
	if err != nil {
		t.Fatal(err)
	}
	kept := testSkill("notes", "1.0.1")
	kept.Verdict = "caution"
	putSkill(t, old, kept, "skill.install")
	advisory := testSkill("other", "2.0.0")
	advisory.Verdict = "advisory"
	if err := old.UpdateSkills(ctx, func(tx *SkillTx) error { return tx.Put(advisory) }); err == nil || !strings.Contains(err.Error(), "CHECK") {
		t.Fatalf("v8 schema took an advisory verdict: %v", err)
	}
	old.Close()

	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.GetSkill(ctx, "notes"); err != nil || !reflect.DeepEqual(got, kept) {
		t.Fatalf("after migration: %+v, %v", got, err)
	}
	putSkill(t, db, advisory, "skill.install")
	if got, err := db.GetSkill(ctx, "other"); err != nil || got.Verdict != "advisory" {
		t.Fatalf("advisory skill: %+v, %v", got, err)
	}
	if vs, err := db.SkillVersions(ctx, "notes"); err != nil || len(vs) != 1 {
		t.Fatalf("kept versions after migration: %+v, %v", vs, err)
	}
}
