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
// wrapping [ErrKVLimit] if the key or value is too large, if the key is new and the plugin
// already holds [MaxKVKeys] keys, or if maxBytes > 0 and the write would take the plugin's
// total (bytes of every key plus its value) above maxBytes — the kv_bytes limit; replacing a
// value counts the difference, and a write that does not grow the total is never refused by
// it. maxBytes <= 0 bounds no total. The check and the write are one transaction (BEGIN
// IMMEDIATE), so concurrent writers cannot both slip under the limit; the total is kv_usage's
// running sum, one lookup.
func (db *DB) KVSet(ctx context.Context, plugin, key string, value []byte, maxBytes int64) error {
	if err := checkKey(plugin, key); err != nil {
		return fmt.Errorf("store: kv set %q of plugin %q: %w", key, plugin, err)
	}
	if len(value) > MaxKVValueBytes {
		return fmt.Errorf("store: kv set %q of plugin %q: value is %d bytes, more than the %d allowed: %w",
			key, plugin, len(value), MaxKVValueBytes, ErrKVLimit)
	}
	value = orEmpty(value)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		// old is the size of the row being replaced, -1 when the key is new. length() of a
		// blob column reads its size, not its content.
		var keys, total, old int64
		err := tx.QueryRowContext(ctx, `
SELECT coalesce((SELECT keys FROM kv_usage WHERE plugin = ?1), 0),
       coalesce((SELECT bytes FROM kv_usage WHERE plugin = ?1), 0),
       coalesce((SELECT length(CAST(key AS BLOB)) + length(value) FROM kv WHERE plugin = ?1 AND key = ?2), -1)`,
			plugin, key).Scan(&keys, &total, &old)
		if err != nil {
			return err
		}
		size := int64(len(key) + len(value))
		if old < 0 && keys >= MaxKVKeys {
			return fmt.Errorf("plugin already holds %d keys, the most allowed: %w", MaxKVKeys, ErrKVLimit)
		}
		after := total - max(old, 0) + size
		if maxBytes > 0 && after > maxBytes && after > total {
			return &KVBytesError{Plugin: plugin, Key: key, Held: total, Replaced: max(old, 0), Size: size, Limit: maxBytes}
		}
		if old >= 0 {
			_, err = tx.ExecContext(ctx, `UPDATE kv SET value = ? WHERE plugin = ? AND key = ?`, value, plugin, key)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO kv (plugin, key, value) VALUES (?, ?, ?)`, plugin, key, value)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("store: kv set %q of plugin %q: %w", key, plugin, err)
	}
	return nil
}

// KVBytesError is the kv_bytes limit refusing a KVSet. It wraps [ErrKVLimit].
type KVBytesError struct {
	Plugin, Key string
	Held        int64 // bytes of keys and values the plugin held
	Replaced    int64 // of which the key's current row, 0 for a new key
	Size        int64 // bytes of the key and value asked for
	Limit       int64
}

func (e *KVBytesError) Error() string {
	return fmt.Sprintf("kv_bytes: the plugin holds %d bytes of keys and values; setting %q to %d bytes (key and value) would make it %d, more than the %d allowed",
		e.Held, e.Key, e.Size, e.Held-e.Replaced+e.Size, e.Limit)
}

func (e *KVBytesError) Unwrap() error { return ErrKVLimit }

// KVUsage returns how many keys plugin holds and their total size (bytes of keys plus values).
func (db *DB) KVUsage(ctx context.Context, plugin string) (keys, bytes int64, err error) {
	err = db.sql.QueryRowContext(ctx,
		`SELECT coalesce(sum(keys), 0), coalesce(sum(bytes), 0) FROM kv_usage WHERE plugin = ?`, plugin).Scan(&keys, &bytes)
	if err != nil {
		return 0, 0, fmt.Errorf("store: kv usage of plugin %q: %w", plugin, err)
	}
	return keys, bytes, nil
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
