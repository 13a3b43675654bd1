package wasm

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/host/testplugins/floorkernel"
)

// BenchmarkEchoFloor is the floor under BenchmarkEchoCall: the same modules and export called
// on bare wazero (the runtime settings hermes uses, CloseOnContextDone included), with the
// smallest kernel that can serve them (floorkernel) under a cancelable context, as every hermes call has (its
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
			k := &floorkernel.Kernel{}
			if err := k.Instantiate(ctx, rt); err != nil {
				b.Fatal(err)
			}
			mod, err := rt.InstantiateWithConfig(ctx, testplugins.Wasm(b, m.fixture), wazero.NewModuleConfig().WithStartFunctions("_initialize"))
			if err != nil {
				b.Fatal(err)
			}
			echo := mod.ExportedFunction("echo")
			call := func() {
				k.Reset(echoInput)
				rc, err := echo.Call(ctx)
				if err != nil || rc[0] != 0 || string(k.Output) != string(echoInput) {
					b.Fatalf("echo: rc %v, err %v, output %q", rc, err, k.Output)
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
