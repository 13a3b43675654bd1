// Command hypermcpv1 is a hyper-mcp plugin of the first protocol, written with Extism's go-pdk
// against hyper-mcp's published contract: describe returns {tools:[{name, description,
// inputSchema}]}; call takes {params:{name, arguments}} and returns an MCP CallToolResult.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hypermcp-v1.wasm .
package main

import (
	"encoding/json"
	"strings"

	"github.com/extism/go-pdk"
)

//go:wasmexport describe
func describe() int32 {
	pdk.OutputString(`{"tools":[{"name":"shout-text","description":"Upper-cases a text",` +
		`"inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}}]}`)
	return 0
}

type content struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type result struct {
	Content []content `json:"content"`
	IsError bool      `json:"isError,omitempty"`
}

//go:wasmexport call
func call() int32 {
	var req struct {
		Params struct {
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"params"`
	}
	if err := pdk.InputJSON(&req); err != nil {
		pdk.SetError(err)
		return 1
	}
	text, _ := req.Params.Arguments["text"].(string)
	res := result{Content: []content{{Type: "text", Text: strings.ToUpper(text)}}}
	if req.Params.Name != "shout-text" || text == "" {
		res = result{Content: []content{{Type: "text", Text: "nothing to shout"}}, IsError: true}
	}
	out, _ := json.Marshal(res)
	pdk.Output(out)
	return 0
}

func main() {}
