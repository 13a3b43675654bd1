package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

func TestGatewayPairingSingleUseAndExpiry(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	if err := db.AddGatewayPairing(ctx, "telegram", "GOOD-CODE", now.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.AddGatewayPairing(ctx, "telegram", "OLD-CODE", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, platform, code, user string
		at                         time.Time
		want                       bool
	}{
		{"wrong code", "telegram", "NOPE", "1", now, false},
		{"other platform", "slack", "GOOD-CODE", "1", now, false},
		{"expired", "telegram", "OLD-CODE", "1", now.Add(2 * time.Minute), false},
		{"right", "telegram", "GOOD-CODE", "42", now, true},
		{"reused", "telegram", "GOOD-CODE", "43", now, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := db.RedeemGatewayPairing(ctx, tc.platform, tc.code, tc.user, tc.at)
			if err != nil || ok != tc.want {
				t.Fatalf("redeem = %v, %v; want %v", ok, err, tc.want)
			}
		})
	}
	for user, want := range map[string]bool{"42": true, "43": false, "1": false} {
		if ok, err := db.GatewayAllowed(ctx, "telegram", user); err != nil || ok != want {
			t.Errorf("allowed %s = %v, %v; want %v", user, ok, err, want)
		}
	}
	if err := db.RevokeGatewayUser(ctx, "telegram", "42"); err != nil {
		t.Fatal(err)
	}
	if err := db.RevokeGatewayUser(ctx, "telegram", "42"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second revoke = %v, want ErrNotFound", err)
	}
	if gs, err := db.GatewayGrants(ctx); err != nil || len(gs) != 0 {
		t.Fatalf("grants after revoke = %v, %v", gs, err)
	}
}

func TestGatewayDropsAndUpdates(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	for range 3 {
		if err := db.RecordGatewayDrop(ctx, "telegram", "666"); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := db.GatewayDrops(ctx)
	if err != nil || len(ds) != 1 || ds[0].Count != 3 || ds[0].UserID != "666" {
		t.Fatalf("drops = %+v, %v", ds, err)
	}
	log, err := db.AuditLog(ctx, "telegram:666", 0)
	if err != nil || len(log) != 3 || log[0].Event != "gateway.drop" {
		t.Fatalf("audit = %+v, %v", log, err)
	}
	for i, want := range []bool{true, false} {
		if first, err := db.MarkGatewayUpdate(ctx, "telegram", "7"); err != nil || first != want {
			t.Fatalf("mark %d = %v, %v; want %v", i, first, err, want)
		}
	}
}

func TestGatewayChatSessionFollowsSession(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s, err := db.CreateSession(ctx, "telegram", "default", "m", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetGatewayChatSession(ctx, "telegram", "100", s.ID); err != nil {
		t.Fatal(err)
	}
	if id, ok, err := db.GatewayChatSession(ctx, "telegram", "100"); err != nil || !ok || id != s.ID {
		t.Fatalf("chat session = %q, %v, %v", id, ok, err)
	}
	if err := db.DeleteSession(ctx, s.ID, SessionFilter{Source: "telegram"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.GatewayChatSession(ctx, "telegram", "100"); err != nil || ok {
		t.Fatalf("chat session after delete: ok %v, %v", ok, err)
	}
}

// A database from before the gateway (v7) upgrades in place and keeps its sessions.
func TestMigrationAddsGatewayTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	old, err := open(ctx, path, migrations[:7])
	if err != nil {
		t.Fatal(err)
	}
	s, err := old.CreateSession(ctx, "cli", "default", "m", "kept")
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := pragma(t, db, "user_version"); v != len(migrations) {
		t.Fatalf("user_version %d, want %d", v, len(migrations))
	}
	if got, err := db.GetSession(ctx, s.ID, SessionFilter{Source: "cli"}); err != nil || got.Title != "kept" {
		t.Fatalf("session after upgrade = %+v, %v", got, err)
	}
	if err := db.AllowGatewayUser(ctx, "telegram", "1"); err != nil {
		t.Fatal(err)
	}
}
