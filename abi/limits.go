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
}

// Limit names, as they appear in manifests and in limit errors.
const (
	LimitMemoryPages       = "memory_pages"
	LimitTimeout           = "timeout"
	LimitOutputBytes       = "output_bytes"
	LimitHTTPResponseBytes = "http_response_bytes"
)

// Within returns the limits that apply when l (from a manifest) meets ceiling (the user's
// defaults): each field is l's value when set and not above the ceiling, else the ceiling's.
// The second result names each field that was lowered to the ceiling.
func (l Limits) Within(ceiling Limits) (Limits, []string) {
	var capped []string
	out := ceiling
	if l.MemoryPages != 0 {
		if l.MemoryPages <= ceiling.MemoryPages {
			out.MemoryPages = l.MemoryPages
		} else {
			capped = append(capped, fmt.Sprintf("%s: asks %d, capped at %d", LimitMemoryPages, l.MemoryPages, ceiling.MemoryPages))
		}
	}
	if l.Timeout != 0 {
		if l.Timeout <= ceiling.Timeout {
			out.Timeout = l.Timeout
		} else {
			capped = append(capped, fmt.Sprintf("%s: asks %s, capped at %s", LimitTimeout, l.Timeout, ceiling.Timeout))
		}
	}
	if l.OutputBytes != 0 {
		if l.OutputBytes <= ceiling.OutputBytes {
			out.OutputBytes = l.OutputBytes
		} else {
			capped = append(capped, fmt.Sprintf("%s: asks %d, capped at %d", LimitOutputBytes, l.OutputBytes, ceiling.OutputBytes))
		}
	}
	if l.HTTPResponseBytes != 0 {
		if l.HTTPResponseBytes <= ceiling.HTTPResponseBytes {
			out.HTTPResponseBytes = l.HTTPResponseBytes
		} else {
			capped = append(capped, fmt.Sprintf("%s: asks %d, capped at %d", LimitHTTPResponseBytes, l.HTTPResponseBytes, ceiling.HTTPResponseBytes))
		}
	}
	return out, capped
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
