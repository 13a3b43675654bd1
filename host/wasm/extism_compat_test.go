package wasm

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// errRC stands for go-sdk's answer to a non-zero return code without an error message: it
// reports no error, hermes a tool error.
var errRC = errors.New("non-zero return code")

// newExtismReference runs a module under Extism's own go-sdk, the reference implementation of
// the ABI hermes implements natively, with config set as hermes would.
func newExtismReference(tb testing.TB, wasmBytes []byte, config map[string]string) *extism.Plugin {
	tb.Helper()
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(filepath.Join(testplugins.CompileCacheDir(tb), "extism"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache)}
	m := extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasmBytes}}, Config: config}
	compiled, err := extism.NewCompiledPlugin(ctx, m, cfg, nil)
	if err != nil {
		tb.Fatalf("extism compile: %v", err)
	}
	tb.Cleanup(func() { compiled.Close(ctx) })
	p, err := compiled.Instance(ctx, extism.PluginInstanceConfig{})
	if err != nil {
		tb.Fatalf("extism instance: %v", err)
	}
	tb.Cleanup(func() { p.Close(ctx) })
	return p
}

// TestGoSDKWasmUnderBothRuntimes runs go-sdk v1.7.1's own test plugins, unchanged, under hermes
// and under go-sdk, and expects the same output, error and variables: the kernel's edge cases
// (length(0) of an unset config key or var, a () -> () export, a TinyGo command module whose
// _start is never run, error_set, empty output) included.
func TestGoSDKWasmUnderBothRuntimes(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		env    []string          // granted config keys
		config map[string]string // their values (unset keys are missing)
		calls  []call
	}{
		{"count_vowels", "count_vowels.wasm", []string{"vowels"}, nil,
			[]call{{"count_vowels", "hello world"}, {"count_vowels", ""}, {"count_vowels", "aaaaaa"}}},
		{"count_vowels custom vowels", "count_vowels.wasm", []string{"vowels"}, map[string]string{"vowels": "lw"},
			[]call{{"count_vowels", "hello world"}}},
		{"config unset", "config.wasm", []string{"thing"}, nil, []call{{"run_test", ""}}},
		{"config set", "config.wasm", []string{"thing"}, map[string]string{"thing": "a value"}, []call{{"run_test", ""}}},
		{"var", "var.wasm", nil, nil, []call{{"run_test", ""}, {"run_test", ""}}},
		{"hello", "hello.wasm", nil, nil, []call{{"run_test", ""}}},
		{"fail", "fail.wasm", nil, nil, []call{{"run_test", ""}}},
		{"noop", "noop.wasm", nil, nil, []call{{"run_test", ""}}},
	}
	e := newTestEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wasmBytes := testplugins.GoSDKWasm(t, tc.file)
			kv := &mapKV{}
			spec := Spec{
				Name: "compat", Wasm: wasmBytes, KV: kv,
				Granted: abi.Capabilities{Env: tc.env, KV: true},
				Env: func(key string) (string, bool, error) {
					v, ok := tc.config[key]
					return v, ok, nil
				},
			}
			spec.Limits, _ = abi.Limits{}.Within(config.DefaultLimits())
			hermes := load(t, e, spec)
			ref := newExtismReference(t, wasmBytes, tc.config)
			sameUnderBoth(t, hermes, ref, kv, tc.calls)
		})
	}
}

type call struct{ export, input string }

// sameUnderBoth makes each call under hermes (raw output) and under go-sdk and expects the same
// output or the same failure, and the same variables afterwards.
func sameUnderBoth(t *testing.T, hermes *Plugin, ref *extism.Plugin, kv *mapKV, calls []call) {
	t.Helper()
	for _, c := range calls {
		got, gotErr := hermes.CallRaw(context.Background(), c.export, []byte(c.input))
		rc, want, wantErr := ref.Call(c.export, []byte(c.input))
		if wantErr == nil && rc != 0 {
			wantErr = errRC
		}
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s(%q): hermes err=%v, extism err=%v", c.export, c.input, gotErr, wantErr)
		}
		if gotErr == nil && !bytes.Equal(got, want) {
			t.Fatalf("%s(%q): hermes=%q extism=%q", c.export, c.input, got, want)
		}
		if gotErr != nil && wantErr != errRC && !strings.Contains(gotErr.Error(), firstLine(wantErr.Error())) {
			t.Errorf("%s: hermes error %q does not carry the plugin's message %q", c.export, gotErr, wantErr)
		}
		for k, v := range ref.Var {
			if h, _, _ := kv.Get(context.Background(), k); !bytes.Equal(h, v) {
				t.Errorf("var %q: hermes %v, extism %v", k, h, v)
			}
		}
	}
}

// TestKernelEdgeCases: () -> () exports, error_set, error_set(0), output_set of 0 bytes and
// length(0), the same under hermes as under go-sdk.
func TestKernelEdgeCases(t *testing.T) {
	spec := specFor(t, "testdata/compat/kernel")
	hermes := load(t, newTestEngine(t), spec)
	ref := newExtismReference(t, spec.Wasm, nil)
	sameUnderBoth(t, hermes, ref, spec.KV.(*mapKV), []call{
		{"unit_ok", ""}, {"unit_error", ""}, {"empty", ""}, {"cleared", ""}, {"zero_length", ""},
	})
	if _, err := hermes.Call(context.Background(), "empty", nil); err == nil {
		t.Error("a JSON tool's empty output was accepted")
	}
}

// TestCommandModule: a WASI command module loads and its tools run; its _start (which traps
// here) is never run, as under go-sdk.
func TestCommandModule(t *testing.T) {
	e := newTestEngine(t)
	p := load(t, e, specFor(t, "testdata/hostile/command"))
	for range 2 {
		if out, err := p.Call(context.Background(), "noop", nil); err != nil || string(out) != "{}" {
			t.Fatalf("noop: out=%s err=%v", out, err)
		}
	}
	if _, err := p.Describe(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestGoPDKExamplesUnderBothRuntimes runs go-pdk v1.1.3's examples as upstream builds them
// with the standard Go compiler (the Makefile builds them unchanged from the module cache): a
// WASI command whose _start is the plugin, called as a tool export, twice (an instance runs its
// main once and is replaced; go-sdk needs a new instance for each call).
func TestGoPDKExamplesUnderBothRuntimes(t *testing.T) {
	wasmBytes := testplugins.Wasm(t, "testdata/compat/gopdk-countvowels")
	kv := &mapKV{}
	spec := Spec{Name: "gopdk", Wasm: wasmBytes, KV: kv, Granted: abi.Capabilities{Env: []string{"thing"}, KV: true},
		Config: map[string]string{}, StubUngranted: true}
	spec.Limits, _ = abi.Limits{}.Within(config.DefaultLimits())
	hermes := load(t, newTestEngine(t), spec)
	for _, input := range []string{`{"input":"hello world"}`, `{"input":"again"}`} {
		// go-sdk's instance is closed once main has exited; hermes replaces it by itself.
		sameUnderBoth(t, hermes, newExtismReference(t, wasmBytes, nil), kv, []call{{"_start", input}})
	}
}
