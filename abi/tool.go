package abi

import (
	"encoding/json"
	"fmt"
)

// Bounds on what describe may return.
const (
	MaxTools            = 64
	MaxDescriptionBytes = 256 << 10
	MaxToolDescription  = 4096
)

// Tool describes one tool: its name (unique within the plugin), what it does, and the JSON
// Schema of its arguments object.
type Tool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
	// Export, Input and Output are set for tools declared in plugin.toml's [[tools]] (modules
	// without describe, such as unchanged Extism plugins): the export called (default: Name),
	// and IOText where the module takes its input or gives its output as plain text.
	Export string `json:"export,omitempty"`
	Input  string `json:"input,omitempty"`
	Output string `json:"output,omitempty"`
	// Protocol is set for a hyper-mcp plugin's tools (ProtocolHyperMCPv1 or v2); MCPName is
	// then the tool's name as the plugin publishes it ("crypto-price"), which is also its
	// hermes name (plugins added before names were kept had hyphens turned into underscores;
	// their recorded tools keep MCPName for the call).
	Protocol string `json:"protocol,omitempty"`
	MCPName  string `json:"mcp_name,omitempty"`
}

// ProtocolHyperMCPv1 is hyper-mcp's first plugin protocol: describe lists the tools with an
// MCP inputSchema; call takes {"params": {"name", "arguments"}} and returns an MCP
// CallToolResult.
const ProtocolHyperMCPv1 = "hyper-mcp/v1"

// ProtocolHyperMCPv2 is hyper-mcp's second plugin protocol, the XTP schema
// xtp-plugin-schema.json: list_tools takes {"context"} and returns {"tools": [...]} with MCP
// inputSchemas; call_tool takes {"request": {"name", "arguments"}, "context": {"id", "_meta"}}
// and returns an MCP CallToolResult; the plugin may import the host functions of its schema
// (notify_logging_message, notify_progress, create_message, ...) from extism:host/user.
const ProtocolHyperMCPv2 = "hyper-mcp/v2"

// The exports by which a module is recognized as a hyper-mcp plugin.
const (
	ExportHyperMCPCall      = "call"
	ExportHyperMCPListTools = "list_tools"
	ExportHyperMCPCallTool  = "call_tool"
)

// HyperMCPProtocol is the hyper-mcp protocol a module's exports follow, as hyper-mcp itself
// tells them apart: v1 exports describe and call, v2 list_tools and call_tool; "" for neither.
// Such modules import host functions they may never call, so their ungranted imports are
// linked to functions that refuse (as for Extism-convention modules).
func HyperMCPProtocol(exports func(name string) bool) string {
	switch {
	case exports(ExportDescribe) && exports(ExportHyperMCPCall):
		return ProtocolHyperMCPv1
	case exports(ExportHyperMCPListTools) && exports(ExportHyperMCPCallTool):
		return ProtocolHyperMCPv2
	}
	return ""
}

// How a tool takes its input and gives its output.
const (
	IOJSON = "json" // the arguments object / a JSON value (the default)
	IOText = "text" // the string argument "input" as raw bytes / any bytes, returned as a JSON string
)

// TextInputSchema is the parameters schema of a tool whose input is text.
var TextInputSchema = json.RawMessage(`{"type":"object","properties":{"input":{"type":"string","description":"the text the tool works on"}},"required":["input"],"additionalProperties":false}`)

// ExportName is the module export that runs the tool.
func (t Tool) ExportName() string {
	if t.Export != "" {
		return t.Export
	}
	return t.Name
}

// Description is what a plugin's describe export returns.
type Description struct {
	Tools []Tool `json:"tools"`
}

// ParseDescription decodes and checks describe's output: JSON shape, tool names, uniqueness and
// that each schema is an object schema. Compiling the schemas is left to the host.
func ParseDescription(data []byte) (*Description, error) {
	if len(data) > MaxDescriptionBytes {
		return nil, fmt.Errorf("describe returned %d bytes, more than %d", len(data), MaxDescriptionBytes)
	}
	var d Description
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("describe did not return the JSON {\"tools\": [...]}: %v", err)
	}
	if len(d.Tools) == 0 {
		return nil, fmt.Errorf("describe returned no tools")
	}
	if len(d.Tools) > MaxTools {
		return nil, fmt.Errorf("describe returned %d tools, more than %d", len(d.Tools), MaxTools)
	}
	seen := map[string]bool{}
	for i, t := range d.Tools {
		switch published := t.Protocol != "" || t.Export != ""; {
		case published && !ValidPublishedToolName(t.Name):
			return nil, fmt.Errorf("describe: tools[%d].name %q must be 1-64 of [A-Za-z0-9_-]", i, t.Name)
		case !published && !ValidToolName(t.Name):
			return nil, fmt.Errorf("describe: tools[%d].name %q must match [a-z][a-z0-9_]{0,63} and not be %q", i, t.Name, ExportDescribe)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("describe: tool %q appears twice", t.Name)
		}
		seen[t.Name] = true
		for _, io := range [][2]string{{"input", t.Input}, {"output", t.Output}} {
			if io[1] != "" && io[1] != IOJSON && io[1] != IOText {
				return nil, fmt.Errorf("describe: tool %q: %s must be %q or %q, not %q", t.Name, io[0], IOJSON, IOText, io[1])
			}
		}
		// _start is a tool export only for a WASI command whose main is the plugin (go-pdk with
		// the standard Go compiler); it runs once per instance, as under Extism.
		if t.Protocol != "" && t.Protocol != ProtocolHyperMCPv1 && t.Protocol != ProtocolHyperMCPv2 {
			return nil, fmt.Errorf("describe: tool %q: unknown protocol %q", t.Name, t.Protocol)
		}
		if t.Export != "" && t.Export != ExportStart && (t.Export == ExportDescribe || t.Export[0] == '_' || len(t.Export) > 64) {
			return nil, fmt.Errorf("describe: tool %q: export %q is not a tool export", t.Name, t.Export)
		}
		if t.Description == "" || len(t.Description) > MaxToolDescription {
			return nil, fmt.Errorf("describe: tool %q needs a description of 1-%d bytes", t.Name, MaxToolDescription)
		}
		var schema struct {
			Type any `json:"type"`
		}
		if len(t.Parameters) == 0 {
			return nil, fmt.Errorf("describe: tool %q has no parameters schema", t.Name)
		}
		if err := json.Unmarshal(t.Parameters, &schema); err != nil {
			return nil, fmt.Errorf("describe: tool %q: parameters is not a JSON object: %v", t.Name, err)
		}
		if schema.Type != "object" {
			return nil, fmt.Errorf("describe: tool %q: parameters must be a schema with \"type\": \"object\"", t.Name)
		}
	}
	return &d, nil
}
