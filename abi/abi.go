// Package abi is the contract between the hermes host and its WebAssembly plugins: the ABI
// version, the manifest (plugin.toml), capability names, the host functions each capability
// links, the tool descriptor JSON and the error codes a caller sees. See README.md for the prose.
//
// It is imported by the host and by plugin SDKs, so it depends on nothing but the standard
// library and a TOML decoder.
package abi

// Version is the ABI version this package describes. A manifest declaring another version is
// refused; see [VersionError].
const Version = 1

// Module names the host functions are imported from.
const (
	// ModuleEnv is Extism's host module: memory, input/output, config, vars, HTTP and logging.
	ModuleEnv = "extism:host/env"
	// ModuleUser is where Extism PDKs import user-defined host functions; hermes' own live here.
	ModuleUser = "extism:host/user"
	// ModuleWASI is WASI preview 1, always linked (files only as granted).
	ModuleWASI = "wasi_snapshot_preview1"
)

// Exports a plugin module has besides its tools.
const (
	// ExportDescribe returns the plugin's tool list as JSON ([Description]).
	ExportDescribe = "describe"
	// ExportInitialize is WASI's reactor initialiser, called once per instance when present.
	ExportInitialize = "_initialize"
	// ExportStart marks a WASI command module. As under Extism it is never run; the module's
	// constructors (ExportCallCtors) are called once per instance instead of _initialize.
	ExportStart = "_start"
	// ExportCallCtors is a command module's static constructors, exported by clang and TinyGo.
	ExportCallCtors = "__wasm_call_ctors"
)

// Return values of a tool export.
const (
	// ReturnOK is what a tool export returns on success.
	ReturnOK = 0
	// ReturnError (or any other non-zero value) reports failure; the message comes from error_set.
	ReturnError = 1
)
