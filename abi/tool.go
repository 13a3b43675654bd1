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
		if !ValidToolName(t.Name) {
			return nil, fmt.Errorf("describe: tools[%d].name %q must match [a-z][a-z0-9_]{0,63} and not be %q", i, t.Name, ExportDescribe)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("describe: tool %q appears twice", t.Name)
		}
		seen[t.Name] = true
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
