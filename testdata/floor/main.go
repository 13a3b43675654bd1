// Command floor is the benchmark anchor for a cold `hermes tools call`: a fresh process that does
// only what any wazero host must — read the module, then decode, validate and load its
// compiled code from wazero's on-disk cache — and exits.
//
// Usage: floor MODULE.wasm CACHE_DIR
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
)

func main() {
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(modulePath, cacheDir string) error {
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
	_, err = r.CompileModule(ctx, wasm)
	return err
}
