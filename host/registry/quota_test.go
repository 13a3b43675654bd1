package registry

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
