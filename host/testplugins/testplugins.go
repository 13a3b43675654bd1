// Package testplugins finds the plugin fixtures the Makefile builds from source (first-party
// plugins, SDK examples, hostile fixtures) for tests and benchmarks. When a module is missing it
// runs `make wasm` once, so `go test` works without remembering to build first.
package testplugins

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hermes-agent/hermes/abi/manifest"
)

var (
	buildOnce sync.Once
	buildErr  error
	buildLog  []byte
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Dir returns the absolute path of a plugin directory (relative to the repository root, e.g.
// "plugins/files" or "testdata/hostile/loop") whose module has been built.
func Dir(tb testing.TB, rel string) string {
	tb.Helper()
	dir := filepath.Join(Root(), rel)
	data, err := os.ReadFile(filepath.Join(dir, manifest.File))
	if err != nil {
		tb.Fatalf("fixture %s: %v", rel, err)
	}
	wasmName := "plugin.wasm"
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.TrimSpace(k) == "wasm" {
			wasmName = strings.Trim(strings.TrimSpace(v), `"`)
		}
	}
	wasmPath := filepath.Join(dir, wasmName)
	if _, err := os.Stat(wasmPath); err != nil {
		buildOnce.Do(func() {
			cmd := exec.Command("make", "-s", "wasm")
			cmd.Dir = Root()
			buildLog, buildErr = cmd.CombinedOutput()
		})
		if buildErr != nil {
			tb.Fatalf("building plugin fixtures (make wasm) failed: %v\n%s", buildErr, buildLog)
		}
		if _, err := os.Stat(wasmPath); err != nil {
			tb.Fatalf("fixture %s has no %s after make wasm: %v", rel, wasmName, err)
		}
	}
	return dir
}

// Wasm returns the bytes of a built fixture's module.
func Wasm(tb testing.TB, rel string) []byte {
	tb.Helper()
	dir := Dir(tb, rel)
	m, err := manifest.Parse(mustRead(tb, filepath.Join(dir, manifest.File)))
	if err != nil {
		// Hostile manifests (abi 99) still name their module.
		return mustRead(tb, filepath.Join(dir, filepath.Base(dir)+".wasm"))
	}
	return mustRead(tb, filepath.Join(dir, m.Wasm))
}

// Manifest parses a fixture's manifest.
func Manifest(tb testing.TB, rel string) *manifest.Manifest {
	tb.Helper()
	m, err := manifest.Parse(mustRead(tb, filepath.Join(Dir(tb, rel), manifest.File)))
	if err != nil {
		tb.Fatalf("fixture %s: %v", rel, err)
	}
	return m
}

// CopyTree copies a directory (a fixture with its built modules, a skill with its tools) into a
// new temporary one, for tests that change it, and returns the copy's path.
func CopyTree(tb testing.TB, src string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return dst
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// CompileCacheDir is a compile cache shared by every test package and run on this machine.
// Compiling a Go plugin under -race takes many seconds; wazero keys entries by module digest and
// its own version and writes them atomically, so sharing is safe.
func CompileCacheDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(os.TempDir(), "hermes-test-compile-cache")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// GoSDKWasm reads one of the prebuilt test plugins published in Extism go-sdk's module (the
// version go.mod pins, from the module cache), unchanged: the compatibility matrix's modules.
func GoSDKWasm(tb testing.TB, name string) []byte {
	tb.Helper()
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/extism/go-sdk").Output()
	if err != nil || strings.TrimSpace(string(dir)) == "" {
		tb.Fatalf("find github.com/extism/go-sdk in the module cache: %v (run: go mod download github.com/extism/go-sdk)", err)
	}
	return mustRead(tb, filepath.Join(strings.TrimSpace(string(dir)), "wasm", name))
}
