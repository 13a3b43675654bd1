// Command extism-anchor is the second anchor for a cold `hermes tools call`: a fresh process that
// does with Extism's go-sdk what the hermes command does — read the module, load its compiled
// code from an on-disk cache, instantiate it and call one export once — and prints the output.
//
// Usage: extism-anchor MODULE.wasm CACHE_DIR EXPORT INPUT
package main

import (
	"context"
	"fmt"
	"os"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
)

func main() {
	if err := run(os.Args[1], os.Args[2], os.Args[3], os.Args[4]); err != nil {
		fmt.Fprintln(os.Stderr, "extism-anchor:", err)
		os.Exit(1)
	}
}

func run(modulePath, cacheDir, export, input string) error {
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		return err
	}
	cfg := extism.PluginConfig{EnableWasi: true, RuntimeConfig: wazero.NewRuntimeConfig().WithCloseOnContextDone(true).WithCompilationCache(cache)}
	m := extism.Manifest{Wasm: []extism.Wasm{extism.WasmFile{Path: modulePath}}}
	p, err := extism.NewPlugin(ctx, m, cfg, nil)
	if err != nil {
		return err
	}
	defer p.Close(ctx)
	_, out, err := p.Call(export, []byte(input))
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(out, '\n'))
	return err
}
