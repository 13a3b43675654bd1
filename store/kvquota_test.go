package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestKVBytesLimit: the kv_bytes limit counts keys plus values, a replaced value by the
// difference, refuses the write that would cross it (which then does not happen) and names the
// limit and the numbers; shrinking and deleting give room back; other plugins are unaffected.
func TestKVBytesLimit(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	const limit = 1000
	set := func(key string, n int) error {
		return db.KVSet(ctx, "p", key, bytes.Repeat([]byte("v"), n), limit)
	}
	usage := func() int64 {
		t.Helper()
		_, b, err := db.KVUsage(ctx, "p")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	steps := []struct {
		name    string
		key     string
		n       int
		refused bool
		usage   int64 // after the step
	}{
		{"first", "a", 399, false, 400},
		{"second", "b", 499, false, 900},
		{"new key past the limit", "c", 100, true, 900},
		{"replace within the limit", "a", 499, false, 1000},
		{"replace one byte past", "a", 500, true, 1000},
		{"shrink", "b", 9, false, 510},
		{"new key up to the limit exactly", "é", 488, false, 1000},
		{"empty value of a new key still counts its key", "x", 0, true, 1000},
	}
	for _, st := range steps {
		err := set(st.key, st.n)
		if st.refused {
			var kb *KVBytesError
			if !errors.Is(err, ErrKVLimit) || !errors.As(err, &kb) {
				t.Fatalf("%s: err = %v, want a kv_bytes refusal", st.name, err)
			}
			for _, want := range []string{"kv_bytes", fmt.Sprintf("holds %d bytes", st.usage), fmt.Sprintf("the %d allowed", limit)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%s: %q does not say %q", st.name, err, want)
				}
			}
		} else if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := usage(); got != st.usage {
			t.Fatalf("%s: usage %d, want %d", st.name, got, st.usage)
		}
	}
	// The refused replacement left the old value.
	if v, _, _ := db.KVGet(ctx, "p", "a"); len(v) != 499 {
		t.Errorf("a is %d bytes after a refused replacement, want 499", len(v))
	}
	if _, ok, _ := db.KVGet(ctx, "p", "c"); ok {
		t.Error("refused key c was stored")
	}
	// Over the limit (say it was lowered), a write that does not grow the total still succeeds.
	if err := db.KVSet(ctx, "p", "a", bytes.Repeat([]byte("v"), 100), 10); err != nil {
		t.Errorf("shrinking write above a lowered limit: %v", err)
	}
	if err := db.KVDelete(ctx, "p", "a"); err != nil {
		t.Fatal(err)
	}
	if err := set("c", 100); err != nil {
		t.Errorf("after a delete: %v", err)
	}
	if err := db.KVSet(ctx, "other", "k", bytes.Repeat([]byte("v"), 999), limit); err != nil {
		t.Errorf("another plugin: %v", err)
	}
	checkUsage(t, db)
}

// TestKVBytesConcurrent: writers racing for the last room cannot together exceed the limit.
func TestKVBytesConcurrent(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	const limit, writers, size = 10_000, 16, 1000 // room for 10 of the 16 (key "kNN" + 997)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			errs <- db.KVSet(ctx, "p", fmt.Sprintf("k%02d", i), bytes.Repeat([]byte("v"), size-3), limit)
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrKVLimit):
			t.Errorf("unexpected error: %v", err)
		}
	}
	keys, b, err := db.KVUsage(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if ok != 10 || keys != 10 || b != limit {
		t.Errorf("%d writes succeeded, %d keys, %d bytes; want 10, 10, %d", ok, keys, b, limit)
	}
	checkUsage(t, db)
}

// putOldKV stores a kv row in a database older than this KVSet's schema (kv_usage.bytes came
// with v11), as that version's KVSet did; the triggers of its version keep kv_usage.
func putOldKV(t *testing.T, db *DB, plugin, key string, value []byte) {
	t.Helper()
	if _, err := db.sql.Exec(`INSERT INTO kv (plugin, key, value) VALUES (?, ?, ?)`, plugin, key, orEmpty(value)); err != nil {
		t.Fatal(err)
	}
}

// fileBytes is the database's size once the WAL is checkpointed into it.
func fileBytes(t *testing.T, db *DB) int64 {
	t.Helper()
	if _, err := db.sql.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db.path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// fillKV gives plugin n values of 1 MiB.
func fillKV(t *testing.T, db *DB, plugin string, n int) {
	t.Helper()
	value := bytes.Repeat([]byte{0xa5}, 1<<20)
	for i := range n {
		if err := db.KVSet(context.Background(), plugin, fmt.Sprintf("k%d", i), value, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRemovePluginGivesSpaceBack: a new database is created incremental, and removing a
// plugin that held 16 MiB of kv data shrinks the file by about that much.
func TestRemovePluginGivesSpaceBack(t *testing.T) {
	ctx := context.Background()
	for _, remove := range []struct {
		name string
		fn   func(*DB) error
	}{
		{"RemovePlugin", func(db *DB) error { return db.RemovePlugin(ctx, "big", "test") }},
		{"DeletePlugin", func(db *DB) error { return db.DeletePlugin(ctx, "big") }},
	} {
		t.Run(remove.name, func(t *testing.T) {
			db, _ := openTest(t)
			if m := pragma(t, db, "auto_vacuum"); m != autoVacuumIncremental {
				t.Fatalf("new database: auto_vacuum %d, want %d (incremental)", m, autoVacuumIncremental)
			}
			if err := db.PutPlugin(ctx, testRecord("big")); err != nil {
				t.Fatal(err)
			}
			if err := db.KVSet(ctx, "small", "keep", []byte("kept"), 0); err != nil {
				t.Fatal(err)
			}
			empty := fileBytes(t, db)
			fillKV(t, db, "big", 16)
			full := fileBytes(t, db)
			if full-empty < 16<<20 {
				t.Fatalf("16 MiB of kv grew the file from %d to %d bytes", empty, full)
			}
			if err := remove.fn(db); err != nil {
				t.Fatal(err)
			}
			after := fileBytes(t, db)
			if after > empty+1<<20 {
				t.Errorf("file is %d bytes after the remove; %d before the kv data, %d with it", after, empty, full)
			}
			if v, _, _ := db.KVGet(ctx, "small", "keep"); string(v) != "kept" {
				t.Error("another plugin's kv data was lost")
			}
			checkUsage(t, db)
		})
	}
}

// TestMigrationV11 upgrades a version-10 database as hermes before v11 made it (auto_vacuum
// NONE, kv_usage without bytes): its data is kept, kv_usage.bytes is filled in, and it ends in
// incremental mode, so a later remove gives space back.
func TestMigrationV11(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	old, err := open(ctx, path, migrations[:10])
	if err != nil {
		t.Fatal(err)
	}
	// Versions before 11 created databases with auto_vacuum NONE.
	for _, q := range []string{"PRAGMA auto_vacuum = NONE", "VACUUM"} {
		if _, err := old.sql.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if m := pragma(t, old, "auto_vacuum"); m != 0 {
		t.Fatalf("v10 database: auto_vacuum %d, want 0", m)
	}
	if err := old.PutPlugin(ctx, testRecord("big")); err != nil {
		t.Fatal(err)
	}
	putOldKV(t, old, "small", "ключ", []byte{1, 2})
	putOldKV(t, old, "small", "k2", nil)
	value := bytes.Repeat([]byte{0x5a}, 1<<20)
	for i := range 8 {
		putOldKV(t, old, "big", fmt.Sprintf("k%d", i), value)
	}
	old.Close()

	db := openUpgraded(t, path)
	if m := pragma(t, db, "auto_vacuum"); m != autoVacuumIncremental {
		t.Errorf("after the upgrade: auto_vacuum %d, want %d (incremental)", m, autoVacuumIncremental)
	}
	if _, err := db.GetPlugin(ctx, "big"); err != nil {
		t.Errorf("plugin lost: %v", err)
	}
	if v, ok, _ := db.KVGet(ctx, "small", "ключ"); !ok || !bytes.Equal(v, []byte{1, 2}) {
		t.Errorf("kv value lost: %v %v", v, ok)
	}
	if keys, b, _ := db.KVUsage(ctx, "small"); keys != 2 || b != int64(len("ключ")+2+len("k2")) {
		t.Errorf("small's usage %d keys %d bytes after the upgrade", keys, b)
	}
	if keys, b, _ := db.KVUsage(ctx, "big"); keys != 8 || b != 8*(2+1<<20) {
		t.Errorf("big's usage %d keys %d bytes after the upgrade", keys, b)
	}
	checkUsage(t, db)
	full := fileBytes(t, db)
	if err := db.RemovePlugin(ctx, "big", "test"); err != nil {
		t.Fatal(err)
	}
	if after := fileBytes(t, db); after > full-7<<20 {
		t.Errorf("file %d bytes after removing 8 MiB of kv, %d before", after, full)
	}
	// Opening again is one query: the VACUUM is not repeated. Freed pages that nothing gave
	// back yet stay on the free list, where a VACUUM would have dropped them.
	fillKV(t, db, "small", 2)
	for _, k := range []string{"k0", "k1"} {
		if err := db.KVDelete(ctx, "small", k); err != nil {
			t.Fatal(err)
		}
	}
	free := pragma(t, db, "freelist_count")
	if free == 0 {
		t.Fatal("deleting 2 MiB of kv left no free pages")
	}
	db.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := pragma(t, again, "freelist_count"); got != free {
		t.Errorf("reopening the upgraded database: %d free pages, %d before (vacuumed again?)", got, free)
	}
}
