package abi

import (
	"fmt"
	"strings"
)

// Capability names a group of host functions (or WASI preopens) a plugin may be granted.
// Every capability is denied unless the manifest declares it and the user granted it.
type Capability string

const (
	CapHTTP    Capability = "http"
	CapFSRead  Capability = "fs_read"
	CapFSWrite Capability = "fs_write"
	CapEnv     Capability = "env"
	CapKV      Capability = "kv"
	CapLog     Capability = "log"
	CapExec    Capability = "exec"
	// The capabilities of hyper-mcp's v2 imports that reach the model or the user through
	// the client a call was made for (hermes mcp serve's MCP client).
	CapSampling    Capability = "sampling"    // create_message: ask the client's model
	CapElicitation Capability = "elicitation" // create_elicitation: ask the user a question
	CapRoots       Capability = "roots"       // list_roots: the folders the client shares
)

// AllCapabilities lists every capability in the order they are shown to users.
var AllCapabilities = []Capability{CapHTTP, CapFSRead, CapFSWrite, CapEnv, CapKV, CapLog, CapExec, CapSampling, CapElicitation, CapRoots}

// Placeholders allowed at the start of fs_read / fs_write entries.
const (
	// PlaceholderWorkspace is the agent's working directory; plugins see it at /workspace.
	PlaceholderWorkspace = "{workspace}"
	// PlaceholderPluginData is a directory private to the plugin; plugins see it at /data.
	PlaceholderPluginData = "{plugin_data}"
)

// Guest paths where placeholder directories are mounted.
const (
	GuestWorkspace  = "/workspace"
	GuestPluginData = "/data"
)

// Capabilities is the [capabilities] table of a manifest. The zero value grants nothing.
type Capabilities struct {
	HTTP    []string `toml:"http" json:"http,omitempty"`
	FSRead  []string `toml:"fs_read" json:"fs_read,omitempty"`
	FSWrite []string `toml:"fs_write" json:"fs_write,omitempty"`
	Env     []string `toml:"env" json:"env,omitempty"`
	KV      bool     `toml:"kv" json:"kv,omitempty"`
	Log     bool     `toml:"log" json:"log,omitempty"`
	Exec    bool     `toml:"exec" json:"exec,omitempty"`
	// Sampling, Elicitation and Roots are for hyper-mcp v2 plugins: create_message,
	// create_elicitation and list_roots, forwarded to the MCP client of hermes mcp serve.
	Sampling    bool `toml:"sampling" json:"sampling,omitempty"`
	Elicitation bool `toml:"elicitation" json:"elicitation,omitempty"`
	Roots       bool `toml:"roots" json:"roots,omitempty"`
	// Mounts says where the plugin sees a directory of fs_read or fs_write that it does not
	// see at its own path: entry → absolute guest path (an Extism manifest's allowed_paths
	// map a host directory to a guest path). It grants nothing by itself.
	Mounts map[string]string `toml:"mounts" json:"mounts,omitempty"`
}

// GuestPath is where the plugin sees the directory of a validated fs entry.
func (c Capabilities) GuestPath(entry string) string {
	if g, ok := c.Mounts[entry]; ok {
		return g
	}
	return GuestPath(entry)
}

// Has reports whether c includes capability name.
func (c Capabilities) Has(name Capability) bool {
	switch name {
	case CapHTTP:
		return len(c.HTTP) > 0
	case CapFSRead:
		return len(c.FSRead) > 0
	case CapFSWrite:
		return len(c.FSWrite) > 0
	case CapEnv:
		return len(c.Env) > 0
	case CapKV:
		return c.KV
	case CapLog:
		return c.Log
	case CapExec:
		return c.Exec
	case CapSampling:
		return c.Sampling
	case CapElicitation:
		return c.Elicitation
	case CapRoots:
		return c.Roots
	}
	return false
}

// Empty reports whether c grants nothing at all.
func (c Capabilities) Empty() bool {
	for _, name := range AllCapabilities {
		if c.Has(name) {
			return false
		}
	}
	return true
}

// Describe returns one plain-language line per capability, as a user should read it before
// granting: "may send HTTP requests to api.example.com".
func (c Capabilities) Describe() []string {
	var lines []string
	if len(c.HTTP) > 0 {
		lines = append(lines, "may send HTTP requests to "+joinList(c.HTTP))
	}
	if len(c.FSRead) > 0 {
		lines = append(lines, "may read files in "+joinList(c.placesOf(c.FSRead)))
	}
	if len(c.FSWrite) > 0 {
		lines = append(lines, "may read and write files in "+joinList(c.placesOf(c.FSWrite)))
	}
	if len(c.Env) > 0 {
		lines = append(lines, "may read the secrets/settings "+joinList(c.Env))
	}
	return append(lines, c.switches()...)
}

// Grants is Describe with one line per host, directory and key, so two sets of capabilities
// can be compared line by line: what an update adds, what it takes away.
func (c Capabilities) Grants() []string {
	var lines []string
	for _, h := range c.HTTP {
		lines = append(lines, "may send HTTP requests to "+h)
	}
	for _, d := range c.FSRead {
		lines = append(lines, "may read files in "+c.place(d))
	}
	for _, d := range c.FSWrite {
		lines = append(lines, "may read and write files in "+c.place(d))
	}
	for _, k := range c.Env {
		lines = append(lines, "may read the secret/setting "+k)
	}
	return append(lines, c.switches()...)
}

func (c Capabilities) switches() []string {
	var lines []string
	if c.KV {
		lines = append(lines, "may keep its own persistent key-value data")
	}
	if c.Log {
		lines = append(lines, "may write messages to hermes' log")
	}
	if c.Exec {
		lines = append(lines, "may run shell commands in the sandbox (approval rules apply)")
	}
	if c.Sampling {
		lines = append(lines, "may ask your MCP client's model to write text, sending it what it chooses (create_message)")
	}
	if c.Elicitation {
		lines = append(lines, "may ask you questions through your MCP client (create_elicitation)")
	}
	if c.Roots {
		lines = append(lines, "may see which folders your MCP client shares (list_roots)")
	}
	return lines
}

// place says a directory entry of fs_read/fs_write in words a user reads at a permission
// prompt: "{workspace}/docs" is "your workspace's docs/ directory".
func place(entry string) string {
	for _, p := range []struct{ prefix, whole, sub string }{
		{PlaceholderWorkspace, "your workspace", "your workspace's %s/ directory"},
		{PlaceholderPluginData, "its own data directory", "its own data directory's %s/"},
	} {
		if rest, ok := strings.CutPrefix(entry, p.prefix); ok {
			rest = strings.Trim(rest, "/")
			if rest == "" {
				return p.whole
			}
			return fmt.Sprintf(p.sub, rest)
		}
	}
	return entry
}

// place is place(entry) and, for a directory the plugin sees elsewhere, where.
func (c Capabilities) place(entry string) string {
	if g, ok := c.Mounts[entry]; ok {
		return fmt.Sprintf("%s (which it sees as %s)", place(entry), g)
	}
	return place(entry)
}

func (c Capabilities) placesOf(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = c.place(e)
	}
	return out
}

func joinList(items []string) string {
	out := ""
	for i, s := range items {
		switch {
		case i == 0:
		case i == len(items)-1:
			out += " and "
		default:
			out += ", "
		}
		out += s
	}
	return out
}
