package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// What the chat gateway (host/gateway) keeps: who was granted access by pairing, pending pairing
// codes, how many messages each stranger had dropped, which updates were handled and which
// session each chat talks in. Every change is one transaction, with its audit entry.

// GatewayGrant is a user allowed to talk to the agent on a platform through pairing or
// `hermes gateway allow`.
type GatewayGrant struct {
	Platform string
	UserID   string
	AddedAt  time.Time // UTC
	Via      string    // "pairing" or "allow"
}

// GatewayDropped counts the messages dropped from one user who is not allowed.
type GatewayDropped struct {
	Platform string
	UserID   string
	Count    int64
	LastAt   time.Time // UTC
}

func codeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// AddGatewayPairing records a pairing code for platform, valid until expires. Only its hash is
// kept. Expired codes are removed on the way.
func (db *DB) AddGatewayPairing(ctx context.Context, platform, code string, expires time.Time) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM gateway_pairings WHERE expires_at <= ?`, formatTime(time.Now())); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_pairings (code_sha256, platform, expires_at) VALUES (?, ?, ?)`,
			codeHash(code), platform, formatTime(expires)); err != nil {
			return err
		}
		return auditIn(ctx, tx, "gateway.pair", platform, "pairing code made, expires "+formatTime(expires))
	})
	if err != nil {
		return fmt.Errorf("store: add %s pairing code: %w", platform, err)
	}
	return nil
}

// RedeemGatewayPairing uses code for user on platform: when it is a pending, unexpired code of
// that platform it is removed and the user granted, and ok is true. Otherwise nothing changes.
func (db *DB) RedeemGatewayPairing(ctx context.Context, platform, code, userID string, now time.Time) (ok bool, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM gateway_pairings WHERE code_sha256 = ? AND platform = ? AND expires_at > ?`,
			codeHash(code), platform, formatTime(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return nil
		}
		ok = true
		return grantIn(ctx, tx, platform, userID, "pairing")
	})
	if err != nil {
		return false, fmt.Errorf("store: redeem %s pairing code: %w", platform, err)
	}
	return ok, nil
}

func grantIn(ctx context.Context, tx *sql.Tx, platform, userID, via string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_grants (platform, user_id, added_at, via) VALUES (?, ?, ?, ?)
ON CONFLICT (platform, user_id) DO NOTHING`, platform, userID, formatTime(time.Now()), via); err != nil {
		return err
	}
	return auditIn(ctx, tx, "gateway.allow", platform+":"+userID, "via "+via)
}

// AllowGatewayUser grants userID on platform.
func (db *DB) AllowGatewayUser(ctx context.Context, platform, userID string) error {
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return grantIn(ctx, tx, platform, userID, "allow") }); err != nil {
		return fmt.Errorf("store: allow %s user %s: %w", platform, userID, err)
	}
	return nil
}

// RevokeGatewayUser removes userID's grant on platform; ErrNotFound when there was none.
func (db *DB) RevokeGatewayUser(ctx context.Context, platform, userID string) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM gateway_grants WHERE platform = ? AND user_id = ?`, platform, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return auditIn(ctx, tx, "gateway.revoke", platform+":"+userID, "")
	})
	if err != nil {
		return fmt.Errorf("store: revoke %s user %s: %w", platform, userID, err)
	}
	return nil
}

// GatewayAllowed reports whether userID holds a grant on platform.
func (db *DB) GatewayAllowed(ctx context.Context, platform, userID string) (bool, error) {
	var one int
	err := db.sql.QueryRowContext(ctx, `SELECT 1 FROM gateway_grants WHERE platform = ? AND user_id = ?`, platform, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: gateway grant %s:%s: %w", platform, userID, err)
	}
	return true, nil
}

// GatewayGrants lists every grant, by platform and user.
func (db *DB) GatewayGrants(ctx context.Context) ([]GatewayGrant, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT platform, user_id, added_at, via FROM gateway_grants ORDER BY platform, user_id`)
	if err != nil {
		return nil, fmt.Errorf("store: gateway grants: %w", err)
	}
	defer rows.Close()
	var out []GatewayGrant
	for rows.Next() {
		var (
			g  GatewayGrant
			ts string
		)
		if err := rows.Scan(&g.Platform, &g.UserID, &ts, &g.Via); err != nil {
			return nil, fmt.Errorf("store: gateway grants: %w", err)
		}
		if g.AddedAt, err = parseTime(ts); err != nil {
			return nil, fmt.Errorf("store: gateway grants: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// RecordGatewayDrop counts one dropped message from userID on platform and audits it (platform,
// user and time; never the content).
func (db *DB) RecordGatewayDrop(ctx context.Context, platform, userID string) error {
	now := formatTime(time.Now())
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gateway_dropped (platform, user_id, count, last_at) VALUES (?, ?, 1, ?)
ON CONFLICT (platform, user_id) DO UPDATE SET count = count + 1, last_at = excluded.last_at`, platform, userID, now); err != nil {
			return err
		}
		return auditIn(ctx, tx, "gateway.drop", platform+":"+userID, "message from a user not allowed dropped")
	})
	if err != nil {
		return fmt.Errorf("store: record dropped %s message: %w", platform, err)
	}
	return nil
}

// GatewayDrops lists the dropped-message counts, by platform and user.
func (db *DB) GatewayDrops(ctx context.Context) ([]GatewayDropped, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT platform, user_id, count, last_at FROM gateway_dropped ORDER BY platform, user_id`)
	if err != nil {
		return nil, fmt.Errorf("store: gateway drops: %w", err)
	}
	defer rows.Close()
	var out []GatewayDropped
	for rows.Next() {
		var (
			d  GatewayDropped
			ts string
		)
		if err := rows.Scan(&d.Platform, &d.UserID, &d.Count, &ts); err != nil {
			return nil, fmt.Errorf("store: gateway drops: %w", err)
		}
		if d.LastAt, err = parseTime(ts); err != nil {
			return nil, fmt.Errorf("store: gateway drops: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// gatewayUpdateRetention is how long handled update ids are remembered: far longer than any
// platform redelivers.
const gatewayUpdateRetention = 7 * 24 * time.Hour

// MarkGatewayUpdate records that updateID of platform is being handled. first is false when it
// was handled before (a redelivery), and the caller skips it.
func (db *DB) MarkGatewayUpdate(ctx context.Context, platform, updateID string) (first bool, err error) {
	now := time.Now()
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO gateway_updates (platform, update_id, seen_at) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`, platform, updateID, formatTime(now))
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		first = n == 1
		_, err = tx.ExecContext(ctx, `DELETE FROM gateway_updates WHERE seen_at < ?`, formatTime(now.Add(-gatewayUpdateRetention)))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: mark %s update: %w", platform, err)
	}
	return first, nil
}

// GatewayChatSession returns the session chatKey of platform talks in; ok is false when it has
// none (yet, or since /new).
func (db *DB) GatewayChatSession(ctx context.Context, platform, chatKey string) (id string, ok bool, err error) {
	err = db.sql.QueryRowContext(ctx, `SELECT session_id FROM gateway_chats WHERE platform = ? AND chat_key = ?`, platform, chatKey).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: session of %s chat: %w", platform, err)
	}
	return id, true, nil
}

// SetGatewayChatSession makes chatKey of platform talk in session id from now on.
func (db *DB) SetGatewayChatSession(ctx context.Context, platform, chatKey, id string) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO gateway_chats (platform, chat_key, session_id) VALUES (?, ?, ?)
ON CONFLICT (platform, chat_key) DO UPDATE SET session_id = excluded.session_id`, platform, chatKey, id)
	if err != nil {
		return fmt.Errorf("store: set session of %s chat: %w", platform, err)
	}
	return nil
}

// GatewayState is a platform's connection as the gateway last reported it.
type GatewayState struct {
	Platform string
	State    string    // "connected", "disconnected" (retrying) or "stopped"
	Since    time.Time // UTC
}

// SetGatewayState records platform's connection state.
func (db *DB) SetGatewayState(ctx context.Context, platform, state string) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO gateway_status (platform, state, since) VALUES (?, ?, ?)
ON CONFLICT (platform) DO UPDATE SET state = excluded.state, since = excluded.since`, platform, state, formatTime(time.Now()))
	if err != nil {
		return fmt.Errorf("store: set %s gateway state %q: %w", platform, state, err)
	}
	return nil
}

// GatewayStates lists every platform's last reported state.
func (db *DB) GatewayStates(ctx context.Context) ([]GatewayState, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT platform, state, since FROM gateway_status ORDER BY platform`)
	if err != nil {
		return nil, fmt.Errorf("store: gateway states: %w", err)
	}
	defer rows.Close()
	var out []GatewayState
	for rows.Next() {
		var (
			g  GatewayState
			ts string
		)
		if err := rows.Scan(&g.Platform, &g.State, &ts); err != nil {
			return nil, fmt.Errorf("store: gateway states: %w", err)
		}
		if g.Since, err = parseTime(ts); err != nil {
			return nil, fmt.Errorf("store: gateway states: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
