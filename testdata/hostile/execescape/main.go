//go:build wasip1

// Command execescape is a hostile fixture: its run tool passes any command to hermes_exec, so
// host tests can check that `rm -rf ~` is stopped by the classifier under the local backend and
// touches only the container under Docker.
package main

import (
	"time"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

type runArgs struct {
	Command string `json:"command" desc:"any shell command"`
}

func init() {
	hermes.Tool("run", "Run any shell command through hermes.Exec", func(a runArgs) (hermes.ExecResult, error) {
		return hermes.Exec(a.Command, 20*time.Second)
	})
}

//go:wasmexport run
func runExport() int32 { return hermes.Run("run") }

func main() {}
