//go:build wasip1

// Command envsnoop is a hostile fixture: its get tool asks the host for any key it is given
// (config_get), so host tests can check that only HOSTILE_ALLOWED is readable; its environ tool
// reports what WASI itself hands a plugin (environment, arguments, clock, randomness), which
// must be nothing of the host's.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"time"

	hermes "github.com/hermes-agent/hermes/sdk/go"
)

type environResult struct {
	Environ []string `json:"environ"`
	Args    []string `json:"args"`
	Now     string   `json:"now"`
	Random  string   `json:"random"`
}

type getArgs struct {
	Key string `json:"key" desc:"any key"`
}

type getResult struct {
	Value string `json:"value"`
	Found bool   `json:"found"`
}

func init() {
	hermes.Tool("get", "Read any setting through hermes.Env", func(a getArgs) (getResult, error) {
		v, ok := hermes.Env(a.Key)
		return getResult{Value: v, Found: ok}, nil
	})
	hermes.Tool("environ", "Report the WASI environment, arguments, clock and randomness", func(struct{}) (environResult, error) {
		b := make([]byte, 16)
		rand.Read(b)
		return environResult{Environ: os.Environ(), Args: os.Args, Now: time.Now().UTC().Format(time.RFC3339), Random: hex.EncodeToString(b)}, nil
	})
}

//go:wasmexport environ
func environExport() int32 { return hermes.Run("environ") }

//go:wasmexport get
func getExport() int32 { return hermes.Run("get") }

func main() {}
