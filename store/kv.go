package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Limits on a plugin's key-value data.
const (
	MaxKVKeyBytes   = 256     // longest key, in bytes
	MaxKVValueBytes = 1 << 20 // largest value, in bytes (1 MiB)
	MaxKVKeys       = 10000   // most keys one plugin may hold
)

// ErrKVLimit is returned, wrapped, when a key or value is too large or a plugin already holds
// [MaxKVKeys] keys. Callers map it to a limit_exceeded error for the plugin.
var ErrKVLimit = errors.New("kv limit exceeded")

func checkKey(plugin, key string) error {
	if plugin == "" {
		return errors.New("plugin name is empty")
	}
	if key == "" {
		return errors.New("key is empty")
	}
	if len(key) > MaxKVKeyBytes {
		return fmt.Errorf("key is %d bytes, more than the %d allowed: %w", len(key), MaxKVKeyBytes, ErrKVLimit)
	}
	return nil
}

// KVGet returns the value plugin stored under key, and whether there was one. A found empty
// value is a non-nil empty slice.
func (db *DB) KVGet(ctx context.Context, plugin, key string) ([]byte, bool, error) {
	if err := checkKey(plugin, key); err != nil {
		return nil, false, fmt.Errorf("store: kv get %q of plugin %q: %w", key, plugin, err)
	}
	var value []byte
	err := db.sql.QueryRowContext(ctx, `SELECT value FROM kv WHERE plugin = ? AND key = ?`, plugin, key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: kv get %q of plugin %q: %w", key, plugin, err)
	}
	return orEmpty(value), true, nil
}

// KVSet stores value under key for plugin, replacing any value there. It fails with an error
// wrapping [ErrKVLimit] if the key or value is too large, or if the key is new and the plugin
// already holds [MaxKVKeys] keys.
func (db *DB) KVSet(ctx context.Context, plugin, key string, value []byte) error {
	if err := checkKey(plugin, key); err != nil {
		return fmt.Errorf("store: kv set %q of plugin %q: %w", key, plugin, err)
	}
	if len(value) > MaxKVValueBytes {
		return fmt.Errorf("store: kv set %q of plugin %q: value is %d bytes, more than the %d allowed: %w",
			key, plugin, len(value), MaxKVValueBytes, ErrKVLimit)
	}
	value = orEmpty(value)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE kv SET value = ? WHERE plugin = ? AND key = ?`, value, plugin, key)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// A new key: insert it only while the plugin is under its key cap.
		res, err = tx.ExecContext(ctx, `
INSERT INTO kv (plugin, key, value)
SELECT ?1, ?2, ?3 WHERE coalesce((SELECT keys FROM kv_usage WHERE plugin = ?1), 0) < ?4`,
			plugin, key, value, MaxKVKeys)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("plugin already holds %d keys, the most allowed: %w", MaxKVKeys, ErrKVLimit)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: kv set %q of plugin %q: %w", key, plugin, err)
	}
	return nil
}

// KVDelete deletes plugin's value under key. Deleting a key that is not there is not an error.
func (db *DB) KVDelete(ctx context.Context, plugin, key string) error {
	if err := checkKey(plugin, key); err != nil {
		return fmt.Errorf("store: kv delete %q of plugin %q: %w", key, plugin, err)
	}
	if _, err := db.sql.ExecContext(ctx, `DELETE FROM kv WHERE plugin = ? AND key = ?`, plugin, key); err != nil {
		return fmt.Errorf("store: kv delete %q of plugin %q: %w", key, plugin, err)
	}
	return nil
}
