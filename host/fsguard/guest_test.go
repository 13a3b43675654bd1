package fsguard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

var buildDir string // holds the guest built once per test run

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fsguard-guest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// guest is testdata/guest compiled for wasip1 and by wazero, shared by all tests.
var guest struct {
	once     sync.Once
	runtime  wazero.Runtime
	compiled wazero.CompiledModule
	err      error
}

func compiledGuest(t *testing.T) (wazero.Runtime, wazero.CompiledModule) {
	t.Helper()
	guest.once.Do(func() {
		out := filepath.Join(buildDir, "guest.wasm")
		cmd := exec.Command("go", "build", "-o", out, "./testdata/guest")
		cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
		if b, err := cmd.CombinedOutput(); err != nil {
			guest.err = fmt.Errorf("building the guest: %v\n%s", err, b)
			return
		}
		bin, err := os.ReadFile(out)
		if err != nil {
			guest.err = err
			return
		}
		ctx := context.Background()
		// The interpreter: compiling a Go binary with the optimizing compiler takes ~20s under
		// -race, and the file system code under test is the same for every engine.
		guest.runtime = wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		wasi_snapshot_preview1.MustInstantiate(ctx, guest.runtime)
		guest.compiled, guest.err = guest.runtime.CompileModule(ctx, bin)
	})
	if guest.err != nil {
		t.Fatal(guest.err)
	}
	return guest.runtime, guest.compiled
}

// result is one line of the guest's output.
type result struct {
	Op   string   `json:"op"`
	Args []string `json:"args"`
	OK   bool     `json:"ok"`
	Out  string   `json:"out"`
	Err  string   `json:"err"`
}

// runGuest runs the guest with fs mounted at /workspace and returns its results by op string
// (as passed) and its whole output.
func runGuest(t *testing.T, fs experimentalsys.FS, ops ...string) (map[string]result, string) {
	t.Helper()
	rt, compiled := compiledGuest(t)
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous, so it can be instantiated again
		WithArgs(append([]string{"guest"}, ops...)...).
		WithStdout(&stdout).WithStderr(&stderr).
		WithFSConfig(wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(fs, "/workspace"))
	mod, err := rt.InstantiateModule(context.Background(), compiled, cfg)
	if err != nil {
		t.Fatalf("guest: %v\nstderr: %s", err, stderr.String())
	}
	mod.Close(context.Background())

	results := map[string]result{}
	dec := json.NewDecoder(bytes.NewReader(stdout.Bytes()))
	for i := 0; dec.More(); i++ {
		var r result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("guest output: %v\n%s", err, stdout.String())
		}
		results[ops[i]] = r
	}
	if len(results) != len(ops) {
		t.Fatalf("guest reported %d results for %d ops:\n%s", len(results), len(ops), stdout.String())
	}
	return results, stdout.String() + stderr.String()
}

func TestGuest(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found")
	}
	for _, writable := range []bool{false, true} {
		t.Run(mode(writable), func(t *testing.T) {
			fx := newFixture(t)
			outsideBefore := snapshot(t, fx.outside)
			g := fx.open(t, writable)

			type check struct {
				name string
				op   string
				ok   bool   // expected success
				out  string // expected to be contained in the output, when ok
			}
			reads := []check{
				{"read a file", "read|/workspace/hello.txt", true, "hello"},
				{"read a nested file", "read|/workspace/sub/inner.txt", true, "inner"},
				{"read through a symlink inside", "read|/workspace/inlink", true, "hello"},
				{"read through a dir symlink inside", "read|/workspace/indirlink/inner.txt", true, "inner"},
				{"read through a symlink going up but inside", "read|/workspace/sub/up", true, "hello"},
				{"readdir", "readdir|/workspace", true, "hello.txt:----------,"},
				{"readdir lists dirs and links", "readdir|/workspace/", true, "sub:d"},
				{"walk", "walk|/workspace", true, "/workspace/sub/inner.txt"},
				{"stat", "stat|/workspace/sub", true, "drwx"},
				{"lstat a link", "lstat|/workspace/link-to-secret", true, "L"},

				{"dotdot", "read|/workspace/../outside/secret.txt", false, ""},
				{"absolute host path", "read|" + fx.secret, false, ""},
				{"file symlink out", "read|/workspace/link-to-secret", false, ""},
				{"relative file symlink out", "read|/workspace/rel-link-to-secret", false, ""},
				{"nested symlink out", "read|/workspace/sub/escape", false, ""},
				{"dir symlink out", "read|/workspace/dirlink/secret.txt", false, ""},
				{"relative dir symlink out", "read|/workspace/rel-dirlink/secret.txt", false, ""},
				{"readdir dir symlink out", "readdir|/workspace/dirlink", false, ""},
				{"stat file symlink out", "stat|/workspace/link-to-secret", false, ""},
				{"stat through dir symlink out", "stat|/workspace/dirlink/secret.txt", false, ""},
				{"raw dotdot", "openat3|../outside/secret.txt", false, ""},
				{"raw dotdot in the middle", "openat3|sub/../../outside/secret.txt", false, ""},
				{"raw absolute", "openat3|" + fx.secret, false, ""},
				{"raw dir symlink out", "openat3|dirlink/secret.txt", false, ""},
				{"raw file symlink out", "openat3|link-to-secret", false, ""},
			}
			writes := []check{
				{"write a file", "write|/workspace/out.txt|written", writable, ""},
				{"append", "append|/workspace/out.txt|+more", writable, ""},
				{"mkdirall", "mkdirall|/workspace/a/b/c", writable, ""},
				{"rename", "rename|/workspace/out.txt|/workspace/a/b/c/moved.txt", writable, ""},
				{"remove a dir", "mkdirall|/workspace/gone", writable, ""},
				{"remove", "remove|/workspace/gone", writable, ""},
				{"write through a dangling symlink out", "write|/workspace/dangling|pwned", false, ""},
				{"write through a file symlink out", "write|/workspace/link-to-secret|pwned", false, ""},
				{"write into a dir symlink out", "write|/workspace/dirlink/pwned.txt|pwned", false, ""},
				{"mkdir in a dir symlink out", "mkdirall|/workspace/dirlink/pwned", false, ""},
				{"rename into a dir symlink out", "rename|/workspace/hello.txt|/workspace/dirlink/hello.txt", false, ""},
				{"remove through a dir symlink out", "remove|/workspace/dirlink/secret.txt", false, ""},
				{"symlink", "symlink|" + fx.secret + "|/workspace/planted", false, ""},
				{"relative symlink", "symlink|hello.txt|/workspace/planted2", false, ""},
				{"hard link", "link|/workspace/hello.txt|/workspace/planted3", false, ""},
			}
			var ops []string
			for _, c := range append(reads, writes...) {
				ops = append(ops, c.op)
			}
			results, output := runGuest(t, g, ops...)

			for _, c := range append(reads, writes...) {
				t.Run(c.name, func(t *testing.T) {
					r := results[c.op]
					if r.OK != c.ok {
						t.Fatalf("%s: ok = %v, want %v (err %q, out %q)", c.op, r.OK, c.ok, r.Err, r.Out)
					}
					if c.ok && !strings.Contains(r.Out, c.out) {
						t.Errorf("%s: out = %q, want it to contain %q", c.op, r.Out, c.out)
					}
					t.Logf("%s: ok=%v err=%q", c.op, r.OK, r.Err)
				})
			}

			if strings.Contains(output, secretText) {
				t.Errorf("the secret reached the guest:\n%s", output)
			}
			if after := snapshot(t, fx.outside); !maps.Equal(outsideBefore, after) {
				t.Errorf("outside directory changed:\nbefore %v\nafter  %v", outsideBefore, after)
			}
			for _, name := range []string{"planted", "planted2", "planted3"} {
				if _, err := os.Lstat(filepath.Join(fx.ws, name)); !os.IsNotExist(err) {
					t.Errorf("%s exists on the host: %v", name, err)
				}
			}
			moved, err := os.ReadFile(filepath.Join(fx.ws, "a/b/c/moved.txt"))
			if writable && (err != nil || string(moved) != "written+more") {
				t.Errorf("host sees %q, %v", moved, err)
			}
			if !writable && !os.IsNotExist(err) {
				t.Errorf("read-only guest wrote: %q, %v", moved, err)
			}
		})
	}
}
