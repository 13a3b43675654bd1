package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Approval is an "always" answer to the approval prompt for a dangerous host command: commands
// of this shape run on the local backend without asking again. Each profile has its own state
// database, so approvals are per profile.
type Approval struct {
	ID        int64
	Shape     string    // canonical command text (classify.Verdict.Shape)
	Reason    string    // why the command was flagged when it was approved
	CreatedAt time.Time // UTC
	LastUsed  time.Time // UTC; zero until the approval is first used by FindApproval
	Uses      int64     // how many times FindApproval has found it
}

// Audit events written for approvals; the subject is the approval's shape.
const (
	auditApprovalAdd    = "approval.add"
	auditApprovalRevoke = "approval.revoke"
)

const approvalColumns = `id, shape, reason, created_at, last_used, uses`

func scanApproval(row scanner) (Approval, error) {
	var (
		a        Approval
		created  string
		lastUsed sql.NullString
	)
	if err := row.Scan(&a.ID, &a.Shape, &a.Reason, &created, &lastUsed, &a.Uses); err != nil {
		return Approval{}, err
	}
	var err error
	if a.CreatedAt, err = parseTime(created); err != nil {
		return Approval{}, err
	}
	if lastUsed.Valid {
		if a.LastUsed, err = parseTime(lastUsed.String); err != nil {
			return Approval{}, err
		}
	}
	return a, nil
}

// auditTx appends an audit entry inside tx, so an approval never changes without its audit
// line (db.Audit would wait on the write lock tx holds). Same row shape as [DB.Audit].
func auditTx(ctx context.Context, tx *sql.Tx, event, subject, detail string) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO audit (time, event, subject, detail) VALUES (?, ?, ?, ?)`,
		formatTime(time.Now()), event, subject, detail)
	return err
}

// AddApproval records an "always" approval of shape and returns it. It is idempotent per
// shape: when shape is already approved, the existing approval is returned unchanged (its
// reason is not replaced) and nothing is audited. A new approval is audited as
// "approval.add" with the shape as subject, in the same transaction.
func (db *DB) AddApproval(ctx context.Context, shape, reason string) (Approval, error) {
	if shape == "" {
		return Approval{}, errors.New("store: add approval: shape is empty")
	}
	var a Approval
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanApproval(tx.QueryRowContext(ctx,
			`SELECT `+approvalColumns+` FROM approvals WHERE shape = ?`, shape))
		if err == nil {
			return nil // already approved
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := formatTime(time.Now())
		a, err = scanApproval(tx.QueryRowContext(ctx, `
INSERT INTO approvals (shape, reason, created_at, last_used, uses) VALUES (?, ?, ?, NULL, 0)
RETURNING `+approvalColumns, shape, reason, now))
		if err != nil {
			return err
		}
		return auditTx(ctx, tx, auditApprovalAdd, shape, fmt.Sprintf("id %d: %s", a.ID, reason))
	})
	if err != nil {
		return Approval{}, fmt.Errorf("store: add approval %q: %w", shape, err)
	}
	return a, nil
}

// FindApproval returns the approval of shape, if there is one, after counting this as a use:
// Uses goes up by one and LastUsed becomes now, in one transaction. The returned Approval
// includes that use.
func (db *DB) FindApproval(ctx context.Context, shape string) (Approval, bool, error) {
	if shape == "" {
		return Approval{}, false, nil
	}
	var (
		a     Approval
		found bool
	)
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = scanApproval(tx.QueryRowContext(ctx, `
UPDATE approvals SET uses = uses + 1, last_used = ? WHERE shape = ?
RETURNING `+approvalColumns, formatTime(time.Now()), shape))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err != nil {
		return Approval{}, false, fmt.Errorf("store: find approval %q: %w", shape, err)
	}
	return a, found, nil
}

// ListApprovals returns every approval, oldest first.
func (db *DB) ListApprovals(ctx context.Context) ([]Approval, error) {
	out, err := queryAll(ctx, db, scanApproval, `SELECT `+approvalColumns+` FROM approvals ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list approvals: %w", err)
	}
	return out, nil
}

// RevokeApproval deletes the approval with the given id, so its shape is asked about again.
// It returns an error wrapping [ErrNotFound] (and changes nothing) when there is no such
// approval. The revocation is audited as "approval.revoke" with the shape as subject. IDs are
// never reused.
func (db *DB) RevokeApproval(ctx context.Context, id int64) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var shape string
		err := tx.QueryRowContext(ctx, `DELETE FROM approvals WHERE id = ? RETURNING shape`, id).Scan(&shape)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return auditTx(ctx, tx, auditApprovalRevoke, shape, fmt.Sprintf("id %d", id))
	})
	if err != nil {
		return fmt.Errorf("store: revoke approval %d: %w", id, err)
	}
	return nil
}

// RevokeAllApprovals deletes every approval and returns how many there were. Each revocation
// is audited as by [DB.RevokeApproval], all in one transaction.
func (db *DB) RevokeAllApprovals(ctx context.Context) (int, error) {
	var n int
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM approvals RETURNING id, shape`)
		if err != nil {
			return err
		}
		type gone struct {
			id    int64
			shape string
		}
		var deleted []gone
		for rows.Next() {
			var g gone
			if err := rows.Scan(&g.id, &g.shape); err != nil {
				rows.Close()
				return err
			}
			deleted = append(deleted, g)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, g := range deleted {
			if err := auditTx(ctx, tx, auditApprovalRevoke, g.shape, fmt.Sprintf("id %d (revoke all)", g.id)); err != nil {
				return err
			}
		}
		n = len(deleted)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: revoke all approvals: %w", err)
	}
	return n, nil
}
