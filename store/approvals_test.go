package store

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

func shapes(as []Approval) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Shape)
	}
	return out
}

func TestApprovalAddFind(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)

	a, err := db.AddApproval(ctx, "rm -rf ./build", "recursive delete")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Shape != "rm -rf ./build" || a.Reason != "recursive delete" || a.Uses != 0 || !a.LastUsed.IsZero() {
		t.Errorf("added %+v", a)
	}
	if a.CreatedAt.Before(before) || a.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt %v", a.CreatedAt)
	}

	for _, tc := range []struct {
		name      string
		shape     string
		wantFound bool
		wantUses  int64
	}{
		{name: "first use", shape: "rm -rf ./build", wantFound: true, wantUses: 1},
		{name: "second use", shape: "rm -rf ./build", wantFound: true, wantUses: 2},
		{name: "other shape", shape: "rm -rf ./dist", wantFound: false},
		{name: "prefix is not a match", shape: "rm -rf ./buil", wantFound: false},
		{name: "empty shape", shape: "", wantFound: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, found, err := db.FindApproval(ctx, tc.shape)
			if err != nil {
				t.Fatal(err)
			}
			if found != tc.wantFound {
				t.Fatalf("found = %v, want %v", found, tc.wantFound)
			}
			if !found {
				return
			}
			if got.ID != a.ID || got.Uses != tc.wantUses || got.LastUsed.Before(a.CreatedAt) || !got.CreatedAt.Equal(a.CreatedAt) {
				t.Errorf("found %+v, want id %d with %d uses", got, a.ID, tc.wantUses)
			}
		})
	}
	list, err := db.ListApprovals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Uses != 2 || list[0].LastUsed.IsZero() {
		t.Errorf("list %+v", list)
	}
}

func TestApprovalAddIdempotent(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	first, err := db.AddApproval(ctx, "git push --force", "force push")
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.AddApproval(ctx, "git push --force", "another reason")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Errorf("second add %+v, want the first %+v", second, first)
	}
	list, _ := db.ListApprovals(ctx)
	if len(list) != 1 {
		t.Errorf("%d approvals after adding one shape twice", len(list))
	}
	log, _ := db.AuditLog(ctx, "git push --force", 0)
	if len(log) != 1 {
		t.Errorf("%d audit entries after adding one shape twice, want 1: %+v", len(log), log)
	}
	if _, err := db.AddApproval(ctx, "", "x"); err == nil {
		t.Error("empty shape accepted")
	}
}

func TestApprovalConcurrent(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	const n = 8
	var wg sync.WaitGroup
	ids := make(chan int64, n)
	for range n {
		wg.Go(func() {
			a, err := db.AddApproval(ctx, "shape", "r")
			if err != nil {
				t.Error(err)
				return
			}
			ids <- a.ID
		})
	}
	wg.Wait()
	close(ids)
	var first int64
	for id := range ids {
		if first == 0 {
			first = id
		}
		if id != first {
			t.Errorf("concurrent adds of one shape gave ids %d and %d", first, id)
		}
	}
	for range n {
		wg.Go(func() {
			if _, _, err := db.FindApproval(ctx, "shape"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	a, _, _ := db.FindApproval(ctx, "shape")
	if a.Uses != n+1 {
		t.Errorf("uses %d after %d concurrent finds and one more, want %d", a.Uses, n, n+1)
	}
}

func TestApprovalRevoke(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	var added []Approval
	for _, s := range []string{"a", "b", "c"} {
		a, err := db.AddApproval(ctx, s, "reason "+s)
		if err != nil {
			t.Fatal(err)
		}
		added = append(added, a)
	}

	for _, tc := range []struct {
		name    string
		id      int64
		wantErr error
		left    []string
	}{
		{name: "revoke b", id: added[1].ID, left: []string{"a", "c"}},
		{name: "revoke b again", id: added[1].ID, wantErr: ErrNotFound, left: []string{"a", "c"}},
		{name: "unknown id", id: 999, wantErr: ErrNotFound, left: []string{"a", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.RevokeApproval(ctx, tc.id)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			list, err := db.ListApprovals(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := shapes(list); !reflect.DeepEqual(got, tc.left) {
				t.Errorf("left %q, want %q", got, tc.left)
			}
		})
	}
	if _, found, _ := db.FindApproval(ctx, "b"); found {
		t.Error("revoked shape still found")
	}
	// IDs are not reused: a revoked id never names a newer approval.
	again, err := db.AddApproval(ctx, "b", "reason b")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID <= added[2].ID {
		t.Errorf("re-added approval got id %d, not above %d", again.ID, added[2].ID)
	}

	n, err := db.RevokeAllApprovals(ctx)
	if err != nil || n != 3 {
		t.Fatalf("RevokeAllApprovals = %d, %v; want 3", n, err)
	}
	if list, _ := db.ListApprovals(ctx); len(list) != 0 {
		t.Errorf("left after revoke all: %q", shapes(list))
	}
	if n, err := db.RevokeAllApprovals(ctx); err != nil || n != 0 {
		t.Errorf("second RevokeAllApprovals = %d, %v; want 0", n, err)
	}

	// Every add and revoke is audited, with the shape as subject.
	log, err := db.AuditLog(ctx, "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range log {
		events = append(events, e.Event)
	}
	want := []string{"approval.add", "approval.revoke", "approval.add", "approval.revoke"}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("audit of b: %q, want %q", events, want)
	}
	all, _ := db.AuditLog(ctx, "", 0)
	if len(all) != 4+2+2 { // b above; a and c each added and revoked
		t.Errorf("%d audit entries, want 8: %+v", len(all), all)
	}
}

// A database written by the v1 binary (plugins, kv, audit; no approvals) upgrades in place to
// v2 and keeps its data.
func TestApprovalsUpgradeFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	v1, err := open(ctx, path, migrations[:1])
	if err != nil {
		t.Fatal(err)
	}
	if v := pragma(t, v1, "user_version"); v != 1 {
		t.Fatalf("v1 database has user_version %d", v)
	}
	rec := testRecord("alpha")
	putV1Plugin(t, v1, rec)
	putOldKV(t, v1, "alpha", "k", []byte("v"))
	if err := v1.Audit(ctx, "plugin.add", "alpha", "added"); err != nil {
		t.Fatal(err)
	}
	if _, err := v1.AddApproval(ctx, "x", "y"); err == nil {
		t.Error("v1 schema has an approvals table")
	}
	v1.Close()

	db := openUpgraded(t, path)
	if got, err := db.GetPlugin(ctx, "alpha"); err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("plugin after upgrade: %+v, %v", got, err)
	}
	if v, ok, err := db.KVGet(ctx, "alpha", "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("kv after upgrade: %q, %v, %v", v, ok, err)
	}
	if log, err := db.AuditLog(ctx, "alpha", 0); err != nil || len(log) != 1 || log[0].Detail != "added" {
		t.Errorf("audit after upgrade: %+v, %v", log, err)
	}
	if _, err := db.AddApproval(ctx, "rm -rf ./x", "recursive delete"); err != nil {
		t.Fatalf("approvals after upgrade: %v", err)
	}
	if _, found, err := db.FindApproval(ctx, "rm -rf ./x"); err != nil || !found {
		t.Errorf("FindApproval after upgrade: %v, %v", found, err)
	}
	db.Close()

	// The v1 binary now refuses the file rather than ignoring the approvals table.
	if _, err := open(ctx, path, migrations[:1]); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("v1 binary on v2 file: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestApprovalsSurviveReopen(t *testing.T) {
	db, path := openTest(t)
	ctx := context.Background()
	if _, err := db.AddApproval(ctx, "s", "r"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if a, found, err := db2.FindApproval(ctx, "s"); err != nil || !found || a.Reason != "r" || a.Uses != 1 {
		t.Errorf("after reopen: %+v, %v, %v", a, found, err)
	}
}
