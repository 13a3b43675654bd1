// Command hypermcpv2 is a hyper-mcp plugin of the second protocol, written with Extism's go-pdk
// against hyper-mcp's published XTP schema (xtp-plugin-schema.json): list_tools takes
// {context} and returns {tools:[{name, description, inputSchema}]}; call_tool takes {request:
// {name, arguments}, context: {id, _meta}} and returns an MCP CallToolResult. Its tools use the
// schema's imports from extism:host/user: notify_logging_message and notify_progress, and
// create_message, create_elicitation and list_roots, which reach the client's model or user.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hypermcp-v2.wasm .
package main

import (
	"encoding/json"
	"strings"

	"github.com/extism/go-pdk"
)

//go:wasmimport extism:host/user notify_logging_message
func notifyLoggingMessage(uint64)

//go:wasmimport extism:host/user notify_progress
func notifyProgress(uint64)

//go:wasmimport extism:host/user create_message
func createMessage(uint64) uint64

//go:wasmimport extism:host/user create_elicitation
func createElicitation(uint64) uint64

//go:wasmimport extism:host/user list_roots
func listRoots() uint64

// send passes v as JSON to a host function taking one argument.
func send(f func(uint64), v any) {
	b, _ := json.Marshal(v)
	mem := pdk.AllocateBytes(b)
	f(mem.Offset())
	mem.Free()
}

// ask passes v as JSON to a host function and returns its JSON answer.
func ask(f func(uint64) uint64, v any) []byte {
	b, _ := json.Marshal(v)
	mem := pdk.AllocateBytes(b)
	defer mem.Free()
	answer := pdk.FindMemory(f(mem.Offset()))
	return answer.ReadBytes()
}

const textArg = `{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`

//go:wasmexport list_tools
func list_tools() int32 {
	pdk.OutputString(`{"tools":[` +
		`{"name":"shout-text","description":"Upper-cases a text, logging and reporting progress","inputSchema":` + textArg + `},` +
		`{"name":"ask-model","title":"Asks the client's model to answer a text","inputSchema":` + textArg + `},` +
		`{"name":"ask-user","description":"Asks the user a question through the client","inputSchema":` + textArg + `},` +
		`{"name":"roots","description":"Lists the folders the client shares","inputSchema":{"type":"object"}}]}`)
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

//go:wasmexport call_tool
func call_tool() int32 {
	var in struct {
		Request struct {
			Name      string         `json:"name"`
			Arguments map[string]any `json:"arguments"`
		} `json:"request"`
		Context struct {
			ID   string         `json:"id"`
			Meta map[string]any `json:"_meta"`
		} `json:"context"`
	}
	if err := pdk.InputJSON(&in); err != nil {
		pdk.SetError(err)
		return 1
	}
	text, _ := in.Request.Arguments["text"].(string)
	var res result
	switch in.Request.Name {
	case "shout-text":
		if in.Context.ID == "" {
			res = result{Content: []content{{"text", "call_tool got no context id"}}, IsError: true}
			break
		}
		send(notifyLoggingMessage, map[string]any{"level": "info", "logger": "shout", "data": "shouting " + text})
		if token, ok := in.Context.Meta["progressToken"]; ok {
			send(notifyProgress, map[string]any{"progressToken": token, "progress": 1, "total": 1, "message": "shouted"})
		}
		res = result{Content: []content{{"text", strings.ToUpper(text)}}}
		if text == "" {
			res = result{Content: []content{{"text", "nothing to shout"}}, IsError: true}
		}
	case "ask-model":
		var msg struct {
			Content content `json:"content"`
			Model   string  `json:"model"`
		}
		out := ask(createMessage, map[string]any{"maxTokens": 100,
			"messages": []any{map[string]any{"role": "user", "content": content{"text", text}}}})
		_ = json.Unmarshal(out, &msg)
		res = result{Content: []content{{"text", msg.Model + " says: " + msg.Content.Text}}}
	case "ask-user":
		var answer struct {
			Action  string         `json:"action"`
			Content map[string]any `json:"content"`
		}
		out := ask(createElicitation, map[string]any{"message": text, "requestedSchema": map[string]any{
			"type": "object", "properties": map[string]any{"answer": map[string]any{"type": "string"}}}})
		_ = json.Unmarshal(out, &answer)
		reply, _ := answer.Content["answer"].(string)
		res = result{Content: []content{{"text", answer.Action + ": " + reply}}}
	case "roots":
		roots := pdk.FindMemory(listRoots())
		res = result{Content: []content{{"text", string(roots.ReadBytes())}}}
	default:
		res = result{Content: []content{{"text", "no such tool: " + in.Request.Name}}, IsError: true}
	}
	out, _ := json.Marshal(res)
	pdk.Output(out)
	return 0
}

func main() {}
