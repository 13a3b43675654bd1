package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Activity is one use of a capability by a plugin, as the host saw it. Only names are kept:
// Target is a URL's host and path (no query, no body), a file's path inside the plugin's
// mount, an env or kv key's name, a command line; never a value.
type Activity struct {
	ID      int64     `json:"id"`
	Time    time.Time `json:"time"`
	Plugin  string    `json:"plugin"`
	Tool    string    `json:"tool,omitempty"`
	Session string    `json:"session,omitempty"`
	Kind    string    `json:"kind"`    // http, fs, env, kv, exec, or activity (a note about recording itself)
	Op      string    `json:"op"`      // GET, read, write, get, set, delete, run…
	Target  string    `json:"target"`  // what was reached
	Outcome string    `json:"outcome"` // ok, denied, limit, error, dropped
	Detail  string    `json:"detail,omitempty"`
}

// Bounds on what one activity row holds, so a plugin cannot store much through its names.
const (
	maxActivityTarget = 512
	maxActivityDetail = 256
	maxActivityField  = 128
)

var knownOutcomes = map[string]bool{"ok": true, "denied": true, "limit": true, "error": true, "dropped": true}

// DefaultActivityPerPlugin is how many activity rows a plugin keeps when the caller gives no
// bound of its own.
const DefaultActivityPerPlugin = 10000

// AppendActivity stores events in one transaction, then trims each plugin it touched to its
// newest keepPerPlugin rows (DefaultActivityPerPlugin when keepPerPlugin <= 0).
func (db *DB) AppendActivity(ctx context.Context, events []Activity, keepPerPlugin int) error {
	if len(events) == 0 {
		return nil
	}
	if keepPerPlugin <= 0 {
		keepPerPlugin = DefaultActivityPerPlugin
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO activity (time, plugin, tool, session, kind, op, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		touched := map[string]bool{}
		for _, e := range events {
			if e.Plugin == "" || e.Kind == "" {
				return errors.New("an activity event needs a plugin and a kind")
			}
			if e.Time.IsZero() {
				e.Time = time.Now()
			}
			if !knownOutcomes[e.Outcome] {
				e.Outcome = "error"
			}
			if _, err := ins.ExecContext(ctx, formatTime(e.Time), cut(e.Plugin, maxActivityField), cut(e.Tool, maxActivityField),
				cut(e.Session, maxActivityField), cut(e.Kind, maxActivityField), cut(e.Op, maxActivityField),
				cut(e.Target, maxActivityTarget), e.Outcome, cut(e.Detail, maxActivityDetail)); err != nil {
				return err
			}
			touched[cut(e.Plugin, maxActivityField)] = true
		}
		for plugin := range touched {
			if _, err := tx.ExecContext(ctx, `
DELETE FROM activity WHERE plugin = ?1 AND id <= (
	SELECT id FROM activity WHERE plugin = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`, plugin, keepPerPlugin); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: append %d activity events: %w", len(events), err)
	}
	return nil
}

// ActivityFilter selects activity rows. Empty fields match everything.
type ActivityFilter struct {
	Plugin  string
	Kind    string
	Outcome string
	Since   time.Time
	Limit   int // newest first; 0 means 500
}

// ListActivity returns the rows f selects, newest first.
func (db *DB) ListActivity(ctx context.Context, f ActivityFilter) ([]Activity, error) {
	where, args := activityWhere(f)
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	args = append(args, limit)
	out, err := queryAll(ctx, db, scanActivity,
		`SELECT id, time, plugin, tool, session, kind, op, target, outcome, detail FROM activity`+where+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list activity: %w", err)
	}
	return out, nil
}

// ActivityDay is how many rows one UTC day holds, and how many of them were refused (denied or
// over a limit).
type ActivityDay struct {
	Day     string `json:"day"` // 2006-01-02
	Total   int    `json:"total"`
	Refused int    `json:"refused"`
}

// ActivityByDay counts the rows f selects per UTC day, oldest day first (f.Limit is ignored).
func (db *DB) ActivityByDay(ctx context.Context, f ActivityFilter) ([]ActivityDay, error) {
	where, args := activityWhere(f)
	out, err := queryAll(ctx, db, func(s scanner) (ActivityDay, error) {
		var d ActivityDay
		err := s.Scan(&d.Day, &d.Total, &d.Refused)
		return d, err
	}, `SELECT substr(time, 1, 10) AS day, count(*), sum(outcome IN ('denied', 'limit')) FROM activity`+where+` GROUP BY day ORDER BY day`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: count activity by day: %w", err)
	}
	return out, nil
}

func activityWhere(f ActivityFilter) (string, []any) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, v string }{{"plugin", f.Plugin}, {"kind", f.Kind}, {"outcome", f.Outcome}} {
		if c.v != "" {
			conds = append(conds, c.col+" = ?")
			args = append(args, c.v)
		}
	}
	if !f.Since.IsZero() {
		conds = append(conds, "time >= ?")
		args = append(args, formatTime(f.Since))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

func scanActivity(s scanner) (Activity, error) {
	var a Activity
	var at string
	if err := s.Scan(&a.ID, &at, &a.Plugin, &a.Tool, &a.Session, &a.Kind, &a.Op, &a.Target, &a.Outcome, &a.Detail); err != nil {
		return a, err
	}
	t, err := parseTime(at)
	a.Time = t
	return a, err
}

// cut bounds s to n bytes without splitting a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
