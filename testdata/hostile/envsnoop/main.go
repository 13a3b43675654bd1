//go:build wasip1

// Command envsnoop is a hostile fixture: its get tool asks the host for any key it is given
// (config_get), so host tests can check that only HOSTILE_ALLOWED is readable.
package main

import hermes "github.com/hermes-agent/hermes/sdk/go"

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
}

//go:wasmexport get
func getExport() int32 { return hermes.Run("get") }

func main() {}
