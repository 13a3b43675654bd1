package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const testDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// pragma reads an integer PRAGMA of db: "user_version", "auto_vacuum", "freelist_count".
func pragma(t *testing.T, db *DB, name string) int {
	t.Helper()
	var v int
	if err := db.sql.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// openUpgraded opens the database at path as the current binary would, upgrading it, and
// checks that it reached the last schema version. It is closed when the test ends.
func openUpgraded(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if v := pragma(t, db, "user_version"); v != len(migrations) {
		t.Errorf("user_version %d, want %d", v, len(migrations))
	}
	return db
}

// rawExec runs SQL on the file through a plain driver connection, bypassing Open.
func rawExec(t *testing.T, path, query string) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func TestOpenPermissions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		existing os.FileMode // 0: the file does not exist yet
	}{
		{name: "creates 0600", existing: 0},
		{name: "tightens 0644", existing: 0o644},
		{name: "tightens 0666", existing: 0o666},
		{name: "keeps 0600", existing: 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.db")
			if tc.existing != 0 {
				if err := os.WriteFile(path, nil, tc.existing); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.existing); err != nil { // past the umask
					t.Fatal(err)
				}
			}
			db, err := Open(path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if got := perm(t, path); got != 0o600 {
				t.Errorf("mode %o, want 600", got)
			}
			// SQLite's side files follow the database file's mode.
			if err := db.KVSet(context.Background(), "p", "k", []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
			for _, side := range []string{"-wal", "-shm"} {
				if _, err := os.Stat(path + side); err == nil {
					if got := perm(t, path+side); got != 0o600 {
						t.Errorf("%s mode %o, want 600", side, got)
					}
				}
			}
		})
	}
}

func TestOpenTightensLooseSideFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	if err := os.WriteFile(path+"-wal", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path+"-wal", 0o644)
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if _, err := os.Stat(path + "-wal"); err == nil {
		if got := perm(t, path+"-wal"); got != 0o600 {
			t.Errorf("-wal mode %o, want 600", got)
		}
	}
}

func TestOpenPragmas(t *testing.T) {
	db, _ := openTest(t)
	// Hold several connections at once so the check covers more than the first one.
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 {
		c, err := db.sql.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		for _, tc := range []struct {
			pragma string
			want   string
		}{
			{"journal_mode", "wal"},
			{"busy_timeout", "5000"},
			{"foreign_keys", "1"},
			{"synchronous", "1"}, // NORMAL
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("conn %d: PRAGMA %s = %q, want %q", i, tc.pragma, got, tc.want)
			}
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a?b#c%d e")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := db.KVSet(context.Background(), "p", "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("database not at the path asked for: %v", err)
	}
	if fi.Size() == 0 {
		t.Errorf("database file is empty")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "state.db") {
			t.Errorf("stray file %q", e.Name())
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(notDB, bytes.Repeat([]byte("not a database "), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		path string
		want string
	}{
		{"empty path", "", "empty path"},
		{"missing directory", filepath.Join(dir, "nope", "state.db"), "no such file"},
		{"a directory", dir, "store: open"},
		{"not a database", notDB, "not a database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(tc.path)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	db, path := openTest(t)
	ctx := context.Background()
	if err := db.KVSet(ctx, "p", "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for i := range 3 {
		db, err := Open(path)
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if v := pragma(t, db, "user_version"); v != len(migrations) {
			t.Errorf("reopen %d: user_version %d, want %d", i, v, len(migrations))
		}
		if v, ok, err := db.KVGet(ctx, "p", "k"); err != nil || !ok || string(v) != "v" {
			t.Errorf("reopen %d: KVGet = %q, %v, %v", i, v, ok, err)
		}
		db.Close()
	}
}

func TestMigrationUpgradesInPlace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := open(ctx, path, migrations)
	if err != nil {
		t.Fatal(err)
	}
	rec := testRecord("alpha")
	if err := db.PutPlugin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	db.Close()

	next := append(append([]string(nil), migrations...),
		`ALTER TABLE plugins ADD COLUMN note TEXT NOT NULL DEFAULT ''; CREATE TABLE extra (x INTEGER) STRICT;`)
	db, err = open(ctx, path, next)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if v := pragma(t, db, "user_version"); v != len(next) {
		t.Errorf("user_version %d, want %d", v, len(next))
	}
	if _, err := db.sql.Exec(`INSERT INTO extra VALUES (1)`); err != nil {
		t.Errorf("second statement of the step did not run: %v", err)
	}
	got, err := db.GetPlugin(ctx, "alpha")
	if err != nil {
		t.Fatalf("data lost in upgrade: %v", err)
	}
	if got.Version != rec.Version {
		t.Errorf("version %q after upgrade", got.Version)
	}
	db.Close()

	// The binary that only knows v1 now refuses the file.
	_, err = open(ctx, path, migrations)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("old binary on new schema: err = %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrationFromEmptyFile(t *testing.T) {
	// An existing, empty (version 0) database is brought up to date.
	path := filepath.Join(t.TempDir(), "state.db")
	rawExec(t, path, "PRAGMA user_version = 0")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := pragma(t, db, "user_version"); v != len(migrations) {
		t.Errorf("user_version %d, want %d", v, len(migrations))
	}
}

func TestMigrationFailureRollsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	bad := append(append([]string(nil), migrations...),
		`CREATE TABLE half (x INTEGER); INSERT INTO no_such_table VALUES (1);`)
	_, err := open(ctx, path, bad)
	if err == nil {
		t.Fatal("bad migration succeeded")
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("migrate schema to version %d", len(bad))) {
		t.Errorf("error %q does not say which step failed", err)
	}
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v := pragma(t, db, "user_version"); v != len(migrations) {
		t.Errorf("user_version %d after failed step, want %d", v, len(migrations))
	}
	var n int
	db.sql.QueryRow(`SELECT COUNT(*) FROM sqlite_schema WHERE name = 'half'`).Scan(&n)
	if n != 0 {
		t.Errorf("table from the failed step survived")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	db, path := openTest(t)
	db.Close()
	rawExec(t, path, "PRAGMA user_version = 99")
	db, err := Open(path)
	if err == nil {
		db.Close()
		t.Fatal("Open accepted a newer schema")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("err = %v, want ErrSchemaTooNew", err)
	}
	want := fmt.Sprintf("state.db is schema version 99, this hermes knows up to %d; upgrade hermes", len(migrations))
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
}

func TestConcurrentOpenOfNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := Open(path)
			if err != nil {
				errs <- err
				return
			}
			errs <- db.KVSet(context.Background(), "p", "k", []byte("v"), 0)
			db.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCloseThenUse(t *testing.T) {
	db, _ := openTest(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.KVGet(context.Background(), "p", "k"); err == nil {
		t.Error("KVGet after Close succeeded")
	}
}

func TestTimeRoundTrip(t *testing.T) {
	loc := time.FixedZone("X", 5*3600+30*60)
	in := time.Date(2024, 2, 29, 23, 59, 58, 123456789, loc)
	out, err := parseTime(formatTime(in))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Equal(in) || out.Location() != time.UTC {
		t.Errorf("round trip %v -> %v", in, out)
	}
	// Fixed width keeps text order equal to time order.
	if a, b := formatTime(in), formatTime(in.Add(time.Nanosecond)); !(a < b) || len(a) != len(b) {
		t.Errorf("%q, %q not ordered", a, b)
	}
}
