// Package hermes is the Go SDK for hermes plugins: it turns typed Go functions into the tools of a
// WebAssembly plugin that follows the hermes ABI (see abi/README.md in the hermes repository).
//
// A plugin registers its tools in init() and exports one function per tool:
//
//	package main
//
//	import hermes "github.com/hermes-agent/hermes/sdk/go"
//
//	type readArgs struct {
//		Path string `json:"path" desc:"file to read, relative to the workspace"`
//	}
//
//	type readResult struct {
//		Content string `json:"content"`
//	}
//
//	func read(a readArgs) (readResult, error) {
//		b, err := os.ReadFile(a.Path)
//		return readResult{Content: string(b)}, err
//	}
//
//	func init() { hermes.Tool("read", "Read a text file", read) }
//
//	//go:wasmexport read
//	func readExport() int32 { return hermes.Run("read") }
//
//	func main() {}
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o read.wasm .
//
// With -buildmode=c-shared the module's main function is never run, but package init functions
// are (from the _initialize export), so tools must be registered in init(). The SDK itself
// exports describe, which lists the registered tools with their JSON schemas.
//
// The capability wrappers ([HTTP], [Env], [KVGet], [KVSet], [KVDelete], [Log], [Exec]) call
// their host functions only when used, so a plugin imports exactly the host functions of the
// capabilities it uses, and its manifest must declare those capabilities. Files need no wrapper:
// use the os package on the guest paths /workspace (the granted workspace directory) and /data
// (the plugin's private directory), as granted by fs_read / fs_write.
//
// Outside WebAssembly (GOOS != wasip1) the package runs against an in-process fake host, so a
// plugin's tools can be unit-tested with go test: see [CallForTest], [SetFakeHTTP],
// [SetFakeEnv], [SetFakeExec], [FakeLogs] and [ResetFakes].
package hermes
