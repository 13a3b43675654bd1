package registry

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/wasm"
)

// hyperMCPTools asks a hyper-mcp module for its tools: v1's describe, v2's list_tools (with a
// request context). The tools keep the names the plugin publishes ("shout-text"). ok is false
// for a v1-looking module whose describe is not hyper-mcp's (an MCP inputSchema instead of
// parameters): a hermes plugin with a tool named call.
func hyperMCPTools(ctx context.Context, p *wasm.Plugin, protocol string) (d *abi.Description, ok bool, err error) {
	export, input := abi.ExportDescribe, []byte(nil)
	if protocol == abi.ProtocolHyperMCPv2 {
		export = abi.ExportHyperMCPListTools
		if input, err = json.Marshal(map[string]any{"context": requestContext(ctx)}); err != nil {
			return nil, true, err
		}
	}
	out, err := p.Call(ctx, export, input)
	if err != nil {
		return nil, protocol == abi.ProtocolHyperMCPv2, err
	}
	var published struct {
		Tools []struct {
			Name        string          `json:"name"`
			Title       string          `json:"title"`
			Description string          `json:"description"`
			InputSchema json.RawMessage `json:"inputSchema"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(out, &published); err != nil || len(published.Tools) == 0 {
		if protocol == abi.ProtocolHyperMCPv2 {
			return nil, true, &abi.Error{Code: abi.CodeBadPlugin, Plugin: p.Name(), Message: "list_tools did not return an MCP ListToolsResult {\"tools\": [...]} with at least one tool"}
		}
		return nil, false, nil
	}
	export = abi.ExportHyperMCPCall
	if protocol == abi.ProtocolHyperMCPv2 {
		export = abi.ExportHyperMCPCallTool
	}
	tools := make([]abi.Tool, 0, len(published.Tools))
	for _, t := range published.Tools {
		if protocol == abi.ProtocolHyperMCPv1 && (len(t.InputSchema) == 0 || len(t.Parameters) != 0) {
			return nil, false, nil
		}
		schema := t.InputSchema
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		// MCP's description is optional; hermes shows the model one.
		tools = append(tools, abi.Tool{Name: t.Name, Description: cmp.Or(t.Description, t.Title, t.Name),
			Parameters: schema, Export: export, Protocol: protocol, MCPName: t.Name})
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

// requestContext is the context hyper-mcp passes a v2 plugin: the request's id and _meta (the
// MCP client's, with its progressToken, under hermes mcp serve).
func requestContext(ctx context.Context) map[string]any {
	var id [8]byte
	_, _ = rand.Read(id[:])
	meta := json.RawMessage(`{}`)
	if c := wasm.ClientOf(ctx); c != nil {
		if m := c.Meta(); len(m) > 0 && json.Valid(m) {
			meta = m
		}
	}
	return map[string]any{"id": hex.EncodeToString(id[:]), "_meta": meta}
}

// callHyperMCP calls a hyper-mcp tool: v1 as {"params": {"name", "arguments"}} to call, v2 as
// {"request": {"name", "arguments"}, "context": {"id", "_meta"}} to call_tool. The
// CallToolResult's text content is the result, isError a tool error.
func callHyperMCP(ctx context.Context, p *wasm.Plugin, tool abi.Tool, args []byte) ([]byte, error) {
	request := map[string]any{"name": tool.MCPName, "arguments": json.RawMessage(args)}
	input := map[string]any{"params": request}
	if tool.Protocol == abi.ProtocolHyperMCPv2 {
		input = map[string]any{"request": request, "context": requestContext(ctx)}
	}
	req, err := json.Marshal(input)
	if err != nil {
		return nil, err
	}
	out, err := p.Call(ctx, tool.ExportName(), req)
	if err != nil {
		return nil, err
	}
	var res struct {
		Content []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			MimeType string `json:"mimeType"`
		} `json:"content"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		IsError           bool            `json:"isError"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, &abi.Error{Code: abi.CodeInvalidOutput, Plugin: p.Name(), Tool: tool.Name, Message: tool.ExportName() + " did not return an MCP CallToolResult {\"content\": [...]}: " + firstLine(err.Error())}
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
	if len(parts) == 0 && len(res.StructuredContent) > 0 && string(res.StructuredContent) != "null" {
		return res.StructuredContent, nil
	}
	return json.Marshal(text)
}
