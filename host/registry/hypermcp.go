package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/wasm"
)

// hyper-mcp's v1 exports.
const (
	hyperMCPDescribe = abi.ExportDescribe
	hyperMCPCall     = "call"
)

// hyperMCPv1Tools asks a module that exports describe and call for its tools and, when they
// are hyper-mcp's (an MCP inputSchema instead of parameters), returns them under hermes names
// (hyphens become underscores) with the names the plugin publishes kept for the call. ok is
// false for a module that is not a hyper-mcp plugin.
func hyperMCPv1Tools(ctx context.Context, p *wasm.Plugin) (d *abi.Description, ok bool, err error) {
	out, err := p.Call(ctx, hyperMCPDescribe, nil)
	if err != nil {
		return nil, false, err
	}
	var published struct {
		Tools []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"tools"`
	}
	if json.Unmarshal(out, &published) != nil || len(published.Tools) == 0 {
		return nil, false, nil
	}
	tools := make([]abi.Tool, 0, len(published.Tools))
	for _, t := range published.Tools {
		if len(t.InputSchema) == 0 || len(t.Parameters) != 0 {
			return nil, false, nil
		}
		tools = append(tools, abi.Tool{Name: strings.ReplaceAll(t.Name, "-", "_"), Description: t.Description,
			Parameters: t.InputSchema, Export: hyperMCPCall, Protocol: abi.ProtocolHyperMCPv1, MCPName: t.Name})
	}
	b, err := json.Marshal(abi.Description{Tools: tools})
	if err != nil {
		return nil, true, err
	}
	d, err = abi.ParseDescription(b)
	if err != nil {
		return nil, true, &abi.Error{Code: abi.CodeBadPlugin, Plugin: p.Name(), Message: "hyper-mcp " + err.Error()}
	}
	return d, true, nil
}

// callHyperMCPv1 calls a hyper-mcp v1 tool: the arguments go in as {"params": {"name",
// "arguments"}}; the CallToolResult's text content is the result, isError a tool error.
func callHyperMCPv1(ctx context.Context, p *wasm.Plugin, tool abi.Tool, args []byte) ([]byte, error) {
	req, err := json.Marshal(map[string]any{"params": map[string]any{"name": tool.MCPName, "arguments": json.RawMessage(args)}})
	if err != nil {
		return nil, err
	}
	out, err := p.Call(ctx, hyperMCPCall, req)
	if err != nil {
		return nil, err
	}
	var res struct {
		Content []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			MimeType string `json:"mimeType"`
		} `json:"content"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, &abi.Error{Code: abi.CodeInvalidOutput, Plugin: p.Name(), Tool: tool.Name, Message: "call did not return an MCP CallToolResult {\"content\": [...]}: " + firstLine(err.Error())}
	}
	var parts []string
	for _, c := range res.Content {
		if c.Type == "text" {
			parts = append(parts, c.Text)
		} else {
			parts = append(parts, fmt.Sprintf("[%s content %s not shown]", c.Type, c.MimeType))
		}
	}
	text := strings.Join(parts, "\n")
	if res.IsError {
		return nil, &abi.Error{Code: abi.CodeToolError, Plugin: p.Name(), Tool: tool.Name, Message: text}
	}
	return json.Marshal(text)
}
