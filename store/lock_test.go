package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestInstallPluginKeepsVersionsAndAudits(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()

	v1 := testRecord("weather")
	v1.Source, v1.Signer, v1.SignerKey, v1.Signature, v1.Seal = "oci://127.0.0.1:5000/acme/weather:1.2.3", "acme", "SHA256:abc", []byte(`{"sig":1}`), "seal1"
	if err := db.InstallPlugin(ctx, v1, "plugin.install", "from oci"); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetPlugin(ctx, "weather")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v1) {
		t.Fatalf("lock entry = %+v\nwant %+v", got, v1)
	}

	v2 := v1
	v2.Version, v2.WasmSHA256, v2.Granted, v2.Seal = "2.0.0", strings.Repeat("b", 64), []byte(`{}`), "seal2"
	v2.AddedAt = v1.AddedAt.Add(1e9)
	if err := db.InstallPlugin(ctx, v2, "plugin.update", "1.2.3 -> 2.0.0"); err != nil {
		t.Fatal(err)
	}
	versions, err := db.PluginVersions(ctx, "weather")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != 2 || versions[0].Version != "2.0.0" || versions[1].Version != "1.2.3" {
		t.Fatalf("versions = %+v, want 2.0.0 then 1.2.3", versions)
	}
	if string(versions[1].Granted) != `{"kv":true}` || versions[1].Signer != "acme" {
		t.Errorf("kept 1.2.3 lost its grants or signer: %+v", versions[1])
	}

	// Restoring 1.2.3 makes it current again without a third version row.
	restored := versions[1]
	restored.AddedAt = v2.AddedAt.Add(1e9)
	if err := db.InstallPlugin(ctx, restored, "plugin.restore", "2.0.0 -> 1.2.3"); err != nil {
		t.Fatal(err)
	}
	if versions, _ = db.PluginVersions(ctx, "weather"); len(versions) != 2 || versions[0].Version != "1.2.3" {
		t.Fatalf("after restore versions = %+v", versions)
	}

	log, err := db.AuditLog(ctx, "weather", 0)
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, e := range log {
		events = append(events, e.Event)
	}
	if want := []string{"plugin.install", "plugin.update", "plugin.restore"}; !reflect.DeepEqual(events, want) {
		t.Errorf("audit events = %v, want %v", events, want)
	}

	if err := db.SetPluginEnabled(ctx, "weather", false); err != nil {
		t.Fatal(err)
	}
	if rec, _ := db.GetPlugin(ctx, "weather"); rec.Enabled {
		t.Error("still enabled after SetPluginEnabled(false)")
	}
	if err := db.SetPluginEnabled(ctx, "nope", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("enable of absent plugin: %v, want ErrNotFound", err)
	}

	if err := db.RemovePlugin(ctx, "weather", ""); err != nil {
		t.Fatal(err)
	}
	if versions, _ = db.PluginVersions(ctx, "weather"); len(versions) != 0 {
		t.Errorf("versions survive removal: %+v", versions)
	}
}

func TestInstallPluginIsAllOrNothing(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	// An empty audit event fails inside the transaction: neither the lock nor the version stays.
	if err := db.InstallPlugin(ctx, testRecord("weather"), "", ""); err == nil {
		t.Fatal("InstallPlugin with an empty audit event succeeded")
	}
	if _, err := db.GetPlugin(ctx, "weather"); !errors.Is(err, ErrNotFound) {
		t.Errorf("lock entry written despite failure: %v", err)
	}
	if versions, _ := db.PluginVersions(ctx, "weather"); len(versions) != 0 {
		t.Errorf("version kept despite failure: %+v", versions)
	}
}

func TestTrustedKeys(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := db.TrustKey(ctx, "acme", "ed25519:AAAA"); err != nil {
		t.Fatal(err)
	}
	if err := db.TrustKey(ctx, "acme", "ed25519:BBBB"); !errors.Is(err, ErrKeyExists) {
		t.Errorf("same name again: %v, want ErrKeyExists", err)
	}
	if err := db.TrustKey(ctx, "other", "ed25519:AAAA"); !errors.Is(err, ErrKeyExists) {
		t.Errorf("same key again: %v, want ErrKeyExists", err)
	}
	keys, err := db.TrustedKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Name != "acme" || keys[0].PublicKey != "ed25519:AAAA" {
		t.Fatalf("TrustedKeys = %+v, %v", keys, err)
	}
	if err := db.UntrustKey(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := db.UntrustKey(ctx, "acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("untrust twice: %v, want ErrNotFound", err)
	}
}

// putV1Plugin writes rec as a database before v4 held it: only the v1 columns (the lock's
// provenance came with v4), for upgrade tests.
func putV1Plugin(t *testing.T, db *DB, rec PluginRecord) {
	t.Helper()
	_, err := db.sql.ExecContext(context.Background(), `INSERT INTO plugins (name, version, dir, wasm_sha256, manifest, granted, limits, tools, enabled, added_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.values()[:10]...)
	if err != nil {
		t.Fatal(err)
	}
}

// TestLockVersionCountsEveryLockChange: every change to the lock made through another handle
// on the same file (as another process would) — install, disable, enable, trust, untrust,
// remove, and an edit outside hermes — makes LockVersion grow; plugin data does not.
func TestLockVersionCountsEveryLockChange(t *testing.T) {
	db, path := openTest(t)
	other, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	last, err := db.LockVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, change func() error, wantChange bool) {
		t.Helper()
		if err := change(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		now, err := db.LockVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if changed := now != last; changed != wantChange {
			t.Errorf("%s: lock version %d -> %d, want changed=%v", what, last, now, wantChange)
		}
		if now < last {
			t.Errorf("%s: lock version went down, %d -> %d", what, last, now)
		}
		last = now
	}
	step("install", func() error { return other.InstallPlugin(ctx, testRecord("weather"), "plugin.install", "") }, true)
	step("kv write", func() error { return other.KVSet(ctx, "weather", "k", []byte("v"), 0) }, false)
	step("disable", func() error { return other.SetPluginEnabled(ctx, "weather", false) }, true)
	step("enable", func() error { return other.SetPluginEnabled(ctx, "weather", true) }, true)
	step("trust", func() error { return other.TrustKey(ctx, "acme", "ed25519:AAAA") }, true)
	step("untrust", func() error { return other.UntrustKey(ctx, "acme") }, true)
	step("edit outside hermes", func() error {
		rawExec(t, path, `UPDATE plugins SET wasm_sha256 = '`+strings.Repeat("c", 64)+`' WHERE name = 'weather'`)
		return nil
	}, true)
	step("remove", func() error { return other.RemovePlugin(ctx, "weather", "1.2.3") }, true)
}
