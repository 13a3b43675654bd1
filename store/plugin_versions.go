package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Installing, updating and restoring a plugin all do the same thing to the database: the plugin's
// lock entry becomes rec, rec is remembered among its versions (so a later restore can bring it
// back offline), and the audit log says so — in one transaction.

// InstallPlugin makes rec the plugin's current lock entry, keeps it among the plugin's versions
// and appends an audit entry (event, detail), all or nothing. Installing a version that is
// already kept (same name, version and module digest) updates its kept grants.
func (db *DB) InstallPlugin(ctx context.Context, rec PluginRecord, event, detail string) error {
	if err := rec.validate(); err != nil {
		return fmt.Errorf("store: install plugin %q: %w", rec.Name, err)
	}
	if rec.AddedAt.IsZero() {
		rec.AddedAt = time.Now()
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM plugins WHERE name = ?`, rec.Name); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO plugins (`+pluginColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, rec.values()...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
INSERT INTO plugin_versions (name, version, dir, wasm_sha256, manifest, granted, limits, tools, source, signer, signer_key, signature, installed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (name, version, wasm_sha256) DO UPDATE SET
	dir = excluded.dir, manifest = excluded.manifest, granted = excluded.granted, limits = excluded.limits,
	tools = excluded.tools, source = excluded.source, signer = excluded.signer,
	signer_key = excluded.signer_key, signature = excluded.signature, installed_at = excluded.installed_at`,
			rec.Name, rec.Version, rec.Dir, rec.WasmSHA256, orEmpty(rec.Manifest), orEmpty(rec.Granted),
			orEmpty(rec.Limits), orEmpty(rec.Tools), rec.Source, rec.Signer, rec.SignerKey,
			orEmpty(rec.Signature), formatTime(rec.AddedAt))
		if err != nil {
			return err
		}
		return auditIn(ctx, tx, event, rec.Name, detail)
	})
	if err != nil {
		return fmt.Errorf("store: install plugin %q: %w", rec.Name, err)
	}
	return nil
}

// PluginVersions returns the kept versions of a plugin, most recently installed first. Their
// Enabled is false and Seal empty: a kept version is not a lock entry until it is installed again.
func (db *DB) PluginVersions(ctx context.Context, name string) ([]PluginRecord, error) {
	recs, err := queryAll(ctx, db, func(row scanner) (PluginRecord, error) {
		var (
			rec PluginRecord
			at  string
		)
		err := row.Scan(&rec.Name, &rec.Version, &rec.Dir, &rec.WasmSHA256, &rec.Manifest, &rec.Granted,
			&rec.Limits, &rec.Tools, &rec.Source, &rec.Signer, &rec.SignerKey, &rec.Signature, &at)
		if err != nil {
			return PluginRecord{}, err
		}
		rec.AddedAt, err = parseTime(at)
		return rec, err
	}, `
SELECT name, version, dir, wasm_sha256, manifest, granted, limits, tools, source, signer, signer_key, signature, installed_at
FROM plugin_versions WHERE name = ? ORDER BY installed_at DESC, id DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("store: versions of plugin %q: %w", name, err)
	}
	return recs, nil
}

// ForgetPluginVersion drops one kept version (its files are the caller's to delete).
func (db *DB) ForgetPluginVersion(ctx context.Context, name, version, wasmSHA256 string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM plugin_versions WHERE name = ? AND version = ? AND wasm_sha256 = ?`, name, version, wasmSHA256)
	if err != nil {
		return fmt.Errorf("store: forget version %s of plugin %q: %w", version, name, err)
	}
	return nil
}

// SetPluginEnabled enables or disables a plugin and records it in the audit log, together.
func (db *DB) SetPluginEnabled(ctx context.Context, name string, enabled bool) error {
	event := "plugin.disable"
	if enabled {
		event = "plugin.enable"
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := changed(tx.ExecContext(ctx, `UPDATE plugins SET enabled = ? WHERE name = ?`, boolInt(enabled), name)); err != nil {
			return err
		}
		return auditIn(ctx, tx, event, name, "")
	})
	if err != nil {
		return fmt.Errorf("store: %s %q: %w", event, name, err)
	}
	return nil
}

// RemovePlugin is DeletePlugin with an audit entry in the same transaction.
func (db *DB) RemovePlugin(ctx context.Context, name, detail string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := deletePluginIn(ctx, tx, name); err != nil {
			return err
		}
		return auditIn(ctx, tx, "plugin.remove", name, detail)
	})
	if err != nil {
		return fmt.Errorf("store: remove plugin %q: %w", name, err)
	}
	db.giveBackSpace(ctx, name)
	return nil
}
