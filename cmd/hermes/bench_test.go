package main

import (
	"context"
	"debug/buildinfo"
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
// its own compile cache warm too). The call floor (testdata/floor given the export) does the
// floor's work and then instantiates the module with the smallest Extism kernel and calls it
// once: all a call needs, with nothing of hermes around it.
// Report: hermes ms/op − floor ms/op, hermes − call floor, and hermes ÷ extism-go-sdk-process.
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
		floor := buildFixtureProgram(b, "./testdata/floor", "")
		entries, _ := os.ReadDir(filepath.Join(c.home, "cache"))
		if len(entries) != 1 {
			b.Fatalf("want one cache directory, have %d", len(entries))
		}
		cacheDir := filepath.Join(c.home, "cache", entries[0].Name())
		wasmPath := filepath.Join(dir, testplugins.Manifest(b, m.fixture).Wasm)
		b.Run(m.name+"/wazero-floor-process", func(b *testing.B) {
			var cpu time.Duration
			for range b.N {
				cpu += runProcess(b, exec.Command(floor, wasmPath, cacheDir))
			}
			reportCPU(b, cpu)
		})
		// The same, then instantiate and call once: the whole of what a call needs. Once as any
		// Go program runs, and once with the collector off, as hermes runs one-shot commands.
		for _, gc := range []struct{ name, gogc string }{{"", ""}, {"-gc-off", "off"}} {
			b.Run(m.name+"/wazero-call-floor-process"+gc.name, func(b *testing.B) {
				run := func() time.Duration {
					cmd := exec.Command(floor, wasmPath, cacheDir, "echo", `{"message":"hi"}`)
					if gc.gogc != "" {
						cmd.Env = append(os.Environ(), "GOGC="+gc.gogc)
					}
					return runProcess(b, cmd)
				}
				run() // its module and kernel settings may key the cache apart from hermes'
				b.ResetTimer()
				var cpu time.Duration
				for range b.N {
					cpu += run()
				}
				reportCPU(b, cpu)
			})
		}
		b.Run(m.name+"/extism-go-sdk-process", func(b *testing.B) {
			anchor := buildFixtureProgram(b, "./testdata/extism-anchor", "")
			cacheDir := filepath.Join(b.TempDir(), "cache")
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

// BenchmarkStartup runs `hermes --help` in a fresh process next to its two anchors, one after
// another in every iteration so a noisy machine moves all three alike: a Go hello-world
// (testdata/hello) and a program that links every third-party package hermes imports and does
// nothing else (testdata/linkfloor), which is what those libraries cost to start before hermes
// runs a line of its own. The floor is built with the build tags hermes was built with.
// Report: hermes ÷ hello and hermes ÷ linkfloor (x-hello, x-linkfloor), CPU time.
func BenchmarkStartup(b *testing.B) {
	tags := buildTags(b, hermesBin)
	hello := buildFixtureProgram(b, "./testdata/hello", "")
	floor := buildFixtureProgram(b, "./testdata/linkfloor", tags)
	var hermesCPU, helloCPU, floorCPU time.Duration
	b.ResetTimer()
	for range b.N {
		helloCPU += runProcess(b, exec.Command(hello))
		floorCPU += runProcess(b, exec.Command(floor))
		hermesCPU += runProcess(b, exec.Command(hermesBin, "--help"))
	}
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(perOp(hermesCPU), "cpu-ms/op")
	b.ReportMetric(perOp(helloCPU), "hello-cpu-ms/op")
	b.ReportMetric(perOp(floorCPU), "linkfloor-cpu-ms/op")
	b.ReportMetric(float64(hermesCPU)/float64(helloCPU), "x-hello")
	b.ReportMetric(float64(hermesCPU)/float64(floorCPU), "x-linkfloor")
}

// TestLinkFloorImportsHermesLibraries keeps testdata/linkfloor honest: it must import exactly
// the third-party packages hermes' own packages import, so its start-up is theirs.
func TestLinkFloorImportsHermesLibraries(t *testing.T) {
	root := testplugins.Root()
	goList := func(args ...string) []string {
		cmd := exec.Command("go", append([]string{"list"}, args...)...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	const module = "github.com/hermes-agent/hermes"
	var own []string
	for _, p := range goList("-deps", "./cmd/hermes") {
		if p == module || strings.HasPrefix(p, module+"/") {
			own = append(own, p)
		}
	}
	want := map[string]bool{}
	for _, p := range goList(append([]string{"-f", `{{join .Imports " "}}`}, own...)...) {
		if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") && !strings.HasPrefix(p, module) {
			want[p] = true
		}
	}
	got := map[string]bool{}
	for _, p := range goList("-f", `{{join .Imports " "}}`, "./testdata/linkfloor") {
		got[p] = true
	}
	for p := range want {
		if !got[p] {
			t.Errorf("testdata/linkfloor does not import %s, which hermes imports: add it", p)
		}
	}
	for p := range got {
		if !want[p] {
			t.Errorf("testdata/linkfloor imports %s, which hermes no longer imports: remove it", p)
		}
	}
}

// buildTags returns the -tags a Go binary was built with ("" for none).
func buildTags(b *testing.B, bin string) string {
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		b.Fatalf("read build info of %s: %v", bin, err)
	}
	for _, s := range info.Settings {
		if s.Key == "-tags" {
			return s.Value
		}
	}
	return ""
}

// buildFixtureProgram builds one of the repository's anchor programs into a temporary directory.
func buildFixtureProgram(b *testing.B, pkg, tags string) string {
	out := filepath.Join(b.TempDir(), filepath.Base(pkg))
	build := exec.Command("go", "build", "-trimpath", "-tags", tags, "-o", out, pkg)
	build.Dir = testplugins.Root()
	if msg, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", pkg, err, msg)
	}
	return out
}
