package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestKVRoundTrip(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		key   string
		value []byte
	}{
		{"simple", "k", []byte("v")},
		{"empty value", "empty", []byte{}},
		{"nil value", "nil", nil},
		{"binary value", "bin", []byte{0, 1, 2, 0xff, 0}},
		{"unicode key", "ключ/🔑", []byte("x")},
		{"longest key", strings.Repeat("k", MaxKVKeyBytes), []byte("x")},
		{"largest value", "big", bytes.Repeat([]byte{7}, MaxKVValueBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := db.KVSet(ctx, "p", tc.key, tc.value, 0); err != nil {
				t.Fatal(err)
			}
			got, ok, err := db.KVGet(ctx, "p", tc.key)
			if err != nil || !ok {
				t.Fatalf("KVGet = %v, %v", ok, err)
			}
			if got == nil || !bytes.Equal(got, tc.value) {
				t.Errorf("KVGet = %q (nil %v), want %q", got, got == nil, tc.value)
			}
			if err := db.KVSet(ctx, "p", tc.key, []byte("overwritten"), 0); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := db.KVGet(ctx, "p", tc.key); string(got) != "overwritten" {
				t.Errorf("after overwrite KVGet = %q", got)
			}
			if err := db.KVDelete(ctx, "p", tc.key); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := db.KVGet(ctx, "p", tc.key); err != nil || ok || got != nil {
				t.Errorf("after delete KVGet = %q, %v, %v", got, ok, err)
			}
			if err := db.KVDelete(ctx, "p", tc.key); err != nil {
				t.Errorf("deleting an absent key: %v", err)
			}
		})
	}
}

func TestKVIsolation(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	plugins := []string{"alpha", "beta"}
	keys := []string{
		"shared",
		"../beta",
		"../../beta/shared",
		"beta:shared",
		"alpha:shared",
		":shared",
		"shared:",
		"beta/shared",
		"beta\x00shared",
		"%",
		"_",
		"' OR 1=1 --",
	}
	for _, p := range plugins {
		for _, k := range keys {
			if err := db.KVSet(ctx, p, k, []byte(p+"|"+k), 0); err != nil {
				t.Fatalf("KVSet(%s, %q): %v", p, k, err)
			}
		}
	}
	for _, p := range plugins {
		for _, k := range keys {
			t.Run(fmt.Sprintf("%s/%q", p, k), func(t *testing.T) {
				got, ok, err := db.KVGet(ctx, p, k)
				if err != nil || !ok || string(got) != p+"|"+k {
					t.Errorf("KVGet = %q, %v, %v; want %q", got, ok, err, p+"|"+k)
				}
			})
		}
	}
	// Keys that look like paths or prefixes never resolve to another plugin's key.
	for _, k := range []string{"../alpha/shared", "alpha:shared", "beta:shared"} {
		if got, ok, _ := db.KVGet(ctx, "gamma", k); ok {
			t.Errorf("plugin gamma sees %q = %q", k, got)
		}
	}
	// Deleting in one plugin leaves the other's same key alone.
	if err := db.KVDelete(ctx, "alpha", "shared"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.KVGet(ctx, "beta", "shared"); !ok {
		t.Errorf("KVDelete in alpha removed beta's key")
	}
	// Every plugin holds exactly its own rows.
	for _, p := range plugins {
		var n int
		db.sql.QueryRow(`SELECT COUNT(*) FROM kv WHERE plugin = ?`, p).Scan(&n)
		want := len(keys)
		if p == "alpha" {
			want--
		}
		if n != want {
			t.Errorf("plugin %s has %d rows, want %d", p, n, want)
		}
	}
	checkUsage(t, db)
}

func TestKVLimits(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	longKey := strings.Repeat("k", MaxKVKeyBytes+1)
	bigValue := make([]byte, MaxKVValueBytes+1)
	for _, tc := range []struct {
		name  string
		op    func() error
		limit bool // wraps ErrKVLimit
		want  string
	}{
		{"set long key", func() error { return db.KVSet(ctx, "p", longKey, nil, 0) }, true, "key is 257 bytes, more than the 256 allowed"},
		{"get long key", func() error { _, _, err := db.KVGet(ctx, "p", longKey); return err }, true, "key is 257 bytes"},
		{"delete long key", func() error { return db.KVDelete(ctx, "p", longKey) }, true, "key is 257 bytes"},
		{"multibyte key over limit", func() error { return db.KVSet(ctx, "p", strings.Repeat("é", 129), nil, 0) }, true, "key is 258 bytes"},
		{"big value", func() error { return db.KVSet(ctx, "p", "k", bigValue, 0) }, true, "value is 1048577 bytes, more than the 1048576 allowed"},
		{"empty key", func() error { return db.KVSet(ctx, "p", "", nil, 0) }, false, "key is empty"},
		{"empty plugin", func() error { return db.KVSet(ctx, "", "k", nil, 0) }, false, "plugin name is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.op()
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrKVLimit) != tc.limit {
				t.Errorf("errors.Is(%v, ErrKVLimit) = %v, want %v", err, !tc.limit, tc.limit)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "store: kv ") {
				t.Errorf("error %q, want one containing %q", err, tc.want)
			}
		})
	}
	var n int
	db.sql.QueryRow(`SELECT COUNT(*) FROM kv`).Scan(&n)
	if n != 0 {
		t.Errorf("%d rows stored by refused calls", n)
	}
}

func TestKVKeyCap(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	// Fill to the cap in one statement; the per-call path is what is under test.
	_, err := db.sql.Exec(`
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO kv (plugin, key, value) SELECT 'full', 'k' || i, x'00' FROM n`, MaxKVKeys-1)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.KVSet(ctx, "full", "last", []byte("x"), 0); err != nil {
		t.Fatalf("key number %d refused: %v", MaxKVKeys, err)
	}
	err = db.KVSet(ctx, "full", "one-too-many", []byte("x"), 0)
	if !errors.Is(err, ErrKVLimit) || !strings.Contains(err.Error(), "already holds 10000 keys") {
		t.Fatalf("key number %d: err = %v, want the key cap", MaxKVKeys+1, err)
	}
	if _, ok, _ := db.KVGet(ctx, "full", "one-too-many"); ok {
		t.Errorf("refused key was stored")
	}
	// At the cap, existing keys can still be overwritten and other plugins are unaffected.
	if err := db.KVSet(ctx, "full", "k1", []byte("new"), 0); err != nil {
		t.Errorf("overwrite at the cap: %v", err)
	}
	if err := db.KVSet(ctx, "other", "k", []byte("x"), 0); err != nil {
		t.Errorf("other plugin: %v", err)
	}
	// Deleting one frees a slot.
	if err := db.KVDelete(ctx, "full", "k1"); err != nil {
		t.Fatal(err)
	}
	if err := db.KVSet(ctx, "full", "one-too-many", []byte("x"), 0); err != nil {
		t.Errorf("after a delete: %v", err)
	}
	checkUsage(t, db)
}

func TestKVConcurrent(t *testing.T) {
	const goroutines, perG = 8, 40
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		handles int
	}{
		{"one handle", 1},
		{"two handles on one file", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, path := openTest(t)
			dbs := []*DB{first}
			for len(dbs) < tc.handles {
				db, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				dbs = append(dbs, db)
			}
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*perG*3)
			for g := range goroutines {
				db := dbs[g%len(dbs)]
				wg.Go(func() {
					for i := range perG {
						key := fmt.Sprintf("g%d-%d", g, i)
						if err := db.KVSet(ctx, "p", key, []byte(key), 0); err != nil {
							errs <- err
						}
						// A contended key, plus reads and the audit log in the mix.
						if err := db.KVSet(ctx, "p", "shared", []byte(key), 0); err != nil {
							errs <- err
						}
						if _, _, err := db.KVGet(ctx, "p", "shared"); err != nil {
							errs <- err
						}
						if i%10 == 0 {
							if err := db.Audit(ctx, "test", "p", key); err != nil {
								errs <- err
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			var n int
			first.sql.QueryRow(`SELECT COUNT(*) FROM kv WHERE plugin = 'p'`).Scan(&n)
			if want := goroutines*perG + 1; n != want {
				t.Errorf("%d keys, want %d", n, want)
			}
			checkUsage(t, first)
		})
	}
}

// checkUsage asserts that kv_usage, kept by triggers, agrees with the kv rows: key counts and
// total bytes of keys plus values.
func checkUsage(t *testing.T, db *DB) {
	t.Helper()
	var bad int
	err := db.sql.QueryRow(`
SELECT COUNT(*) FROM (
	SELECT plugin, COUNT(*) AS n, sum(length(CAST(key AS BLOB)) + length(value)) AS b FROM kv GROUP BY plugin
) AS actual FULL JOIN kv_usage AS u USING (plugin)
WHERE actual.n IS NOT u.keys OR actual.b IS NOT u.bytes`).Scan(&bad)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("kv_usage disagrees with kv for %d plugins", bad)
	}
}

func BenchmarkKVSet(b *testing.B) {
	db, _ := openTest(b)
	ctx := context.Background()
	value := bytes.Repeat([]byte("v"), 256)
	b.Run("overwrite", func(b *testing.B) {
		for b.Loop() {
			if err := db.KVSet(ctx, "bench", "key", value, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("new key", func(b *testing.B) {
		i := 0
		for b.Loop() {
			// A fresh plugin every MaxKVKeys keys, so every call inserts and none hits the cap.
			plugin, key := fmt.Sprintf("new%d", i/MaxKVKeys), fmt.Sprintf("k%d", i%MaxKVKeys)
			i++
			if err := db.KVSet(ctx, plugin, key, value, 0); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkKVGet(b *testing.B) {
	db, _ := openTest(b)
	ctx := context.Background()
	if err := db.KVSet(ctx, "bench", "key", []byte("value"), 0); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := db.KVGet(ctx, "bench", "key"); err != nil {
			b.Fatal(err)
		}
	}
}
