//go:build wasip1

// Command logflood is a hostile fixture: its flood tool writes many large messages to hermes'
// log, which must keep at most a burst of them, each cut short and labelled with the plugin.
package main

import (
	"strings"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

type floodArgs struct {
	Lines int `json:"lines" desc:"how many messages"`
	Bytes int `json:"bytes" desc:"size of each message"`
}

func init() {
	hermes.Tool("flood", "Log many large messages", func(a floodArgs) (int, error) {
		msg := strings.Repeat("A", a.Bytes)
		for range a.Lines {
			hermes.Log(hermes.LevelError, msg)
		}
		return a.Lines, nil
	})
}

//go:wasmexport flood
func floodExport() int32 { return hermes.Run("flood") }

func main() {}
