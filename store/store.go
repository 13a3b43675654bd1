// Package store is hermes' persistent state: installed plugins, their private key-value data
// and an append-only audit log, kept in one SQLite database (normally state.db under hermes'
// home). It is the only package that opens SQLite.
//
// The database is opened with the pure-Go driver modernc.org/sqlite in WAL mode, so readers
// never block the writer and several hermes processes may share the file; writes wait up to
// busy_timeout (5 s) for one another instead of failing with "database is locked".
//
// A *DB is safe for concurrent use.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFound is returned, wrapped, when a plugin asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrSchemaTooNew is returned, wrapped, by [Open] when the database was written by a newer
// hermes than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this hermes")

// walAutocheckpointPages is how many pages the WAL may hold before a commit copies them back
// into the database file (SQLite's default is 1000, 4 MiB). Each copy ends with an fsync of
// the WAL and of the database that the committing call waits for; with a larger WAL they come
// four times less often, and pages that every append rewrites (a session's row, the FTS5
// index structure) are copied once per checkpoint rather than four times. The WAL file grows
// to about 16 MiB while the database is open. A killed process still loses nothing
// committed. On power loss, synchronous=NORMAL may lose the commits made since the WAL was
// last synced; under a steady stream of appends that is now up to 4000 pages of them rather
// than 1000, though the kernel normally writes them out within half a minute regardless.
const walAutocheckpointPages = 4000

// busyTimeoutMS is how long a statement waits for another connection's write lock.
const busyTimeoutMS = 5000

// DB is an open state database.
type DB struct {
	sql   *sql.DB
	path  string
	cache *stmtCache  // the hot paths' prepared statements (see sessions.go)
	group groupCommit // concurrent session writes committed together (see group.go)
}

// Open opens the state database at path, creating it (mode 0600) if it does not exist and
// tightening its mode to 0600 if it is looser. An older schema is upgraded in place; a schema
// newer than this binary knows is refused with an error wrapping [ErrSchemaTooNew]. The
// directory holding path must exist.
func Open(path string) (*DB, error) {
	return open(context.Background(), path, migrations)
}

func open(ctx context.Context, path string, steps []string) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := prepareFile(abs); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	sqlDB, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	// Writes serialise on SQLite's lock anyway; a small pool keeps readers concurrent without
	// opening a connection (and re-running the pragmas) per goroutine.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(4)
	db := &DB{sql: sqlDB, path: abs, cache: &stmtCache{sql: sqlDB, stmts: map[string]*sql.Stmt{}}}
	// Several processes opening a new database at once race to switch it to WAL; SQLite answers
	// SQLITE_BUSY at once there, without waiting out busy_timeout. Try again, briefly.
	for attempt := 0; ; attempt++ {
		err = db.migrate(ctx, steps)
		if err == nil {
			return db, nil
		}
		if attempt == 8 || !isBusy(err) {
			sqlDB.Close()
			return nil, fmt.Errorf("store: open %s: %w", abs, err)
		}
		time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
	}
}

// Close closes the database. Calls made after Close fail.
func (db *DB) Close() error {
	db.cache.close()
	if err := db.sql.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// dsn builds a file: URI for the driver. Every pooled connection runs the _pragma list when it
// is opened; modernc.org/sqlite applies busy_timeout first. _txlock=immediate makes every
// read-write transaction take the write lock at BEGIN, so two writers queue on busy_timeout
// instead of one failing when it tries to upgrade a read lock.
func dsn(abs string) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") { // Windows drive path: file:/C:/...
		p = "/" + p
	}
	return "file:" + escapeURIPath(p) +
		fmt.Sprintf("?_pragma=busy_timeout(%d)", busyTimeoutMS) +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)" +
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)", walAutocheckpointPages) +
		"&_txlock=immediate"
}

// DSN is the data source name [Open] gives the "sqlite" driver (modernc.org/sqlite) for the
// database at path: its pragmas and transaction mode. It is for floor benchmarks that run the
// store's SQL on a bare connection with the same settings.
func DSN(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("store: dsn %s: %w", path, err)
	}
	return dsn(abs), nil
}

// escapeURIPath percent-encodes the characters SQLite's URI parser would otherwise treat as
// syntax ('?', '#', '%'), so any file name survives the file: URI.
func escapeURIPath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '?', '#', '%':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// prepareFile creates path with mode 0600 if it does not exist, and makes an existing one (and
// any -wal, -shm or -journal file beside it) no more open than 0600. SQLite creates its -wal
// and -shm files with the database file's mode, so they follow.
func prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			return fmt.Errorf("restrict permissions: %w", err)
		}
	}
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		side := path + suffix
		fi, err := os.Lstat(side)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(side, 0o600); err != nil {
			return fmt.Errorf("restrict permissions of %s: %w", filepath.Base(side), err)
		}
	}
	return nil
}

// timeFormat is how times are stored: fixed-width UTC, so text order is time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// inTx runs fn in a transaction (BEGIN IMMEDIATE, see dsn) and commits it if fn returns nil.
func (db *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// orEmpty makes a nil slice an empty one, for NOT NULL blob columns.
func orEmpty(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// queryOne runs a query for one row and scans it with scan; no row is an error wrapping
// ErrNotFound.
func queryOne[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), query string, args ...any) (T, error) {
	v, err := scan(db.sql.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return v, err
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// execChanging runs one statement in a transaction and returns ErrNotFound when it changed no
// row.
func (db *DB) execChanging(ctx context.Context, query string, args ...any) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		return changed(tx.ExecContext(ctx, query, args...))
	})
}

// changed passes on a statement's error, or returns ErrNotFound when it changed no row.
func changed(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return ErrNotFound
	}
	return nil
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked")
}
