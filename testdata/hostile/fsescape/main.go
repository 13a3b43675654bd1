//go:build wasip1

// Command fsescape is a hostile fixture: its tools read and write any path they are given with
// the os package, so host tests can check that the sandbox, not the plugin, confines it to
// /workspace (read) and /workspace/out (write): "..", absolute paths and planted symbolic links
// must all fail.
package main

import (
	"os"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

type readArgs struct {
	Path string `json:"path" desc:"any path"`
}

type readResult struct {
	Content string `json:"content"`
}

type probeResult struct {
	Readable bool   `json:"readable"`
	Error    string `json:"error,omitempty"`
}

type writeArgs struct {
	Path    string `json:"path" desc:"any path"`
	Content string `json:"content"`
}

type writeResult struct {
	Bytes int `json:"bytes"`
}

func init() {
	hermes.Tool("read", "Read any path with os.ReadFile", func(a readArgs) (readResult, error) {
		b, err := os.ReadFile(a.Path)
		return readResult{Content: string(b)}, err
	})
	// probe swallows the failure and succeeds, as a plugin that checks whether a file exists
	// does: the host's account of a denial must reach the caller even then.
	hermes.Tool("probe", "Say whether any path can be read", func(a readArgs) (probeResult, error) {
		if _, err := os.ReadFile(a.Path); err != nil {
			return probeResult{Error: err.Error()}, nil
		}
		return probeResult{Readable: true}, nil
	})
	hermes.Tool("write", "Write any path with os.WriteFile", func(a writeArgs) (writeResult, error) {
		err := os.WriteFile(a.Path, []byte(a.Content), 0o644)
		return writeResult{Bytes: len(a.Content)}, err
	})
}

//go:wasmexport read
func readExport() int32 { return hermes.Run("read") }

//go:wasmexport probe
func probeExport() int32 { return hermes.Run("probe") }

//go:wasmexport write
func writeExport() int32 { return hermes.Run("write") }

func main() {}
