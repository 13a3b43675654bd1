package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// TrustedKey is a plugin-signing public key the user trusts, under a name of their choosing.
type TrustedKey struct {
	Name      string
	PublicKey string // "ed25519:<base64>", as host/install/signing formats it
	AddedAt   time.Time
}

// ErrKeyExists is returned, wrapped, by TrustKey when the name or the key is already trusted.
var ErrKeyExists = errors.New("already trusted")

// TrustKey records a trusted key and audits it, together. It fails with ErrKeyExists when the
// name or the key is already trusted (untrust it first: a silent replacement would change who
// vouches for installed plugins).
func (db *DB) TrustKey(ctx context.Context, name, publicKey string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO trusted_keys (name, public_key, added_at) VALUES (?, ?, ?)`,
			name, publicKey, formatTime(time.Now()))
		if err != nil {
			if strings.Contains(err.Error(), "UNIQUE constraint failed") {
				return ErrKeyExists
			}
			return err
		}
		return auditIn(ctx, tx, "key.trust", name, publicKey)
	})
	if err != nil {
		return fmt.Errorf("store: trust key %q: %w", name, err)
	}
	return nil
}

// UntrustKey forgets a trusted key and audits it, together; ErrNotFound when there is none.
func (db *DB) UntrustKey(ctx context.Context, name string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := changed(tx.ExecContext(ctx, `DELETE FROM trusted_keys WHERE name = ?`, name)); err != nil {
			return err
		}
		return auditIn(ctx, tx, "key.untrust", name, "")
	})
	if err != nil {
		return fmt.Errorf("store: untrust key %q: %w", name, err)
	}
	return nil
}

// TrustedKeys returns every trusted key, by name.
func (db *DB) TrustedKeys(ctx context.Context) ([]TrustedKey, error) {
	keys, err := queryAll(ctx, db, func(row scanner) (TrustedKey, error) {
		var (
			k  TrustedKey
			at string
		)
		if err := row.Scan(&k.Name, &k.PublicKey, &at); err != nil {
			return TrustedKey{}, err
		}
		var err error
		k.AddedAt, err = parseTime(at)
		return k, err
	}, `SELECT name, public_key, added_at FROM trusted_keys ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: trusted keys: %w", err)
	}
	return keys, nil
}
