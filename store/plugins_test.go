package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testRecord(name string) PluginRecord {
	return PluginRecord{
		Name:       name,
		Version:    "1.2.3",
		Dir:        "/home/u/.hermes/plugins/" + name,
		WasmSHA256: testDigest,
		Manifest:   []byte("name = \"" + name + "\"\n"),
		Granted:    []byte(`{"kv":true}`),
		Limits:     []byte(`{"memory_pages":256}`),
		Tools:      []byte(`{"tools":[]}`),
		Enabled:    true,
		AddedAt:    time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
	}
}

func TestPluginCRUD(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()

	if _, err := db.GetPlugin(ctx, "alpha"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetPlugin of absent: err = %v, want ErrNotFound", err)
	}
	if recs, err := db.ListPlugins(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("ListPlugins of empty = %v, %v", recs, err)
	}

	for _, name := range []string{"gamma", "alpha", "beta"} {
		if err := db.PutPlugin(ctx, testRecord(name)); err != nil {
			t.Fatalf("PutPlugin %s: %v", name, err)
		}
	}
	got, err := db.GetPlugin(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if want := testRecord("alpha"); !reflect.DeepEqual(got, want) {
		t.Errorf("GetPlugin = %+v\nwant %+v", got, want)
	}

	// Replace: every field changes, and kv data survives.
	if err := db.KVSet(ctx, "alpha", "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	upd := testRecord("alpha")
	upd.Version = "2.0.0"
	upd.Dir = "/elsewhere"
	upd.WasmSHA256 = strings.Repeat("f", 64)
	upd.Manifest = []byte("changed")
	upd.Granted = []byte(`{}`)
	upd.Limits = []byte(`{}`)
	upd.Tools = []byte(`[]`)
	upd.Enabled = false
	upd.AddedAt = time.Date(2026, 6, 7, 8, 9, 10, 0, time.FixedZone("Y", -7*3600))
	if err := db.PutPlugin(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err = db.GetPlugin(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if !got.AddedAt.Equal(upd.AddedAt) || got.AddedAt.Location() != time.UTC {
		t.Errorf("AddedAt = %v, want %v in UTC", got.AddedAt, upd.AddedAt)
	}
	upd.AddedAt = upd.AddedAt.UTC()
	if !reflect.DeepEqual(got, upd) {
		t.Errorf("after replace GetPlugin = %+v\nwant %+v", got, upd)
	}
	if _, ok, _ := db.KVGet(ctx, "alpha", "k"); !ok {
		t.Errorf("PutPlugin replace dropped kv data")
	}

	recs, err := db.ListPlugins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.Name)
	}
	if want := []string{"alpha", "beta", "gamma"}; !reflect.DeepEqual(names, want) {
		t.Errorf("ListPlugins names = %v, want %v", names, want)
	}

	if err := db.DeletePlugin(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetPlugin(ctx, "beta"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetPlugin after delete: err = %v", err)
	}
	err = db.DeletePlugin(ctx, "beta")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeletePlugin: err = %v, want ErrNotFound", err)
	}
	if err != nil && !strings.Contains(err.Error(), `store: delete plugin "beta"`) {
		t.Errorf("error %q does not say what failed", err)
	}
}

func TestPutPluginDefaultsAndNil(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	rec := PluginRecord{Name: "bare", WasmSHA256: testDigest}
	before := time.Now()
	if err := db.PutPlugin(ctx, rec); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetPlugin(ctx, "bare")
	if err != nil {
		t.Fatal(err)
	}
	if got.AddedAt.Before(before.Add(-time.Second)) || got.AddedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("zero AddedAt stored as %v, want about now", got.AddedAt)
	}
	if got.Enabled || len(got.Manifest) != 0 || len(got.Tools) != 0 {
		t.Errorf("bare record round trip = %+v", got)
	}
}

func TestPutPluginInvalid(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(*PluginRecord)
		want string
	}{
		{"empty name", func(r *PluginRecord) { r.Name = "" }, "name is empty"},
		{"empty digest", func(r *PluginRecord) { r.WasmSHA256 = "" }, "not 64 lowercase hex"},
		{"short digest", func(r *PluginRecord) { r.WasmSHA256 = "abc" }, "not 64 lowercase hex"},
		{"uppercase digest", func(r *PluginRecord) { r.WasmSHA256 = strings.ToUpper(testDigest) }, "not 64 lowercase hex"},
		{"bad granted JSON", func(r *PluginRecord) { r.Granted = []byte("{") }, "granted is not valid JSON"},
		{"bad limits JSON", func(r *PluginRecord) { r.Limits = []byte("x") }, "limits is not valid JSON"},
		{"bad tools JSON", func(r *PluginRecord) { r.Tools = []byte("[1,") }, "tools is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := testRecord("p")
			tc.edit(&rec)
			err := db.PutPlugin(ctx, rec)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "store: put plugin") {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if recs, _ := db.ListPlugins(ctx); len(recs) != 0 {
		t.Errorf("invalid records were stored: %v", recs)
	}
}

func TestDeletePluginRemovesKV(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	for _, name := range []string{"doomed", "kept"} {
		if err := db.PutPlugin(ctx, testRecord(name)); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", "b", "c"} {
			if err := db.KVSet(ctx, name, k, []byte(name+k), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.DeletePlugin(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM kv WHERE plugin = 'doomed'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d kv rows of the deleted plugin remain", n)
	}
	checkUsage(t, db)
	for _, k := range []string{"a", "b", "c"} {
		if v, ok, err := db.KVGet(ctx, "kept", k); err != nil || !ok || string(v) != "kept"+k {
			t.Errorf("other plugin's %s = %q, %v, %v", k, v, ok, err)
		}
	}
	// A reinstalled plugin of the same name starts empty.
	if err := db.PutPlugin(ctx, testRecord("doomed")); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.KVGet(ctx, "doomed", "a"); ok {
		t.Errorf("reinstalled plugin sees old data")
	}
}

func TestDeleteAbsentPluginKeepsKV(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := db.KVSet(ctx, "ghost", "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePlugin(ctx, "ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if _, ok, _ := db.KVGet(ctx, "ghost", "k"); !ok {
		t.Errorf("failed delete changed kv data")
	}
}
