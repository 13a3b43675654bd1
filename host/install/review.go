package install

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hermes-agent/hermes/abi"
)

// WriteReview prints what the user is asked to grant: the plugin, who vouches for it, its
// tools and every capability in plain words, and for an update what changes.
func WriteReview(w io.Writer, p *Plan) {
	c, m := p.Candidate, p.Candidate.Manifest
	fmt.Fprintf(w, "Plugin:  %s %s", m.Name, m.Version)
	if p.Current != nil {
		fmt.Fprintf(w, " (installed: %s)", p.Current.Version)
	}
	fmt.Fprintf(w, "\n         %s\n", m.Description)
	fmt.Fprintf(w, "Source:  %s\n", c.Source)
	fmt.Fprintf(w, "Module:  %s (sha256 %s)\n", m.Wasm, c.Digest)
	fmt.Fprintf(w, "Signer:  %s\n", SignerLine(c.Signer, c.SignerKey))
	if p.SignerChanged {
		fmt.Fprintf(w, "         NOTE: the installed version was signed by %s\n", p.Current.Signer)
	}
	fmt.Fprintf(w, "Tools:\n")
	for _, t := range c.Tools {
		fmt.Fprintf(w, "  %-24s %s\n", m.Name+"."+t.Name, FirstSentence(t.Description))
	}
	if p.Current == nil {
		fmt.Fprintf(w, "It asks for:\n")
		writeList(w, m.Capabilities.Describe(), "nothing: no files, no network, no secrets")
	} else {
		fmt.Fprintf(w, "New permissions it asks for:\n")
		writeList(w, p.Added, "none")
		if len(p.Removed) > 0 {
			fmt.Fprintf(w, "Permissions it no longer needs (revoked):\n")
			writeList(w, p.Removed, "")
		}
	}
	if len(m.Config) > 0 {
		fmt.Fprintf(w, "Settings (plugin.toml [config], read by the plugin, not secret):\n")
		for _, k := range slices.Sorted(maps.Keys(m.Config)) {
			fmt.Fprintf(w, "  %s = %q\n", k, m.Config[k])
		}
	}
	for _, capability := range c.Refused {
		fmt.Fprintf(w, "  note: %s\n", RefusedLine(capability))
	}
	fmt.Fprintf(w, "Limits:  %s\n", LimitsLine(c.Limits))
	for _, note := range c.Capped {
		fmt.Fprintf(w, "  note: %s\n", note)
	}
}

// refusedWords names, per capability, what a module imports and which of its calls fail.
var refusedWords = map[abi.Capability][2]string{
	abi.CapHTTP: {"HTTP", "its requests"},
	abi.CapEnv:  {"secrets and settings (config_get)", "its reads of anything not in [config]"},
	abi.CapKV:   {"stored variables (var_get/var_set)", "its reads and writes"},
	abi.CapLog:  {"logging", "its log messages"},
	abi.CapExec: {"shell commands", "its commands"},
	// hyper-mcp v2's requests to the client
	abi.CapSampling:    {"sampling (create_message)", "its requests to the model"},
	abi.CapElicitation: {"elicitation (create_elicitation)", "its questions to you"},
	abi.CapRoots:       {"roots (list_roots)", "its requests for the client's folders"},
}

// RefusedLine says in plain words what happens to a capability a module imports but was not
// granted.
func RefusedLine(c abi.Capability) string {
	words, ok := refusedWords[c]
	if !ok {
		words = [2]string{string(c), "its calls"}
	}
	return fmt.Sprintf("imports %s but was not granted it: %s will be refused", words[0], words[1])
}

// SignerLine says who vouches for a plugin, the same way everywhere it is shown.
func SignerLine(signer, key string) string {
	switch {
	case signer != "":
		return fmt.Sprintf("%s (key %s)", signer, key)
	case key != "":
		return fmt.Sprintf("UNSIGNED — signed by key %s, which you have not trusted", key)
	}
	return "UNSIGNED — no signature; nothing vouches for these bytes"
}

// LimitsLine is a plugin's limits in one line.
func LimitsLine(l abi.Limits) string {
	return fmt.Sprintf("memory %d MiB, %s per call, output %s, HTTP responses %s, file writes %s per call, plugin data %s, kv %s",
		l.MemoryPages/16, l.Timeout, humanBytes(l.OutputBytes), humanBytes(l.HTTPResponseBytes),
		humanBytes(l.FSWriteBytes), humanBytes(l.DataBytes), humanBytes(l.KVBytes))
}

func writeList(w io.Writer, lines []string, empty string) {
	if len(lines) == 0 && empty != "" {
		lines = []string{empty}
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  - %s\n", l)
	}
}

// humanBytes says a size for people: exact when it is whole KiB or MiB (limits), else to a
// tenth (downloads, modules).
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// FirstSentence is the first line of s, cut to 70 characters: a tool's description, an
// argument list or a message in a one-line listing.
func FirstSentence(s string) string {
	if i := strings.IndexAny(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
}
