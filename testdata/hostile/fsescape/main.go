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
	hermes.Tool("write", "Write any path with os.WriteFile", func(a writeArgs) (writeResult, error) {
		err := os.WriteFile(a.Path, []byte(a.Content), 0o644)
		return writeResult{Bytes: len(a.Content)}, err
	})
}

//go:wasmexport read
func readExport() int32 { return hermes.Run("read") }

//go:wasmexport write
func writeExport() int32 { return hermes.Run("write") }

func main() {}
