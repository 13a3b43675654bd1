package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

func runOnce(b *testing.B, c *cliHome, args ...string) time.Duration {
	return runProcess(b, c.cmd("", args...))
}

// runProcess runs cmd and returns the CPU time it took (user + system). On a machine that
// other work shares, a process's CPU time moves far less than its wall time; the benchmarks
// report it next to ns/op as cpu-ms/op.
func runProcess(b *testing.B, cmd *exec.Cmd) time.Duration {
	b.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

func reportCPU(b *testing.B, total time.Duration) {
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// BenchmarkColdToolsCall runs `hermes tools call` in a fresh process with a warm compile cache,
// next to wazero's own floor for the same module in the same run: decoding, validating and
// loading the compiled code from its cache (what any wazero host must pay), both as a fresh
// process (testdata/floor) and repeated in this warm process; and next to a fresh process that
// loads, instantiates and calls the same module once with Extism's go-sdk (testdata/extism-anchor,
// its own compile cache warm too).
// Report: hermes ms/op − floor ms/op, and hermes ÷ extism-go-sdk-process.
func BenchmarkColdToolsCall(b *testing.B) {
	for _, m := range []struct{ name, fixture, tool, plugin string }{
		{"go-plugin", "testdata/echo", "echo.echo", "echo"},
		{"c-plugin", "sdk/c/example", "textstats.echo", "textstats"},
	} {
		dir := testplugins.Dir(b, m.fixture)
		c := benchHome(b, dir)
		runOnce(b, c, "tools", "call", m.tool, `{"message":"warm the cache"}`)
		b.Run(m.name+"/hermes-process", func(b *testing.B) {
			var cpu time.Duration
			for range b.N {
				cpu += runOnce(b, c, "tools", "call", m.tool, `{"message":"hi"}`)
			}
			reportCPU(b, cpu)
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
			var cpu time.Duration
			for range b.N {
				cpu += runProcess(b, exec.Command(floor, wasmPath, cacheDir))
			}
			reportCPU(b, cpu)
		})
		b.Run(m.name+"/extism-go-sdk-process", func(b *testing.B) {
			anchor := filepath.Join(b.TempDir(), "extism-anchor")
			build := exec.Command("go", "build", "-o", anchor, "./testdata/extism-anchor")
			build.Dir = testplugins.Root()
			if out, err := build.CombinedOutput(); err != nil {
				b.Fatalf("build extism-anchor: %v\n%s", err, out)
			}
			cacheDir := filepath.Join(b.TempDir(), "cache")
			wasmPath := filepath.Join(dir, testplugins.Manifest(b, m.fixture).Wasm)
			run := func() time.Duration {
				return runProcess(b, exec.Command(anchor, wasmPath, cacheDir, "echo", `{"message":"hi"}`))
			}
			run() // fills its compile cache, as hermes' was filled above
			b.ResetTimer()
			var cpu time.Duration
			for range b.N {
				cpu += run()
			}
			reportCPU(b, cpu)
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
