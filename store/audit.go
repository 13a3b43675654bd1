package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	Time    time.Time // UTC
	Event   string    // what happened, e.g. "plugin.add"
	Subject string    // what it happened to, e.g. a plugin name
	Detail  string    // free text
}

// Audit appends an entry, stamped with the current time, to the audit log. The log is
// append-only: the schema refuses updates and deletes of its rows.
func (db *DB) Audit(ctx context.Context, event, subject, detail string) error {
	return auditIn(ctx, db.sql, event, subject, detail)
}

// execer is what *sql.DB and *sql.Tx have in common for writing.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// auditIn appends an audit entry through x: inside a transaction, the entry is written or
// discarded together with the change it records.
func auditIn(ctx context.Context, x execer, event, subject, detail string) error {
	if event == "" {
		return errors.New("store: audit: event is empty")
	}
	_, err := x.ExecContext(ctx,
		`INSERT INTO audit (time, event, subject, detail) VALUES (?, ?, ?, ?)`,
		formatTime(time.Now()), event, subject, detail)
	if err != nil {
		return fmt.Errorf("store: audit %s %q: %w", event, subject, err)
	}
	return nil
}

// AuditLog returns the most recent limit entries about subject (every subject when subject is
// ""), oldest first. A limit of zero or less means no limit.
func (db *DB) AuditLog(ctx context.Context, subject string, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	// Two statements rather than "?1 = '' OR subject = ?1", so the subject index is usable.
	where, args := "", []any{limit}
	if subject != "" {
		where, args = "WHERE subject = ?2", append(args, subject)
	}
	rows, err := db.sql.QueryContext(ctx, `
SELECT time, event, subject, detail FROM (
	SELECT id, time, event, subject, detail FROM audit `+where+`
	ORDER BY id DESC LIMIT ?1
) ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: audit log %q: %w", subject, err)
	}
	defer rows.Close()
	var entries []AuditEntry
	for rows.Next() {
		var (
			e  AuditEntry
			ts string
		)
		if err := rows.Scan(&ts, &e.Event, &e.Subject, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: audit log %q: %w", subject, err)
		}
		if e.Time, err = parseTime(ts); err != nil {
			return nil, fmt.Errorf("store: audit log %q: %w", subject, err)
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: audit log %q: %w", subject, err)
	}
	return entries, nil
}
