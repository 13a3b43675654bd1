package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
)

// TestHostileDiskFill: a plugin granted fs_write that writes past fs_write_bytes in one call,
// or past data_bytes in its {plugin_data} over several calls, is stopped with limit_exceeded
// naming the limit, even though it ignores its write errors; the host goes on serving.
func TestHostileDiskFill(t *testing.T) {
	f := newFixture(t, nil)
	os.MkdirAll(filepath.Join(f.ws, "out"), 0o755)
	dir := copyPlugin(t, "testdata/hostile/diskfill", func(m string) string {
		return m + "\n[limits]\nfs_write_bytes = 1048576\ndata_bytes = 3000000\n"
	})
	f.add(t, dir)
	call := func(tool, args string) error {
		_, err := f.reg.Call(context.Background(), "hostile-diskfill."+tool, []byte(args))
		return err
	}
	const mib = 1 << 20
	tests := []struct {
		name, tool, args string
		limit            string // "" for success
	}{
		{"one call within fs_write_bytes", "write", `{"path":"/workspace/out/a","bytes":1000000,"offset":0}`, ""},
		{"one call past fs_write_bytes", "write", fmt.Sprintf(`{"path":"/workspace/out/b","bytes":%d,"offset":0}`, 2*mib), abi.LimitFSWriteBytes},
		{"growth by truncate past fs_write_bytes", "truncate", fmt.Sprintf(`{"path":"/workspace/out/a","size":%d}`, 1<<40), abi.LimitFSWriteBytes},
		{"data 1", "write", `{"path":"/data/1","bytes":1000000,"offset":0}`, ""},
		{"data 2", "write", `{"path":"/data/2","bytes":1000000,"offset":0}`, ""},
		{"overwrite does not grow", "write", `{"path":"/data/1","bytes":1000000,"offset":0}`, ""},
		{"data 3 past data_bytes", "write", `{"path":"/data/3","bytes":1040000,"offset":0}`, abi.LimitDataBytes},
		{"sparse write far past data_bytes", "write", fmt.Sprintf(`{"path":"/data/4","bytes":10,"offset":%d}`, 1<<40), abi.LimitDataBytes},
		{"remove frees space", "remove", `{"path":"/data/2"}`, ""},
		{"data 3 after remove", "write", `{"path":"/data/3","bytes":1000000,"offset":0}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := call(tt.tool, tt.args)
			if tt.limit == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, abi.CodeLimitExceeded, tt.limit)
		})
	}
	if fi, err := os.Stat(filepath.Join(f.ws, "out", "b")); err != nil || fi.Size() > mib {
		t.Fatalf("out/b after the refused call: %v %v", fi, err)
	}
	f.assertGoodPluginAnswers(t)
}

// TestHostileKVFill: a plugin granted kv that stores past kv_bytes (keys plus values, over
// several calls) gets limit_exceeded naming kv_bytes and the numbers; the refused value is not
// stored, its earlier keys are intact, and its next call and other plugins work.
func TestHostileKVFill(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	dir := copyPlugin(t, "testdata/hostile/kvsnoop", func(m string) string {
		return m + "\n[limits]\nkv_bytes = 2000000\n"
	})
	f.add(t, dir)
	set := func(key string, n int) error {
		_, err := f.reg.Call(ctx, "hostile-kvsnoop.set", []byte(fmt.Sprintf(`{"key":%q,"value":"%s"}`, key, strings.Repeat("x", n))))
		return err
	}
	const value = 900_000
	for _, k := range []string{"k1", "k2"} {
		if err := set(k, value); err != nil {
			t.Fatalf("set %s within kv_bytes: %v", k, err)
		}
	}
	err := set("k3", value)
	wantCode(t, err, abi.CodeLimitExceeded, abi.LimitKVBytes, "holds 1800004 bytes", "would make it 2700006", "more than the 2000000 allowed")
	// The refused key is absent; the earlier ones are intact; the plugin's next call works.
	for key, want := range map[string]bool{"k1": true, "k2": true, "k3": false} {
		out, err := f.reg.Call(ctx, "hostile-kvsnoop.get", []byte(fmt.Sprintf(`{"key":%q}`, key)))
		if err != nil {
			t.Fatalf("get %s after the refusal: %v", key, err)
		}
		var got struct {
			Value string
			Found bool
		}
		if err := json.Unmarshal(out, &got); err != nil || got.Found != want || (want && len(got.Value) != value) {
			t.Errorf("get %s: found=%v, %d bytes (err %v); want found=%v", key, got.Found, len(got.Value), err, want)
		}
	}
	if err := set("small", 1000); err != nil {
		t.Errorf("a write that fits after the refusal: %v", err)
	}
	// Replacing a value counts the difference: k1 may grow into what is left, not past it.
	if err := set("k1", 1_040_000); err != nil {
		t.Errorf("growing k1 within kv_bytes: %v", err)
	}
	wantCode(t, set("k2", 1_000_000), abi.CodeLimitExceeded, abi.LimitKVBytes)
	_, b, err := f.db.KVUsage(ctx, "hostile-kvsnoop")
	if err != nil || b > 2000000 {
		t.Fatalf("usage %d bytes (%v), over kv_bytes", b, err)
	}
	f.assertGoodPluginAnswers(t)
}
