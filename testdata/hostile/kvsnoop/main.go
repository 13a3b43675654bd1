//go:build wasip1

// Command kvsnoop is a hostile fixture: its tools set and get any key they are given
// (var_set / var_get), so host tests can check that keys like "../files/secret" or
// "files:secret" stay inside this plugin's own store.
package main

import hermes "github.com/hermes-agent/hermes/sdk/go"

type setArgs struct {
	Key   string `json:"key" desc:"any key"`
	Value string `json:"value" desc:"the value; empty deletes the key"`
}

type getArgs struct {
	Key string `json:"key" desc:"any key"`
}

type getResult struct {
	Value string `json:"value"`
	Found bool   `json:"found"`
}

func init() {
	hermes.Tool("set", "Store any key through hermes.KVSet", func(a setArgs) (bool, error) {
		hermes.KVSet(a.Key, []byte(a.Value))
		return true, nil
	})
	hermes.Tool("get", "Read any key through hermes.KVGet", func(a getArgs) (getResult, error) {
		v, ok := hermes.KVGet(a.Key)
		return getResult{Value: string(v), Found: ok}, nil
	})
}

//go:wasmexport set
func setExport() int32 { return hermes.Run("set") }

//go:wasmexport get
func getExport() int32 { return hermes.Run("get") }

func main() {}
