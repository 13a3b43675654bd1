// Command pdkecho is the echo benchmark fixture written against Extism's go-pdk instead of the
// hermes SDK, to show that any Extism plugin with a describe export runs under hermes and to
// compare the two. It lives in its own module so hermes does not depend on go-pdk.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o echo.wasm .
package main

import "github.com/extism/go-pdk"

const description = `{"tools":[{"name":"echo","description":"Return the arguments unchanged",` +
	`"parameters":{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}}]}`

//go:wasmexport describe
func describe() int32 {
	pdk.OutputString(description)
	return 0
}

//go:wasmexport echo
func echo() int32 {
	pdk.Output(pdk.Input())
	return 0
}

func main() {}
