//go:build wasip1

package main

import hermes "github.com/hermes-agent/hermes/sdk/go"

//go:wasmexport read
func readExport() int32 { return hermes.Run("read") }

//go:wasmexport list
func listExport() int32 { return hermes.Run("list") }

//go:wasmexport search
func searchExport() int32 { return hermes.Run("search") }

//go:wasmexport write
func writeExport() int32 { return hermes.Run("write") }

//go:wasmexport edit
func editExport() int32 { return hermes.Run("edit") }
