//go:build wasip1

package main

import hermes "github.com/hermes-agent/hermes/sdk/go"

//go:wasmexport fetch
func fetchExport() int32 { return hermes.Run("fetch") }
