package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// PluginRecord is one installed plugin.
type PluginRecord struct {
	Name       string
	Version    string
	Dir        string // where the plugin's files were copied under hermes' home
	WasmSHA256 string // hex digest pinned when added; checked on every load
	Manifest   []byte // plugin.toml bytes as added
	Granted    []byte // JSON of abi.Capabilities the user granted
	Limits     []byte // JSON of effective abi.Limits
	Tools      []byte // JSON of abi.Description recorded from describe at add time
	Enabled    bool
	AddedAt    time.Time // UTC

	// The lock: where the plugin came from and who vouched for it.
	Source    string // e.g. "dir:/abs/path", "file:/abs/x-1.0.0.tar.gz", "oci://host/repo:tag@sha256:…"
	Signer    string // name of the trusted key that signed it; "" when installed unsigned
	SignerKey string // fingerprint of the signing key, trusted or not; "" when there was no signature
	Signature []byte // the signature document as installed; empty when unsigned
	Seal      string // MAC over the lock fields, made by the installer (see host/install)
}

func (rec PluginRecord) validate() error {
	if rec.Name == "" {
		return errors.New("plugin name is empty")
	}
	if !isSHA256Hex(rec.WasmSHA256) {
		return fmt.Errorf("wasm digest %q is not 64 lowercase hex digits", rec.WasmSHA256)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"granted", rec.Granted}, {"limits", rec.Limits}, {"tools", rec.Tools}} {
		if len(f.data) > 0 && !json.Valid(f.data) {
			return fmt.Errorf("%s is not valid JSON", f.name)
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// PutPlugin inserts rec, or replaces the record of the plugin with the same name. The plugin's
// key-value data is kept. A zero AddedAt is stored as the current time. WasmSHA256 must be a
// lowercase hex SHA-256 digest; Granted, Limits and Tools must be empty or valid JSON.
func (db *DB) PutPlugin(ctx context.Context, rec PluginRecord) error {
	if err := rec.validate(); err != nil {
		return fmt.Errorf("store: put plugin %q: %w", rec.Name, err)
	}
	if rec.AddedAt.IsZero() {
		rec.AddedAt = time.Now()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
INSERT INTO plugins (`+pluginColumns+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
	version = excluded.version,
	dir = excluded.dir,
	wasm_sha256 = excluded.wasm_sha256,
	manifest = excluded.manifest,
	granted = excluded.granted,
	limits = excluded.limits,
	tools = excluded.tools,
	enabled = excluded.enabled,
	added_at = excluded.added_at,
	source = excluded.source,
	signer = excluded.signer,
	signer_key = excluded.signer_key,
	signature = excluded.signature,
	seal = excluded.seal`, rec.values()...)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: put plugin %q: %w", rec.Name, err)
	}
	return nil
}

const pluginColumns = `name, version, dir, wasm_sha256, manifest, granted, limits, tools, enabled, added_at, source, signer, signer_key, signature, seal`

// values are rec's columns in the order of pluginColumns.
func (rec PluginRecord) values() []any {
	return []any{rec.Name, rec.Version, rec.Dir, rec.WasmSHA256,
		orEmpty(rec.Manifest), orEmpty(rec.Granted), orEmpty(rec.Limits), orEmpty(rec.Tools),
		boolInt(rec.Enabled), formatTime(rec.AddedAt),
		rec.Source, rec.Signer, rec.SignerKey, orEmpty(rec.Signature), rec.Seal}
}

type scanner interface{ Scan(dest ...any) error }

func scanPlugin(row scanner) (PluginRecord, error) {
	var (
		rec     PluginRecord
		enabled int64
		addedAt string
	)
	err := row.Scan(&rec.Name, &rec.Version, &rec.Dir, &rec.WasmSHA256,
		&rec.Manifest, &rec.Granted, &rec.Limits, &rec.Tools, &enabled, &addedAt,
		&rec.Source, &rec.Signer, &rec.SignerKey, &rec.Signature, &rec.Seal)
	if err != nil {
		return PluginRecord{}, err
	}
	rec.Enabled = enabled != 0
	if rec.AddedAt, err = parseTime(addedAt); err != nil {
		return PluginRecord{}, err
	}
	return rec, nil
}

// GetPlugin returns the record of the named plugin, or an error wrapping [ErrNotFound].
func (db *DB) GetPlugin(ctx context.Context, name string) (PluginRecord, error) {
	rec, err := queryOne(ctx, db, scanPlugin, `SELECT `+pluginColumns+` FROM plugins WHERE name = ?`, name)
	if err != nil {
		return PluginRecord{}, fmt.Errorf("store: get plugin %q: %w", name, err)
	}
	return rec, nil
}

// ListPlugins returns every plugin record, ordered by name.
func (db *DB) ListPlugins(ctx context.Context) ([]PluginRecord, error) {
	recs, err := queryAll(ctx, db, scanPlugin, `SELECT `+pluginColumns+` FROM plugins ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list plugins: %w", err)
	}
	return recs, nil
}

// DeletePlugin deletes the named plugin's record, its kept versions and all its key-value data in one
// transaction. It returns an error wrapping [ErrNotFound] (and changes nothing) when there is
// no such plugin.
func (db *DB) DeletePlugin(ctx context.Context, name string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error { return deletePluginIn(ctx, tx, name) })
	if err != nil {
		return fmt.Errorf("store: delete plugin %q: %w", name, err)
	}
	db.giveBackSpace(ctx, name)
	return nil
}

// giveBackSpace returns the pages freed by deleting a plugin's rows (its kv data may be tens
// of MiB) to the file system: PRAGMA incremental_vacuum moves them to the end of the file and
// cuts it there (the database is auto_vacuum=INCREMENTAL, migrations v11), and a checkpoint
// carries the shorter file over from the WAL. The plugin is already deleted; a failure here
// only leaves the file larger, so it is logged, not returned. The checkpoint is skipped
// quietly when another connection is reading.
func (db *DB) giveBackSpace(ctx context.Context, plugin string) {
	if _, err := db.sql.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
		slog.Warn("store: incremental vacuum after deleting a plugin", "plugin", plugin, "err", err)
		return
	}
	var busy, logPages, checkpointed int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &checkpointed); err != nil {
		slog.Warn("store: checkpoint after deleting a plugin", "plugin", plugin, "err", err)
	}
}

func deletePluginIn(ctx context.Context, tx *sql.Tx, name string) error {
	if err := changed(tx.ExecContext(ctx, `DELETE FROM plugins WHERE name = ?`, name)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM plugin_versions WHERE name = ?`, name); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE plugin = ?`, name)
	return err
}

// LockVersion is the lock's change counter: it grows with every committed change to a plugin's
// lock entry (install, update, restore, enable, disable, remove, or an edit by anything else)
// and to the trusted keys. It is one small row, cheap enough to read before every request; a
// process holding plugins loaded compares it with the value it loaded them at. The counter
// only grows while the database exists.
func (db *DB) LockVersion(ctx context.Context) (int64, error) {
	stmt, err := db.cache.get(ctx, lockVersionSQL)
	if err != nil {
		return 0, fmt.Errorf("store: lock version: %w", err)
	}
	var n int64
	if err := stmt.QueryRowContext(ctx).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: lock version: %w", err)
	}
	return n, nil
}

const lockVersionSQL = `SELECT n FROM lock_changes WHERE id = 1`

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
