// Package floorkernel is the least an Extism-convention host must do to call an echo-like
// export: hand over the input, take the output. It is the host side of the benchmark floors
// (BenchmarkEchoFloor in host/wasm, testdata/floor for a fresh process): one bump-allocated
// byte slice, no limits, no accounting, no activity. Not for anything but measuring.
package floorkernel

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Kernel serves one call at a time.
type Kernel struct {
	mem    []byte
	input  []byte
	Output []byte
}

// Reset starts a call with input.
func (k *Kernel) Reset(input []byte) {
	k.mem, k.input, k.Output = k.mem[:0], input, k.Output[:0]
}

// Instantiate defines the kernel's functions as the extism:host/env module of rt.
func (k *Kernel) Instantiate(ctx context.Context, rt wazero.Runtime) error {
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
		k.Output = append(k.Output[:0], k.mem[off:off+n]...)
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
		return fmt.Errorf("floorkernel: %w", err)
	}
	return nil
}
