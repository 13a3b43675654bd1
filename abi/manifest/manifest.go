// Package manifest reads and validates a plugin's plugin.toml. It is separate from abi so
// that plugins, which import abi for the wire types, do not link a TOML parser.
package manifest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/hermes-agent/hermes/abi"
)

// File is the manifest's file name inside a plugin directory.
const File = "plugin.toml"

// MaxBytes bounds the manifest a host will read.
const MaxBytes = 64 << 10

// Manifest is a plugin's plugin.toml.
type Manifest struct {
	Name         string           `toml:"name" json:"name"`
	Version      string           `toml:"version" json:"version"`
	ABI          int              `toml:"abi" json:"abi"`
	Description  string           `toml:"description" json:"description"`
	Wasm         string           `toml:"wasm" json:"wasm"`
	SHA256       string           `toml:"sha256" json:"sha256,omitempty"`
	Capabilities abi.Capabilities `toml:"capabilities" json:"capabilities"`
	Limits       abi.Limits       `toml:"limits" json:"limits"`
	// Tools declares the tools of a module without a describe export (an unchanged Extism
	// plugin); see ToolDecl.
	Tools []ToolDecl `toml:"tools" json:"tools,omitempty"`
	// Config holds non-secret settings the module reads with config_get, shown in the review.
	// Secrets stay capabilities.env grants.
	Config map[string]string `toml:"config" json:"config,omitempty"`
}

// ToolDecl is one [[tools]] entry.
type ToolDecl struct {
	Name        string         `toml:"name" json:"name"`
	Export      string         `toml:"export" json:"export,omitempty"`
	Description string         `toml:"description" json:"description"`
	Input       string         `toml:"input" json:"input,omitempty"`
	Output      string         `toml:"output" json:"output,omitempty"`
	Parameters  map[string]any `toml:"parameters" json:"parameters,omitempty"`
}

// Bounds on [config].
const (
	MaxConfigKeys  = 64
	MaxConfigValue = 4096
)

var configKeyRe = lazyRegexp(`^[A-Za-z0-9_.-]{1,128}$`)

// DeclaredTools is the description [[tools]] declares, checked as describe's output is.
// It is nil when the manifest declares no tools.
func (m *Manifest) DeclaredTools() (*abi.Description, error) {
	if len(m.Tools) == 0 {
		return nil, nil
	}
	d := abi.Description{Tools: make([]abi.Tool, 0, len(m.Tools))}
	for i, t := range m.Tools {
		// The export is always recorded: a declared tool's name is the one the module
		// publishes, hyphens and all.
		tool := abi.Tool{Name: t.Name, Description: t.Description, Export: cmp.Or(t.Export, t.Name), Input: t.Input, Output: t.Output}
		switch {
		case t.Input == abi.IOText && t.Parameters != nil:
			return nil, &Error{Field: fmt.Sprintf("tools[%d].parameters", i), Reason: `not allowed with input = "text" (the tool takes one string argument, "input")`}
		case t.Input == abi.IOText:
			tool.Parameters = abi.TextInputSchema
		case t.Parameters == nil:
			tool.Parameters = json.RawMessage(`{"type":"object"}`)
		default:
			b, err := json.Marshal(t.Parameters)
			if err != nil {
				return nil, &Error{Field: fmt.Sprintf("tools[%d].parameters", i), Reason: err.Error()}
			}
			tool.Parameters = b
		}
		d.Tools = append(d.Tools, tool)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, &Error{Field: "tools", Reason: err.Error()}
	}
	parsed, err := abi.ParseDescription(b)
	if err != nil {
		return nil, &Error{Field: "tools", Reason: strings.TrimPrefix(err.Error(), "describe: ")}
	}
	return parsed, nil
}

func validateConfig(m *Manifest) error {
	if len(m.Config) > MaxConfigKeys {
		return &Error{Field: "config", Reason: fmt.Sprintf("%d settings, more than %d", len(m.Config), MaxConfigKeys)}
	}
	for k, v := range m.Config {
		if !configKeyRe().MatchString(k) {
			return &Error{Field: "config", Reason: fmt.Sprintf("%q is not a setting name ([A-Za-z0-9_.-], at most 128)", k)}
		}
		if len(v) > MaxConfigValue || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			return &Error{Field: "config." + k, Reason: fmt.Sprintf("must be text of at most %d bytes without control characters", MaxConfigValue)}
		}
		if slices.Contains(m.Capabilities.Env, k) {
			return &Error{Field: "config." + k, Reason: "is also a capabilities.env grant; a key is either a setting or a secret"}
		}
	}
	return nil
}

var (
	pluginNameRe = lazyRegexp(`^[a-z][a-z0-9-]{0,39}$`)
	envNameRe    = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	semverRe     = lazyRegexp(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	hexSHA256Re  = lazyRegexp(`^[0-9a-f]{64}$`)
	hostLabelRe  = lazyRegexp(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Error is a manifest problem. Field names the offending key ("capabilities.http[1]").
type Error struct {
	Field  string
	Reason string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "plugin.toml: " + e.Reason
	}
	return "plugin.toml: " + e.Field + ": " + e.Reason
}

// VersionError reports a manifest written for another ABI version.
type VersionError struct{ Host, Plugin int }

func (e *VersionError) Error() string {
	return fmt.Sprintf("plugin.toml: abi: ABI version mismatch, host: %d, plugin: %d (rebuild the plugin against hermes ABI %d)", e.Host, e.Plugin, e.Host)
}

// Parse decodes and validates a plugin.toml. Unknown keys are errors.
func Parse(data []byte) (*Manifest, error) {
	if len(data) > MaxBytes {
		return nil, &Error{Reason: fmt.Sprintf("file is %d bytes, larger than %d", len(data), MaxBytes)}
	}
	var m Manifest
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&m)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return nil, &Error{Reason: fmt.Sprintf("line %d: %s", perr.Position.Line, perr.Message)}
		}
		return nil, &Error{Reason: oneLine(err.Error())}
	}
	for _, k := range md.Undecoded() {
		// A tool's parameters are a JSON Schema, decoded as a whole (the decoder lists its
		// inner keys as undecoded).
		if len(k) > 2 && k[0] == "tools" && k[1] == "parameters" {
			continue
		}
		return nil, &Error{Field: k.String(), Reason: "unknown key (see abi/README.md for the manifest's keys)"}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks every field; the first problem is returned as a *Error or *VersionError.
func (m *Manifest) Validate() error {
	if m.ABI != abi.Version {
		if m.ABI == 0 {
			return &Error{Field: "abi", Reason: fmt.Sprintf("missing; this host speaks ABI %d", abi.Version)}
		}
		return &VersionError{Host: abi.Version, Plugin: m.ABI}
	}
	if !pluginNameRe().MatchString(m.Name) {
		return &Error{Field: "name", Reason: fmt.Sprintf("%q must match [a-z][a-z0-9-]{0,39}", m.Name)}
	}
	if !semverRe().MatchString(m.Version) {
		return &Error{Field: "version", Reason: fmt.Sprintf("%q is not a semantic version like 1.2.3", m.Version)}
	}
	if strings.TrimSpace(m.Description) == "" {
		return &Error{Field: "description", Reason: "missing"}
	}
	if len(m.Description) > 1024 {
		return &Error{Field: "description", Reason: "longer than 1024 bytes"}
	}
	if m.Wasm == "" || strings.ContainsAny(m.Wasm, `/\`) || m.Wasm == "." || m.Wasm == ".." || !strings.HasSuffix(m.Wasm, ".wasm") {
		return &Error{Field: "wasm", Reason: fmt.Sprintf("%q must be a .wasm file name in the plugin directory", m.Wasm)}
	}
	if m.SHA256 != "" && !hexSHA256Re().MatchString(m.SHA256) {
		return &Error{Field: "sha256", Reason: "must be 64 lowercase hex digits"}
	}
	if err := validateCapabilities(m.Capabilities); err != nil {
		return err
	}
	if err := validateConfig(m); err != nil {
		return err
	}
	if _, err := m.DeclaredTools(); err != nil {
		return err
	}
	return validateLimits(m.Limits)
}

func validateCapabilities(c abi.Capabilities) error {
	for i, h := range c.HTTP {
		if err := ValidateHTTPAllow(h); err != nil {
			return &Error{Field: fmt.Sprintf("capabilities.http[%d]", i), Reason: err.Error()}
		}
	}
	for _, list := range []struct {
		name    string
		entries []string
	}{{"capabilities.fs_read", c.FSRead}, {"capabilities.fs_write", c.FSWrite}} {
		for i, p := range list.entries {
			if err := validateFSEntry(p); err != nil {
				return &Error{Field: fmt.Sprintf("%s[%d]", list.name, i), Reason: err.Error()}
			}
		}
	}
	guests := map[string]string{}
	for _, entry := range append(slices.Clone(c.FSRead), c.FSWrite...) {
		g := c.GuestPath(entry)
		if other, ok := guests[g]; ok && other != entry {
			return &Error{Field: "capabilities", Reason: fmt.Sprintf("%s and %s would both be seen at %s", other, entry, g)}
		}
		guests[g] = entry
	}
	for _, entry := range slices.Sorted(maps.Keys(c.Mounts)) {
		g := c.Mounts[entry]
		field := "capabilities.mounts." + entry
		switch {
		case !slices.Contains(c.FSRead, entry) && !slices.Contains(c.FSWrite, entry):
			return &Error{Field: field, Reason: "is not a directory of fs_read or fs_write"}
		case !strings.HasPrefix(g, "/") || path.Clean(g) != g || g == "/":
			return &Error{Field: field, Reason: fmt.Sprintf("%q must be a clean absolute path other than /", g)}
		}
	}
	for i, k := range c.Env {
		if !envNameRe().MatchString(k) {
			return &Error{Field: fmt.Sprintf("capabilities.env[%d]", i), Reason: fmt.Sprintf("%q is not a variable name", k)}
		}
	}
	return nil
}

func validateLimits(l abi.Limits) error {
	switch {
	case l.MemoryPages > 65536:
		return &Error{Field: "limits.memory_pages", Reason: "at most 65536 (4 GiB)"}
	case l.Timeout < 0:
		return &Error{Field: "limits.timeout", Reason: "must be positive"}
	case l.OutputBytes < 0:
		return &Error{Field: "limits.output_bytes", Reason: "must be positive"}
	case l.HTTPResponseBytes < 0:
		return &Error{Field: "limits.http_response_bytes", Reason: "must be positive"}
	case l.FSWriteBytes < 0:
		return &Error{Field: "limits.fs_write_bytes", Reason: "must be positive"}
	case l.DataBytes < 0:
		return &Error{Field: "limits.data_bytes", Reason: "must be positive"}
	case l.KVBytes < 0:
		return &Error{Field: "limits.kv_bytes", Reason: "must be positive"}
	}
	return nil
}

// ValidateHTTPAllow checks one http allow-list entry: a host name, "*." + host name, or an IP
// literal, each with an optional ":port".
func ValidateHTTPAllow(entry string) error {
	host, port, err := SplitHostPort(entry)
	if err != nil {
		return err
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: port must be 1-65535", entry)
		}
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	name := strings.TrimPrefix(host, "*.")
	if strings.Contains(name, "*") {
		return fmt.Errorf("%q: a wildcard may only be a leading \"*.\"", entry)
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if !hostLabelRe().MatchString(label) {
			return fmt.Errorf("%q is not a lowercase host name", entry)
		}
	}
	if strings.HasPrefix(host, "*.") && len(labels) < 2 {
		return fmt.Errorf("%q: a wildcard needs at least two labels after it", entry)
	}
	return nil
}

// SplitHostPort splits an allow-list entry or URL host into host and (possibly empty) port,
// accepting "host", "host:port", "[v6]", "[v6]:port" and a bare IPv6 literal.
func SplitHostPort(s string) (host, port string, err error) {
	if s == "" {
		return "", "", errors.New("empty host")
	}
	if ip := net.ParseIP(s); ip != nil {
		return s, "", nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		return s[1 : len(s)-1], "", nil
	}
	if !strings.Contains(s, ":") {
		return s, "", nil
	}
	host, port, err = net.SplitHostPort(s)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	return host, port, nil
}

func validateFSEntry(p string) error {
	rest := p
	switch {
	case strings.HasPrefix(p, abi.PlaceholderWorkspace):
		rest = strings.TrimPrefix(p, abi.PlaceholderWorkspace)
	case strings.HasPrefix(p, abi.PlaceholderPluginData):
		rest = strings.TrimPrefix(p, abi.PlaceholderPluginData)
	case strings.HasPrefix(p, "/"):
		if p == "/" {
			return errors.New(`"/" (the whole file system) cannot be granted`)
		}
	case strings.HasPrefix(p, "{"):
		return fmt.Errorf("%q: unknown placeholder; use %s or %s", p, abi.PlaceholderWorkspace, abi.PlaceholderPluginData)
	default:
		return fmt.Errorf("%q must be absolute or start with %s or %s", p, abi.PlaceholderWorkspace, abi.PlaceholderPluginData)
	}
	if rest != "" && !strings.HasPrefix(rest, "/") {
		return fmt.Errorf("%q: a placeholder must be followed by '/' or nothing", p)
	}
	if rest != "" && path.Clean(rest) != rest || strings.Contains(p, "/../") || strings.HasSuffix(p, "/..") {
		return fmt.Errorf("%q is not a clean path (no '..', '.', '//' or trailing '/')", p)
	}
	return nil
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// lazyRegexp compiles pattern on first use rather than at start-up, which every command pays.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
