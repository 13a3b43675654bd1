// Command floor is the benchmark anchor for a cold `hermes tools call`: a fresh process that does
// only what any wazero host must — read the module, then decode, validate and load its
// compiled code from wazero's on-disk cache — and exits. Given an export and its input, it
// then also does what any host must to call it once: instantiate WASI, the smallest Extism
// kernel (floorkernel) and the module (running its _initialize), call the export, print the
// output.
//
// Usage: floor MODULE.wasm CACHE_DIR [EXPORT INPUT]
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/hermes-agent/hermes/host/testplugins/floorkernel"
)

func main() {
	var export, input string
	if len(os.Args) == 5 {
		export, input = os.Args[3], os.Args[4]
	}
	if err := run(os.Args[1], os.Args[2], export, input); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(modulePath, cacheDir, export, input string) error {
	ctx := context.Background()
	wasm, err := os.ReadFile(modulePath)
	if err != nil {
		return err
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return err
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache))
	compiled, err := r.CompileModule(ctx, wasm)
	if err != nil || export == "" {
		return err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, r); err != nil {
		return err
	}
	k := &floorkernel.Kernel{}
	if err := k.Instantiate(ctx, r); err != nil {
		return err
	}
	mod, err := r.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().WithStartFunctions("_initialize"))
	if err != nil {
		return err
	}
	f := mod.ExportedFunction(export)
	if f == nil {
		return errors.New("no export " + export)
	}
	k.Reset([]byte(input))
	if rc, err := f.Call(ctx); err != nil || rc[0] != 0 {
		return fmt.Errorf("%s: rc %v, err %v", export, rc, err)
	}
	_, err = os.Stdout.Write(append(k.Output, '\n'))
	return err
}
