package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// mapKV is an in-memory KV for tests of the engine alone (the registry tests use the real store).
type mapKV struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *mapKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	return v, ok, nil
}
func (k *mapKV) Set(_ context.Context, key string, value []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string][]byte{}
	}
	k.m[key] = append([]byte(nil), value...)
	return nil
}
func (k *mapKV) Delete(_ context.Context, key string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.m, key)
	return nil
}

// newTestEngine returns an engine on the compile cache the test packages share, so each module
// is compiled once (the optimizing compiler is slow under -race).
func newTestEngine(tb testing.TB) *Engine {
	tb.Helper()
	e, err := NewEngine(testplugins.CompileCacheDir(tb), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// specFor builds the Spec a fixture gets when the user grants everything its manifest asks.
func specFor(tb testing.TB, rel string) Spec {
	tb.Helper()
	m := testplugins.Manifest(tb, rel)
	limits, _ := m.Limits.Within(config.DefaultLimits())
	return Spec{Name: m.Name, Wasm: testplugins.Wasm(tb, rel), Granted: m.Capabilities, Limits: limits, KV: &mapKV{}}
}

func load(tb testing.TB, e *Engine, spec Spec) *Plugin {
	tb.Helper()
	p, err := e.Load(context.Background(), spec)
	if err != nil {
		tb.Fatalf("load %s: %v", spec.Name, err)
	}
	tb.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// assertAlive checks a well-behaved plugin still answers on the same engine.
func assertAlive(t *testing.T, e *Engine) {
	t.Helper()
	p := load(t, e, specFor(t, "sdk/c/example"))
	out, err := p.Call(context.Background(), "echo", []byte(`{"message":"still here"}`))
	if err != nil || string(out) != `{"message":"still here"}` {
		t.Fatalf("good plugin after hostile one: out=%s err=%v", out, err)
	}
}

func wantCode(t *testing.T, err error, code abi.Code, substrings ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got success", code)
	}
	if got := abi.CodeOf(err); got != code {
		t.Fatalf("want code %s, got %s: %v", code, got, err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, s := range substrings {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %q", msg, s)
		}
	}
}

func TestCExample(t *testing.T) {
	e := newTestEngine(t)
	p := load(t, e, specFor(t, "sdk/c/example"))
	d, err := p.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tools) != 2 {
		t.Fatalf("tools: %+v", d.Tools)
	}
	out, err := p.Call(context.Background(), "count", []byte(`{"text":"one two\nthree"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Bytes, Lines, Words int }
	if err := json.Unmarshal(out, &got); err != nil || got.Words != 3 || got.Bytes != 13 {
		t.Fatalf("count = %s (%v)", out, err)
	}
	_, err = p.Call(context.Background(), "count", []byte(`{"text": 5}`))
	wantCode(t, err, abi.CodeToolError, "textstats.count")
	// A tool error leaves the instance usable.
	if _, err := p.Call(context.Background(), "echo", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
}

func TestRustExample(t *testing.T) {
	e := newTestEngine(t)
	p := load(t, e, specFor(t, "sdk/rust/example"))
	out, err := p.Call(context.Background(), "sha256", []byte(`{"text":"abc"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") {
		t.Fatalf("sha256(abc) = %s", out)
	}
}

// hostileCall is a call to a hostile fixture's tool and how it must fail.
type hostileCall struct {
	name    string
	fixture string
	tool    string
	limits  func(*abi.Limits)
	code    abi.Code
	mention []string
}

func TestHostileCalls(t *testing.T) {
	tests := []hostileCall{
		{name: "infinite loop", fixture: "loop", tool: "spin", limits: func(l *abi.Limits) { l.Timeout = abi.Duration(300 * time.Millisecond) }, code: abi.CodeLimitExceeded, mention: []string{"timeout"}},
		{name: "memory bomb", fixture: "membomb", tool: "grow", code: abi.CodeLimitExceeded, mention: []string{"memory_pages", "64 pages"}},
		{name: "output past block and limit", fixture: "outputbomb", tool: "flood", code: abi.CodeLimitExceeded, mention: []string{"output_bytes"}},
		{name: "100 MiB alloc", fixture: "outputbomb", tool: "flood_alloc", code: abi.CodeLimitExceeded, mention: []string{"memory_pages"}},
		{name: "alloc forever", fixture: "outputbomb", tool: "alloc_loop", code: abi.CodeLimitExceeded, mention: []string{"memory_pages"}},
		{name: "trap unreachable", fixture: "trap", tool: "boom", code: abi.CodeTrap, mention: []string{"unreachable"}},
		{name: "divide by zero", fixture: "trap", tool: "divzero", code: abi.CodeTrap, mention: []string{"divide by zero"}},
		{name: "bad indirect call", fixture: "trap", tool: "bad_call", code: abi.CodeTrap},
		{name: "null indirect call", fixture: "trap", tool: "null_call", code: abi.CodeTrap},
		{name: "linear memory out of bounds", fixture: "trap", tool: "mem_oob", code: abi.CodeTrap, mention: []string{"out of bounds"}},
		{name: "deep recursion", fixture: "recursion", tool: "deep", code: abi.CodeTrap, mention: []string{"stack"}},
		{name: "garbage output", fixture: "badoutput", tool: "garbage", code: abi.CodeInvalidOutput, mention: []string{"not valid JSON"}},
	}
	for _, fn := range []string{"load_u8", "load_u64", "store_u8", "store_u64", "input_load_u8", "input_load_u64", "output_set", "error_set", "length", "config_get", "var_get", "var_set", "http_request", "log_info", "unaligned_u64_edge"} {
		tests = append(tests, hostileCall{name: "out of bounds " + fn, fixture: "oob", tool: fn, code: oobCode(fn), mention: []string{oobMention(fn)}})
	}
	e := newTestEngine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := specFor(t, "testdata/hostile/"+tt.fixture)
			if tt.limits != nil {
				tt.limits(&spec.Limits)
			}
			p := load(t, e, spec)
			out, err := p.Call(context.Background(), tt.tool, []byte(`{}`))
			if err == nil {
				t.Fatalf("hostile call succeeded with %s", out)
			}
			wantCode(t, err, tt.code, append([]string{spec.Name + "." + tt.tool}, tt.mention...)...)
			if tt.code != abi.CodeInvalidOutput {
				// Never reused after a trap, a limit or a refusal.
				p.pool.mu.Lock()
				idle := len(p.pool.idle)
				p.pool.mu.Unlock()
				if idle != 0 {
					t.Fatalf("%d instances went back to the pool after %s", idle, tt.code)
				}
			}
			assertAlive(t, e)
		})
	}
}

// As Extism's kernel does, free of an offset that is no live block (here far past the host's
// memory) changes nothing: the call goes on, and the instance stays sound for the next one.
func TestHostileFreeOutOfBoundsIsANoOp(t *testing.T) {
	e := newTestEngine(t)
	p := load(t, e, specFor(t, "testdata/hostile/oob"))
	for i := 0; i < 2; i++ {
		out, err := p.Call(context.Background(), "free", []byte(`{}`))
		if err != nil || string(out) != `{"escaped":true}` {
			t.Fatalf("call %d: free of an unknown offset: out=%s err=%v", i, out, err)
		}
	}
	assertAlive(t, e)
}

// An absurd length to output_set is first of all over the output limit.
func oobCode(fn string) abi.Code {
	if fn == "output_set" {
		return abi.CodeLimitExceeded
	}
	return abi.CodeTrap
}

func oobMention(fn string) string {
	if fn == "output_set" {
		return "output_bytes"
	}
	return "offset"
}

func TestHostileStdoutIsBounded(t *testing.T) {
	e := newTestEngine(t)
	p := load(t, e, specFor(t, "testdata/hostile/outputbomb"))
	out, err := p.Call(context.Background(), "stdout", []byte(`{}`))
	if err != nil || string(out) != "{}" {
		t.Fatalf("stdout flood: out=%s err=%v", out, err)
	}
	// The instance went back to the pool with nothing of the flood kept.
	p.pool.mu.Lock()
	defer p.pool.mu.Unlock()
	for _, in := range p.pool.idle {
		if len(in.stdout.buf) != 0 || cap(in.stdout.buf) > maxCaptured {
			t.Fatalf("stdout buffer kept %d bytes (cap %d)", len(in.stdout.buf), cap(in.stdout.buf))
		}
	}
}

func TestRefusedAtLoad(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		code    abi.Code
		mention []string
	}{
		{"import not granted", "ungranted", abi.CodeDenied, []string{"extism:host/env.http_request", `"http"`}},
		{"hyper-mcp import in a native plugin", "asksampling", abi.CodeDenied, []string{"extism:host/user.create_message", `"sampling"`}},
		{"unknown host import", "unknownimport", abi.CodeBadPlugin, []string{"extism:host/env.secret_backdoor"}},
		{"import from env", "envimport", abi.CodeBadPlugin, []string{"env.system"}},
	}
	e := newTestEngine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Load(context.Background(), specFor(t, "testdata/hostile/"+tt.fixture))
			wantCode(t, err, tt.code, tt.mention...)
			assertAlive(t, e)
		})
	}
}

func TestTruncatedModule(t *testing.T) {
	e := newTestEngine(t)
	spec := specFor(t, "sdk/c/example")
	for _, n := range []int{0, 4, 9, len(spec.Wasm) / 2, len(spec.Wasm) - 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := spec
			s.Wasm = spec.Wasm[:n]
			_, err := e.Load(context.Background(), s)
			wantCode(t, err, abi.CodeBadPlugin, "not a valid WebAssembly module")
		})
	}
	t.Run("header only", func(t *testing.T) {
		s := spec
		s.Wasm = spec.Wasm[:8] // a valid, empty module: loads, but has nothing to describe
		p := load(t, e, s)
		_, err := p.Describe(context.Background())
		wantCode(t, err, abi.CodeBadPlugin, `does not export "describe"`)
	})
	assertAlive(t, e)
}

func TestPinnedDigest(t *testing.T) {
	e := newTestEngine(t)
	spec := specFor(t, "sdk/c/example")
	spec.SHA256 = strings.Repeat("0", 64)
	_, err := e.Load(context.Background(), spec)
	wantCode(t, err, abi.CodeBadPlugin, "sha256", "hermes plugins audit")
}

func TestDescribeFailures(t *testing.T) {
	e := newTestEngine(t)
	t.Run("garbage", func(t *testing.T) {
		p := load(t, e, specFor(t, "testdata/hostile/badjson"))
		_, err := p.Describe(context.Background())
		wantCode(t, err, abi.CodeInvalidOutput, "describe")
	})
	t.Run("never returns", func(t *testing.T) {
		spec := specFor(t, "testdata/hostile/slowdescribe")
		spec.Limits.Timeout = abi.Duration(300 * time.Millisecond)
		p := load(t, e, spec)
		_, err := p.Describe(context.Background())
		wantCode(t, err, abi.CodeLimitExceeded, "timeout")
	})
	assertAlive(t, e)
}

// TestCompileCacheDamage damages the on-disk cache entry in two ways; hermes must neither crash
// nor run the damaged code, and must still answer correctly.
func TestCompileCacheDamage(t *testing.T) {
	damage := map[string]func([]byte) []byte{
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
		"bit flips": func(b []byte) []byte {
			b = append([]byte(nil), b...)
			for i := len(b) / 3; i < len(b); i += 97 {
				b[i] ^= 0xff
			}
			return b
		},
		"emptied": func([]byte) []byte { return nil },
	}
	for name, spoil := range damage {
		t.Run(name, func(t *testing.T) {
			cacheDir := filepath.Join(t.TempDir(), "cache")
			e1, _ := NewEngine(cacheDir, nil)
			spec := specFor(t, "sdk/c/example")
			p := load(t, e1, spec)
			if _, err := p.Call(context.Background(), "echo", []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			var entries []string
			filepath.Walk(cacheDir, func(path string, info os.FileInfo, err error) error {
				if err == nil && info.Mode().IsRegular() {
					entries = append(entries, path)
				}
				return nil
			})
			if len(entries) == 0 {
				t.Fatal("no compile cache entries written")
			}
			for _, path := range entries {
				b, _ := os.ReadFile(path)
				os.WriteFile(path, spoil(b), 0o600)
			}
			info, _ := os.Stat(cacheDir)
			if info.Mode().Perm() != 0o700 {
				t.Errorf("cache dir mode %o, want 0700", info.Mode().Perm())
			}
			// A fresh engine (a new process) meets the damaged entry.
			e2, _ := NewEngine(cacheDir, nil)
			p2 := load(t, e2, spec)
			out, err := p2.Call(context.Background(), "count", []byte(`{"text":"a b"}`))
			if err != nil || !strings.Contains(string(out), `"words":2`) {
				t.Fatalf("after cache damage: out=%s err=%v", out, err)
			}
		})
	}
}

func TestConcurrentCalls(t *testing.T) {
	e := newTestEngine(t)
	spec := specFor(t, "sdk/c/example")
	spec.MaxInstances = 3
	p := load(t, e, spec)
	var wg sync.WaitGroup
	errs := make(chan error, 16*50)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				in := fmt.Sprintf(`{"message":"g%d-%d"}`, g, i)
				out, err := p.Call(context.Background(), "echo", []byte(in))
				if err != nil || string(out) != in {
					errs <- fmt.Errorf("call %s: out=%s err=%v", in, out, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(p.pool.idle); n > 3 {
		t.Errorf("%d idle instances, want at most 3", n)
	}
}

// panickyKV panics inside a host function's Go code; that call must fail, nothing else.
type panickyKV struct{ mapKV }

func (*panickyKV) Get(context.Context, string) ([]byte, bool, error) { panic("kv exploded") }

func TestPanicBelowCallIsAnError(t *testing.T) {
	e := newTestEngine(t)
	spec := specFor(t, "testdata/hostile/kvsnoop")
	spec.KV = &panickyKV{}
	p := load(t, e, spec)
	_, err := p.Call(context.Background(), "get", []byte(`{"key":"k"}`))
	wantCode(t, err, abi.CodeTrap, "kv exploded")
	// The same plugin keeps serving (set does not touch the panicking Get).
	if _, err := p.Call(context.Background(), "set", []byte(`{"key":"k","value":"v"}`)); err != nil {
		t.Fatal(err)
	}
	assertAlive(t, e)
}

func TestWASIEnvironment(t *testing.T) {
	t.Setenv("HERMES_TEST_HOST_SECRET", "must-not-be-seen")
	e := newTestEngine(t)
	p := load(t, e, specFor(t, "testdata/hostile/envsnoop"))
	var first, second struct {
		Environ []string
		Args    []string
		Now     string
		Random  string
	}
	for _, v := range []any{&first, &second} {
		out, err := p.Call(context.Background(), "environ", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatal(err)
		}
	}
	if len(first.Environ) != 0 || len(first.Args) != 0 {
		t.Fatalf("a plugin sees environ=%v args=%v; want nothing", first.Environ, first.Args)
	}
	now, err := time.Parse(time.RFC3339, first.Now)
	if err != nil || time.Since(now).Abs() > time.Minute {
		t.Fatalf("plugin clock says %q, host says %s", first.Now, time.Now().UTC())
	}
	if first.Random == second.Random || first.Random == strings.Repeat("0", 32) {
		t.Fatalf("random bytes are not random: %s, %s", first.Random, second.Random)
	}
}

// syncBuffer is a log sink for tests.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogFloodIsBounded(t *testing.T) {
	var sink syncBuffer
	e, err := NewEngine(testplugins.CompileCacheDir(t), slog.New(slog.NewTextHandler(&sink, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p := load(t, e, specFor(t, "testdata/hostile/logflood"))
	start := time.Now()
	if _, err := p.Call(context.Background(), "flood", []byte(`{"lines":1000,"bytes":8192}`)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(sink.String()), "\n")
	allowed := 100 + int(20*time.Since(start).Seconds()) + 1
	if len(lines) > allowed {
		t.Fatalf("%d log lines from a flood, want at most %d", len(lines), allowed)
	}
	for _, l := range lines {
		if !strings.Contains(l, "plugin=hostile-logflood") || len(l) > maxLogMessage+200 {
			t.Fatalf("log line of %d bytes without the plugin's name or not cut: %.120s", len(l), l)
		}
	}
	assertAlive(t, e)
}

func TestCanceledCall(t *testing.T) {
	e := newTestEngine(t)
	p := load(t, e, specFor(t, "testdata/hostile/loop"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := p.Call(ctx, "spin", []byte(`{}`))
	wantCode(t, err, abi.CodeCanceled)
	if !errors.Is(err, context.Canceled) && abi.CodeOf(err) != abi.CodeCanceled {
		t.Fatal(err)
	}
	// Given up at once: before the call starts or in its first millisecond, before the caller
	// is watched; the kill switch's first check ends it.
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		_, err := p.Call(ctx, "spin", []byte(`{}`))
		wantCode(t, err, abi.CodeCanceled)
	}
	assertAlive(t, e)
}
