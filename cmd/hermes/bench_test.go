package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// benchHome makes a hermes home with the fixtures added, their code compiled into its cache.
func benchHome(b *testing.B, dirs ...string) *cliHome {
	b.Helper()
	root := b.TempDir()
	c := &cliHome{home: filepath.Join(root, "home"), workspace: filepath.Join(root, "ws")}
	os.MkdirAll(c.workspace, 0o755)
	for _, d := range dirs {
		cmd := c.cmd("", "plugins", "install", d, "--yes", "--allow-unsigned")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("add %s: %v\n%s", d, err, out)
		}
	}
	return c
}

// renamedCopy copies a fixture under another plugin name, to add many plugins.
func renamedCopy(b *testing.B, src, name string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), name)
	os.MkdirAll(dst, 0o755)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(src, e.Name()))
		if e.Name() == "plugin.toml" {
			lines := strings.Split(string(data), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "name") {
					lines[i] = fmt.Sprintf("name = %q", name)
				}
			}
			data = []byte(strings.Join(lines, "\n"))
		}
		if !e.IsDir() {
			os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644)
		}
	}
	return dst
}

func runOnce(b *testing.B, c *cliHome, args ...string) {
	cmd := c.cmd("", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("hermes %v: %v\n%s", args, err, out)
	}
}

// BenchmarkColdToolsCall runs `hermes tools call` in a fresh process with a warm compile cache,
// next to wazero's own floor for the same module in the same run: decoding, validating and
// loading the compiled code from its cache (what any wazero host must pay), both as a fresh
// process (testdata/floor) and repeated in this warm process.
// Report: hermes ms/op − floor ms/op.
func BenchmarkColdToolsCall(b *testing.B) {
	for _, m := range []struct{ name, fixture, tool, plugin string }{
		{"go-plugin", "testdata/echo", "echo.echo", "echo"},
		{"c-plugin", "sdk/c/example", "textstats.echo", "textstats"},
	} {
		dir := testplugins.Dir(b, m.fixture)
		c := benchHome(b, dir)
		runOnce(b, c, "tools", "call", m.tool, `{"message":"warm the cache"}`)
		b.Run(m.name+"/hermes-process", func(b *testing.B) {
			for range b.N {
				runOnce(b, c, "tools", "call", m.tool, `{"message":"hi"}`)
			}
		})
		b.Run(m.name+"/wazero-floor-process", func(b *testing.B) {
			floor := filepath.Join(b.TempDir(), "floor")
			build := exec.Command("go", "build", "-o", floor, "./testdata/floor")
			build.Dir = testplugins.Root()
			if out, err := build.CombinedOutput(); err != nil {
				b.Fatalf("build floor: %v\n%s", err, out)
			}
			entries, _ := os.ReadDir(filepath.Join(c.home, "cache"))
			cacheDir := filepath.Join(c.home, "cache", entries[0].Name())
			wasmPath := filepath.Join(dir, testplugins.Manifest(b, m.fixture).Wasm)
			b.ResetTimer()
			for range b.N {
				if out, err := exec.Command(floor, wasmPath, cacheDir).CombinedOutput(); err != nil {
					b.Fatalf("floor: %v\n%s", err, out)
				}
			}
		})
		b.Run(m.name+"/wazero-floor-in-process", func(b *testing.B) {
			wasmBytes := testplugins.Wasm(b, m.fixture)
			entries, _ := os.ReadDir(filepath.Join(c.home, "cache"))
			if len(entries) != 1 {
				b.Fatalf("want one cache directory, have %d", len(entries))
			}
			cacheDir := filepath.Join(c.home, "cache", entries[0].Name())
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
				if err != nil {
					b.Fatal(err)
				}
				r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache))
				if _, err := r.CompileModule(ctx, wasmBytes); err != nil {
					b.Fatal(err)
				}
				r.Close(ctx)
				cache.Close(ctx)
			}
		})
	}
}

// BenchmarkToolsList shows start-up does not grow with the number of plugins added: tool
// descriptors are recorded at add time and nothing is compiled to list them.
// Report: plugins=20 ÷ plugins=1.
func BenchmarkToolsList(b *testing.B) {
	src := testplugins.Dir(b, "testdata/echo")
	for _, n := range []int{1, 20} {
		var dirs []string
		for i := range n {
			dirs = append(dirs, renamedCopy(b, src, fmt.Sprintf("echo%02d", i)))
		}
		c := benchHome(b, dirs...)
		b.Run(fmt.Sprintf("plugins=%d", n), func(b *testing.B) {
			for range b.N {
				runOnce(b, c, "tools", "list")
			}
		})
	}
}
