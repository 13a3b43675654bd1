package wasm

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/hermes-agent/hermes/host/testplugins"
)

// BenchmarkEchoFloor is the floor under BenchmarkEchoCall: the same modules and export called
// on bare wazero (the runtime settings hermes uses, CloseOnContextDone included), with the
// smallest kernel that can serve them — one bump-allocated byte slice, no limits, no
// accounting, no activity — under a cancelable context, as every hermes call has (its
// deadline). What hermes adds to a call is BenchmarkEchoCall/NAME/hermes minus this; what any
// host must pay for the guest is this.
func BenchmarkEchoFloor(b *testing.B) {
	for _, m := range echoModules {
		b.Run(m.name+"/raw-wazero", func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
			defer rt.Close(ctx)
			wasi_snapshot_preview1.MustInstantiate(ctx, rt)
			k := &floorKernel{}
			k.instantiate(b, ctx, rt)
			mod, err := rt.InstantiateWithConfig(ctx, testplugins.Wasm(b, m.fixture), wazero.NewModuleConfig().WithStartFunctions("_initialize"))
			if err != nil {
				b.Fatal(err)
			}
			echo := mod.ExportedFunction("echo")
			call := func() {
				k.reset(echoInput)
				rc, err := echo.Call(ctx)
				if err != nil || rc[0] != 0 || string(k.output) != string(echoInput) {
					b.Fatalf("echo: rc %v, err %v, output %q", rc, err, k.output)
				}
			}
			call()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				call()
			}
		})
	}
}

// floorKernel is the least an Extism-convention host must do for the echo export: hand over
// the input, take the output.
type floorKernel struct {
	mem    []byte
	input  []byte
	output []byte
}

func (k *floorKernel) reset(input []byte) {
	k.mem, k.input, k.output = k.mem[:0], input, k.output[:0]
}

func (k *floorKernel) instantiate(b *testing.B, ctx context.Context, rt wazero.Runtime) {
	// Offsets start at 1: 0 is Extism's "no block".
	i64, i32 := api.ValueTypeI64, api.ValueTypeI32
	builder := rt.NewHostModuleBuilder("extism:host/env")
	define := func(name string, f func(stack []uint64), params, results []api.ValueType) {
		builder.NewFunctionBuilder().WithGoFunction(api.GoFunc(func(_ context.Context, stack []uint64) { f(stack) }), params, results).Export(name)
	}
	define("alloc", func(s []uint64) {
		n := s[0]
		off := uint64(len(k.mem)) + 1
		k.mem = append(k.mem, make([]byte, n)...)
		s[0] = off
	}, []api.ValueType{i64}, []api.ValueType{i64})
	define("store_u64", func(s []uint64) {
		off := s[0] - 1
		v := s[1]
		for i := range 8 {
			k.mem[off+uint64(i)] = byte(v >> (8 * i))
		}
	}, []api.ValueType{i64, i64}, nil)
	define("store_u8", func(s []uint64) { k.mem[s[0]-1] = byte(s[1]) }, []api.ValueType{i64, i32}, nil)
	define("output_set", func(s []uint64) {
		off, n := s[0]-1, s[1]
		k.output = append(k.output[:0], k.mem[off:off+n]...)
	}, []api.ValueType{i64, i64}, nil)
	define("input_length", func(s []uint64) { s[0] = uint64(len(k.input)) }, nil, []api.ValueType{i64})
	define("input_load_u64", func(s []uint64) {
		off := s[0]
		var v uint64
		for i := range 8 {
			v |= uint64(k.input[off+uint64(i)]) << (8 * i)
		}
		s[0] = v
	}, []api.ValueType{i64}, []api.ValueType{i64})
	define("input_load_u8", func(s []uint64) { s[0] = uint64(k.input[s[0]]) }, []api.ValueType{i64}, []api.ValueType{i32})
	define("error_set", func(s []uint64) {}, []api.ValueType{i64}, nil)
	if _, err := builder.Instantiate(ctx); err != nil {
		b.Fatal(err)
	}
}
