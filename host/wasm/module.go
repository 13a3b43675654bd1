package wasm

import (
	"context"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"

	"github.com/hermes-agent/hermes/abi"
)

// ModuleInfo is what a module exports and imports, read without linking or running it.
type ModuleInfo struct {
	// Callable lists, sorted, the exports a tool may call (() -> i32 or () -> ()), without
	// the ones a runtime calls by itself (_start, _initialize, anything beginning with "_").
	Callable []string
	// Imports lists the capabilities whose host functions the module imports, in
	// abi.AllCapabilities order.
	Imports []abi.Capability
	exports map[string]bool
}

// Exports reports whether the module exports a function of that name.
func (m ModuleInfo) Exports(name string) bool { return m.exports[name] }

// ReadModule compiles module (with the interpreter: nothing runs, nothing is cached) and lists
// its exports and the capabilities of its imports. It is for turning a module without a
// plugin.toml into a plugin; the plugin is then verified as any other.
func ReadModule(ctx context.Context, name string, module []byte) (ModuleInfo, error) {
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	compiled, err := rt.CompileModule(ctx, module)
	if err != nil {
		return ModuleInfo{}, badPlugin(name, "%s is not a valid WebAssembly module: %s", name+".wasm", firstLine(err.Error()))
	}
	info := ModuleInfo{exports: map[string]bool{}}
	for export, def := range compiled.ExportedFunctions() {
		info.exports[export] = true
		if Callable(def) && !strings.HasPrefix(export, "_") {
			info.Callable = append(info.Callable, export)
		}
	}
	slices.Sort(info.Callable)
	for _, def := range compiled.ImportedFunctions() {
		module, fn, _ := def.Import()
		if f, ok := abi.LookupHostFunc(module, fn); ok && f.Capability != "" && !slices.Contains(info.Imports, f.Capability) {
			info.Imports = append(info.Imports, f.Capability)
		}
	}
	slices.SortFunc(info.Imports, func(a, b abi.Capability) int {
		return slices.Index(abi.AllCapabilities, a) - slices.Index(abi.AllCapabilities, b)
	})
	return info, nil
}
