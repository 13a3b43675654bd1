package abi

import (
	"fmt"
	"strings"
	"time"
)

// Limits bound what one call of a plugin may consume. A zero field means "the host's default";
// a manifest may lower a default but never raise it (see [Limits.Within]).
type Limits struct {
	MemoryPages       uint32   `toml:"memory_pages" json:"memory_pages,omitempty"`
	Timeout           Duration `toml:"timeout" json:"timeout,omitempty"`
	OutputBytes       int64    `toml:"output_bytes" json:"output_bytes,omitempty"`
	HTTPResponseBytes int64    `toml:"http_response_bytes" json:"http_response_bytes,omitempty"`
	// FSWriteBytes bounds the bytes one call may write to files (writes, and growth by truncate).
	FSWriteBytes int64 `toml:"fs_write_bytes" json:"fs_write_bytes,omitempty"`
	// DataBytes bounds the total size of the plugin's {plugin_data} directory.
	DataBytes int64 `toml:"data_bytes" json:"data_bytes,omitempty"`
	// KVBytes bounds the total size (keys plus values) of the plugin's kv data.
	KVBytes int64 `toml:"kv_bytes" json:"kv_bytes,omitempty"`
}

// Limit names, as they appear in manifests and in limit errors.
const (
	LimitMemoryPages       = "memory_pages"
	LimitTimeout           = "timeout"
	LimitOutputBytes       = "output_bytes"
	LimitHTTPResponseBytes = "http_response_bytes"
	LimitFSWriteBytes      = "fs_write_bytes"
	LimitDataBytes         = "data_bytes"
	LimitKVBytes           = "kv_bytes"
)

// Within returns the limits that apply when l (from a manifest) meets ceiling (the user's
// defaults): each field is l's value when set and not above the ceiling, else the ceiling's.
// The second result names each field that was lowered to the ceiling.
func (l Limits) Within(ceiling Limits) (Limits, []string) {
	out := ceiling
	var capped []string
	lower(LimitMemoryPages, l.MemoryPages, &out.MemoryPages, &capped)
	lower(LimitTimeout, l.Timeout, &out.Timeout, &capped)
	lower(LimitOutputBytes, l.OutputBytes, &out.OutputBytes, &capped)
	lower(LimitHTTPResponseBytes, l.HTTPResponseBytes, &out.HTTPResponseBytes, &capped)
	lower(LimitFSWriteBytes, l.FSWriteBytes, &out.FSWriteBytes, &capped)
	lower(LimitDataBytes, l.DataBytes, &out.DataBytes, &capped)
	lower(LimitKVBytes, l.KVBytes, &out.KVBytes, &capped)
	return out, capped
}

// lower sets *limit to asked when asked is set and not above *limit; a higher ask is noted.
func lower[T uint32 | int64 | Duration](name string, asked T, limit *T, capped *[]string) {
	switch {
	case asked == 0:
	case asked <= *limit:
		*limit = asked
	default:
		*capped = append(*capped, fmt.Sprintf("%s: asks %v, capped at %v", name, asked, *limit))
	}
}

// Duration is a time.Duration written as a string ("10s", "1m30s") in TOML and JSON.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("not a duration like \"10s\": %q", text)
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// GuestPath is where a validated fs entry appears inside the plugin.
func GuestPath(entry string) string {
	switch {
	case strings.HasPrefix(entry, PlaceholderWorkspace):
		return GuestWorkspace + strings.TrimPrefix(entry, PlaceholderWorkspace)
	case strings.HasPrefix(entry, PlaceholderPluginData):
		return GuestPluginData + strings.TrimPrefix(entry, PlaceholderPluginData)
	}
	return entry
}

// ValidToolName reports whether name is an acceptable tool (and export) name:
// [a-z][a-z0-9_]{0,63}, and not "describe" or "memory".
func ValidToolName(name string) bool {
	if len(name) == 0 || len(name) > 64 || name[0] < 'a' || name[0] > 'z' || name == ExportDescribe || name == "memory" {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidPublishedToolName reports whether name is acceptable as the name a third-party module
// publishes for a tool (a hyper-mcp tool, a tool of plugin.toml's [[tools]]): 1 to 64 of
// [A-Za-z0-9_-], kept as published ("crypto-price"), since MCP tool names and OpenAI function
// names both allow them.
func ValidPublishedToolName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
