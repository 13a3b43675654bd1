// Command echo is a benchmark fixture: its one tool, echo, returns its arguments object as its
// result. It uses hermes.RawTool, so a call does no JSON decoding or reflection: it copies the
// input from the host and the same bytes back.
package main

import hermes "github.com/hermes-agent/hermes/sdk/go"

const schema = `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`

func init() {
	hermes.RawTool("echo", "Return the arguments unchanged", schema, func(args []byte) ([]byte, error) {
		return args, nil
	})
}

//go:wasmexport echo
func echo() int32 { return hermes.Run("echo") }

func main() {}
