package manifest

import (
	"errors"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
)

const valid = `
name = "weather"
version = "1.2.0-rc.1+build.5"
abi = 1
description = "Current weather"
wasm = "weather.wasm"

[capabilities]
http = ["api.example.com", "*.example.org:8443", "127.0.0.1:8080", "[::1]:9000"]
fs_read = ["{workspace}", "{workspace}/docs", "/srv/shared"]
fs_write = ["{plugin_data}"]
env = ["OPENWEATHER_API_KEY"]
kv = true
log = true

[limits]
memory_pages = 64
timeout = "5s"
output_bytes = 1000
`

func TestParseValid(t *testing.T) {
	m, err := Parse([]byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "weather" || !m.Capabilities.Has(abi.CapHTTP) || m.Capabilities.Has(abi.CapExec) || m.Limits.Timeout.String() != "5s" {
		t.Fatalf("parsed %+v", m)
	}
	if lines := m.Capabilities.Describe(); len(lines) != 6 || !strings.Contains(lines[0], "api.example.com") {
		t.Fatalf("describe: %q", lines)
	}
	// A directory the plugin sees elsewhere (an Extism manifest's allowed_paths) says where.
	m, err = Parse([]byte(edit(valid, "[capabilities]\nmounts = { \"/srv/shared\" = \"/mnt\" }")))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Capabilities.GuestPath("/srv/shared"); got != "/mnt" || m.Capabilities.GuestPath("{workspace}/docs") != "/workspace/docs" {
		t.Fatalf("guest path %q", got)
	}
	if lines := m.Capabilities.Grants(); !strings.Contains(strings.Join(lines, "\n"), "may read files in /srv/shared (which it sees as /mnt)") {
		t.Fatalf("grants: %q", lines)
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name, edit, field string
	}{
		{"unknown top-level key", `sudo = true`, "sudo"},
		{"unknown capability", "[capabilities]\nroot = true", "capabilities.root"},
		{"wrong abi", `abi = 99`, "host: 1, plugin: 99"},
		{"bad name", `name = "Weather!"`, "name"},
		{"bad version", `version = "1.2"`, "version"},
		{"wasm with a path", `wasm = "../evil.wasm"`, "wasm"},
		{"bad sha256", `sha256 = "xyz"`, "sha256"},
		{"http with a path", `http = ["example.com/x"]`, "capabilities.http[0]"},
		{"http inner wildcard", `http = ["api.*.com"]`, "capabilities.http[0]"},
		{"http bad port", `http = ["example.com:99999"]`, "capabilities.http[0]"},
		{"fs root", `fs_read = ["/"]`, "capabilities.fs_read[0]"},
		{"fs relative", `fs_read = ["docs"]`, "capabilities.fs_read[0]"},
		{"fs dotdot", `fs_write = ["{workspace}/../x"]`, "capabilities.fs_write[0]"},
		{"fs unknown placeholder", `fs_read = ["{home}"]`, "capabilities.fs_read[0]"},
		{"env bad name", `env = ["A-B"]`, "capabilities.env[0]"},
		{"mount of no fs entry", "[capabilities]\nmounts = { \"/srv/other\" = \"/mnt\" }", "capabilities.mounts./srv/other"},
		{"mount not absolute", "[capabilities]\nmounts = { \"/srv/shared\" = \"mnt\" }", "capabilities.mounts./srv/shared"},
		{"mount at /", "[capabilities]\nmounts = { \"/srv/shared\" = \"/\" }", "capabilities.mounts./srv/shared"},
		{"two at one guest path", "[capabilities]\nmounts = { \"/srv/shared\" = \"/workspace\" }", "would both be seen at /workspace"},
		{"bad timeout", "[limits]\ntimeout = \"soon\"", "duration"},
		{"not TOML", `name = `, "line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(edit(valid, tt.edit)))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.field) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q should be one line naming %q", err, tt.field)
			}
		})
	}
	var ve *VersionError
	if _, err := Parse([]byte(edit(valid, "abi = 99"))); !errors.As(err, &ve) || ve.Plugin != 99 {
		t.Fatalf("want a VersionError, got %v", err)
	}
}

// edit replaces the line with the same key as line (within its table), or appends line.
func edit(doc, line string) string {
	table := ""
	if strings.HasPrefix(line, "[") {
		table, line, _ = strings.Cut(line, "\n")
	}
	key, _, _ := strings.Cut(line, "=")
	key = strings.TrimSpace(key)
	var out []string
	current, done := "", false
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(l, "[") {
			current = l
		}
		k, _, _ := strings.Cut(l, "=")
		if !done && strings.TrimSpace(k) == key && (table == "" || current == table) {
			out = append(out, line)
			done = true
			continue
		}
		out = append(out, l)
	}
	if done {
		return strings.Join(out, "\n")
	}
	if table == "" {
		return line + "\n" + doc
	}
	if i := strings.Index(doc, table+"\n"); i >= 0 {
		i += len(table) + 1
		return doc[:i] + line + "\n" + doc[i:]
	}
	return doc + "\n" + table + "\n" + line
}

func TestValidateHTTPAllow(t *testing.T) {
	for entry, ok := range map[string]bool{
		"example.com": true, "a.b.example.com:443": true, "*.example.com": true, "10.0.0.1": true,
		"[fe80::1]:80": true, "::1": true, "*.com": false, "EXAMPLE.com": false, "": false,
		"example.com:0": false, "exa mple.com": false, "*example.com": false,
	} {
		if err := ValidateHTTPAllow(entry); (err == nil) != ok {
			t.Errorf("ValidateHTTPAllow(%q) = %v, want ok=%v", entry, err, ok)
		}
	}
}

func TestToolsAndConfig(t *testing.T) {
	const decl = "\n[config]\nvowels = \"aeiouy\"\n\n[[tools]]\nname = \"count_vowels\"\ndescription = \"Counts vowels\"\ninput = \"text\"\n\n" +
		"[[tools]]\nname = \"get\"\nexport = \"run_test\"\ndescription = \"Gets\"\noutput = \"text\"\nparameters = { type = \"object\", properties = { key = { type = \"string\" } } }\n"
	m, err := Parse([]byte(valid + decl))
	if err != nil {
		t.Fatal(err)
	}
	d, err := m.DeclaredTools()
	if err != nil || len(d.Tools) != 2 {
		t.Fatalf("declared tools: %+v %v", d, err)
	}
	if d.Tools[0].ExportName() != "count_vowels" || string(d.Tools[0].Parameters) != string(abi.TextInputSchema) || d.Tools[1].ExportName() != "run_test" || d.Tools[1].Output != abi.IOText {
		t.Fatalf("declared tools: %+v", d.Tools)
	}
	if m.Config["vowels"] != "aeiouy" {
		t.Fatalf("config: %v", m.Config)
	}
	// Names are kept as the module publishes them: hyphens and capitals too.
	for _, name := range []string{"count-vowels", "countVowels"} {
		m, err := Parse([]byte(valid + "\n[[tools]]\nname = \"" + name + "\"\ndescription = \"d\"\n"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d, _ := m.DeclaredTools(); d.Tools[0].Name != name || d.Tools[0].ExportName() != name {
			t.Fatalf("%s: %+v", name, d.Tools[0])
		}
	}
	tool := "\n[[tools]]\nname = \"t\"\ndescription = \"d\"\n"
	tests := []struct{ name, add, mention string }{
		{"bad tool name", "\n[[tools]]\nname = \"count vowels\"\ndescription = \"d\"\n", `tools[0].name "count vowels" must be 1-64 of [A-Za-z0-9_-]`},
		{"no description", "\n[[tools]]\nname = \"t\"\n", `tool "t" needs a description`},
		{"bad input", tool + "input = \"xml\"\n", `input must be "json" or "text"`},
		{"bad output", tool + "output = \"xml\"\n", `output must be "json" or "text"`},
		{"parameters with text input", tool + "input = \"text\"\nparameters = { type = \"object\" }\n", "tools[0].parameters"},
		{"parameters not an object schema", tool + "parameters = { type = \"string\" }\n", `"type": "object"`},
		{"export describe", tool + "export = \"describe\"\n", "is not a tool export"},
		{"twice", tool + tool, `tool "t" appears twice`},
		{"unknown tool key", tool + "shell = true\n", "tools.shell"},
		{"config control character", "\n[config]\nk = \"a\\u001b[2J\"\n", "config.k"},
		{"config bad key", "\n[config]\n\"a b\" = \"x\"\n", "not a setting name"},
		{"config shadows a secret", "\n[config]\nOPENWEATHER_API_KEY = \"x\"\n", "either a setting or a secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(valid + tt.add))
			if err == nil || !strings.Contains(err.Error(), tt.mention) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v should be one line mentioning %q", err, tt.mention)
			}
		})
	}
}
