package registry

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

type fixture struct {
	reg   *Registry
	db    *store.DB
	paths config.Paths
	ws    string
}

// newFixture opens a registry over a real home in a temp dir, with a workspace next to it.
func newFixture(tb testing.TB, mutate func(*config.Config)) *fixture {
	tb.Helper()
	root := tb.TempDir()
	paths := config.PathsAt(filepath.Join(root, "home"))
	if err := paths.Ensure(); err != nil {
		tb.Fatal(err)
	}
	cfg := config.Default()
	cfg.Workspace = filepath.Join(root, "workspace")
	os.MkdirAll(cfg.Workspace, 0o755)
	if mutate != nil {
		mutate(&cfg)
	}
	db, err := store.Open(paths.StateDB)
	if err != nil {
		tb.Fatal(err)
	}
	// One compile cache for the package's tests: compiling a Go plugin under -race takes
	// seconds, and every fixture has its own home.
	engine, err := wasm.NewEngine(testplugins.CompileCacheDir(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	reg := New(db, engine, paths, cfg)
	tb.Cleanup(func() {
		reg.Close(context.Background())
		db.Close()
	})
	return &fixture{reg: reg, db: db, paths: paths, ws: cfg.Workspace}
}

func (f *fixture) add(tb testing.TB, dir string) *Candidate {
	tb.Helper()
	c, err := f.reg.Inspect(context.Background(), dir)
	if err != nil {
		tb.Fatalf("inspect %s: %v", dir, err)
	}
	if _, err := f.reg.Add(context.Background(), c); err != nil {
		tb.Fatalf("add %s: %v", dir, err)
	}
	return c
}

// installedFile is the path of one of an installed plugin's files.
func (f *fixture) installedFile(tb testing.TB, plugin, file string) string {
	tb.Helper()
	rec, err := f.reg.Record(context.Background(), plugin)
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(rec.Dir, file)
}

// copyPlugin copies a fixture directory so a test can change its manifest or module.
func copyPlugin(tb testing.TB, rel string, edit func(manifest string) string) string {
	tb.Helper()
	dst := testplugins.CopyTree(tb, testplugins.Dir(tb, rel))
	if edit != nil {
		file := filepath.Join(dst, manifest.File)
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(edit(string(b))), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

func wantCode(t *testing.T, err error, code abi.Code, substrings ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got success", code)
	}
	if got := abi.CodeOf(err); got != code {
		t.Fatalf("want code %s, got %q: %v", code, got, err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, s := range substrings {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestAddListCallRemove(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	c := f.add(t, testplugins.Dir(t, "sdk/c/example"))
	if c.Manifest.Name != "textstats" || len(c.Tools) != 2 {
		t.Fatalf("candidate: %+v", c)
	}
	tools, err := f.reg.Tools(ctx)
	if err != nil || len(tools) != 2 || tools[0].Name != "textstats.count" {
		t.Fatalf("tools = %+v, %v", tools, err)
	}
	out, err := f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a b c"}`))
	if err != nil || !strings.Contains(string(out), `"words":3`) {
		t.Fatalf("call: %s %v", out, err)
	}
	info, err := f.reg.Get(ctx, "textstats")
	if err != nil || !info.Enabled || info.SHA256 != c.Digest || info.Limits != c.Limits {
		t.Fatalf("info: %+v %v", info, err)
	}
	_, err = f.reg.Add(ctx, c)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second add: %v", err)
	}
	if err := f.reg.Remove(ctx, "textstats"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.paths.Plugins, "textstats")); !os.IsNotExist(err) {
		t.Fatalf("plugin files left after remove: %v", err)
	}
	_, err = f.reg.Call(ctx, "textstats.count", []byte(`{}`))
	wantCode(t, err, abi.CodeNotFound, "hermes plugins list")
}

func TestArgumentsValidatedAgainstSchema(t *testing.T) {
	f := newFixture(t, nil)
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	tests := []struct {
		name, args string
		mention    string
	}{
		{"wrong type", `{"text": 5}`, "/text"},
		{"missing required", `{}`, "text"},
		{"not an object", `[1,2]`, "object"},
		{"not JSON", `{"text":`, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.reg.Call(context.Background(), "textstats.count", []byte(tt.args))
			wantCode(t, err, abi.CodeInvalidArgs, tt.mention)
		})
	}
	_, err := f.reg.Call(context.Background(), "textstats.nope", []byte(`{}`))
	wantCode(t, err, abi.CodeNotFound, "no such tool")
	_, err = f.reg.Call(context.Background(), "nodot", []byte(`{}`))
	wantCode(t, err, abi.CodeNotFound)
}

func TestInspectRefusals(t *testing.T) {
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		code    abi.Code
		mention []string
	}{
		{"abi 99", func(t *testing.T) string { return testplugins.Dir(t, "testdata/hostile/abi99") }, abi.CodeBadPlugin, []string{"host: 1, plugin: 99"}},
		{"unknown manifest key", func(t *testing.T) string {
			return copyPlugin(t, "sdk/c/example", func(m string) string { return m + "\nsudo = true\n" })
		}, abi.CodeBadPlugin, []string{"sudo", "unknown key"}},
		{"bad name", func(t *testing.T) string {
			return copyPlugin(t, "sdk/c/example", func(m string) string { return strings.Replace(m, `"textstats"`, `"Text Stats"`, 1) })
		}, abi.CodeBadPlugin, []string{"name"}},
		{"sha256 mismatch", func(t *testing.T) string {
			return copyPlugin(t, "sdk/c/example", func(m string) string { return m + "\nsha256 = \"" + strings.Repeat("ab", 32) + "\"\n" })
		}, abi.CodeBadPlugin, []string{"sha256"}},
		{"truncated wasm", func(t *testing.T) string {
			dir := copyPlugin(t, "sdk/c/example", nil)
			p := filepath.Join(dir, "textstats.wasm")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/3], 0o644)
			return dir
		}, abi.CodeBadPlugin, []string{"not a valid WebAssembly module"}},
		{"missing wasm", func(t *testing.T) string {
			dir := copyPlugin(t, "sdk/c/example", nil)
			os.Remove(filepath.Join(dir, "textstats.wasm"))
			return dir
		}, abi.CodeBadPlugin, []string{"wasm", "build the plugin"}},
		{"no manifest", func(t *testing.T) string { return t.TempDir() }, abi.CodeBadPlugin, []string{"plugin.toml"}},
		{"describe returns garbage", func(t *testing.T) string { return testplugins.Dir(t, "testdata/hostile/badjson") }, abi.CodeInvalidOutput, []string{"describe"}},
		{"ungranted import", func(t *testing.T) string { return testplugins.Dir(t, "testdata/hostile/ungranted") }, abi.CodeDenied, []string{"http_request", `"http"`}},
		{"schema whose $ref cycle never ends", func(t *testing.T) string { return testplugins.Dir(t, "testdata/hostile/cyclicschema") }, abi.CodeBadPlugin, []string{"loop", "leads back to itself"}},
	}
	f := newFixture(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.reg.Inspect(context.Background(), tt.dir(t))
			wantCode(t, err, tt.code, tt.mention...)
		})
	}
	t.Run("describe never returns", func(t *testing.T) {
		f := newFixture(t, func(c *config.Config) { c.Plugins.Limits.Timeout = abi.Duration(300 * time.Millisecond) })
		_, err := f.reg.Inspect(context.Background(), testplugins.Dir(t, "testdata/hostile/slowdescribe"))
		wantCode(t, err, abi.CodeLimitExceeded, "timeout")
	})
}

func TestTamperedModuleRefusedOnLoad(t *testing.T) {
	f := newFixture(t, nil)
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	installed := f.installedFile(t, "textstats", "textstats.wasm")
	rust, _ := os.ReadFile(filepath.Join(testplugins.Dir(t, "sdk/rust/example"), "hashing.wasm"))
	if err := os.WriteFile(installed, rust, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := f.reg.Call(context.Background(), "textstats.echo", []byte(`{}`))
	wantCode(t, err, abi.CodeBadPlugin, "sha256", "hermes plugins audit")
}

func TestTamperedLockEntryRefusedOnLoad(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	tamper := func(t *testing.T, edit func(*store.PluginRecord)) {
		rec, err := f.db.GetPlugin(ctx, "textstats")
		if err != nil {
			t.Fatal(err)
		}
		edit(&rec)
		if err := f.db.PutPlugin(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	// Granting itself a capability in the database, or pinning other bytes, breaks the seal.
	tamper(t, func(rec *store.PluginRecord) { rec.Granted = []byte(`{"exec":true}`) })
	_, err := f.reg.Call(ctx, "textstats.echo", []byte(`{}`))
	wantCode(t, err, abi.CodeBadPlugin, "lock entry", "hermes plugins audit textstats")
	if !errors.Is(err, ErrLockTampered) {
		t.Errorf("err = %v, want ErrLockTampered", err)
	}
	if err := f.reg.Verify(ctx, "textstats"); !errors.Is(err, ErrLockTampered) {
		t.Errorf("Verify = %v, want ErrLockTampered", err)
	}
	// A blanked seal is no way around it.
	tamper(t, func(rec *store.PluginRecord) { rec.Seal = "" })
	_, err = f.reg.Call(ctx, "textstats.echo", []byte(`{}`))
	wantCode(t, err, abi.CodeBadPlugin, "lock entry")
}

func TestToolsListDoesNotCompile(t *testing.T) {
	f := newFixture(t, nil)
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	// With the module gone, listing still works: descriptors were recorded at add time.
	os.Remove(f.installedFile(t, "textstats", "textstats.wasm"))
	tools, err := f.reg.Tools(context.Background())
	if err != nil || len(tools) != 2 {
		t.Fatalf("tools = %v, %v", tools, err)
	}
	var schema map[string]any
	if err := json.Unmarshal(tools[0].Parameters, &schema); err != nil || schema["type"] != "object" {
		t.Fatalf("schema = %s", tools[0].Parameters)
	}
}

func TestManifestCannotRaiseLimits(t *testing.T) {
	f := newFixture(t, nil)
	dir := copyPlugin(t, "sdk/c/example", func(m string) string {
		return m + "\n[limits]\nmemory_pages = 60000\ntimeout = \"1h\"\noutput_bytes = 100\n"
	})
	c, err := f.reg.Inspect(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	def := config.DefaultLimits()
	if c.Limits.MemoryPages != def.MemoryPages || c.Limits.Timeout != def.Timeout || c.Limits.OutputBytes != 100 {
		t.Fatalf("limits = %+v", c.Limits)
	}
	if len(c.Capped) != 2 {
		t.Fatalf("capped notes = %v", c.Capped)
	}
	f.reg.Add(context.Background(), c)
	// output_bytes = 100 applies: echo of a longer message fails with the limit named.
	_, err = f.reg.Call(context.Background(), "textstats.echo", []byte(`{"message":"`+strings.Repeat("x", 200)+`"}`))
	wantCode(t, err, abi.CodeLimitExceeded, "output_bytes")
}

// TestConcurrentFirstCalls has many callers ask for two plugins at once on a fresh registry
// (each compiles once while its callers wait) while a third plugin is removed and added again:
// every call succeeds or fails cleanly, under the race detector.
func TestConcurrentFirstCalls(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	f.add(t, testplugins.Dir(t, "testdata/echo"))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 16; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a b"}`))
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := f.reg.Call(ctx, "echo.echo", []byte(`{"message":"hi"}`))
			errs <- err
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 3; i++ {
			f.reg.SetEnabled(ctx, "echo", false)
			f.reg.SetEnabled(ctx, "echo", true)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && abi.CodeOf(err) != abi.CodeDenied { // denied: it was disabled at that moment
			t.Errorf("concurrent call: %v", err)
		}
	}
	if _, err := f.reg.Call(ctx, "echo.echo", []byte(`{"message":"hi"}`)); err != nil {
		t.Fatalf("after the storm: %v", err)
	}
}

// A plugin whose tool schema is a $ref cycle, installed by a hermes that did not check schemas
// (planted here), is listed as recorded but refused at load: every call is bad_plugin, at
// once, and validating never starts; other plugins go on working.
func TestPlantedCyclicSchemaRefusedAtLoad(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	f.add(t, testplugins.Dir(t, "sdk/c/example"))
	if _, err := f.reg.PlantUnchecked(ctx, testplugins.Dir(t, "testdata/hostile/cyclicschema")); err != nil {
		t.Fatal(err)
	}
	tools, err := f.reg.Tools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, tool := range tools {
		listed = listed || tool.Name == "hostile-cyclicschema.loop"
	}
	if !listed {
		t.Fatalf("the planted tool is not listed: %+v", tools)
	}
	for i := range 3 {
		start := time.Now()
		_, err := f.reg.Call(ctx, "hostile-cyclicschema.loop", []byte(`{"x":{"y":1}}`))
		wantCode(t, err, abi.CodeBadPlugin, "loop", "leads back to itself")
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("call %d took %s", i, d)
		}
		if out, err := f.reg.Call(ctx, "textstats.count", []byte(`{"text":"a b"}`)); err != nil || !strings.Contains(string(out), `"words":2`) {
			t.Fatalf("another plugin after the refused one: %s %v", out, err)
		}
	}
}
