package abi

import (
	"strings"
	"testing"
	"time"
)

func TestLimitsWithin(t *testing.T) {
	ceiling := Limits{MemoryPages: 100, Timeout: Duration(10 * time.Second), OutputBytes: 1000, HTTPResponseBytes: 5000}
	tests := []struct {
		name   string
		asked  Limits
		want   Limits
		capped int
	}{
		{"nothing asked", Limits{}, ceiling, 0},
		{"lower", Limits{MemoryPages: 10, Timeout: Duration(time.Second)}, Limits{MemoryPages: 10, Timeout: Duration(time.Second), OutputBytes: 1000, HTTPResponseBytes: 5000}, 0},
		{"higher is capped", Limits{MemoryPages: 1000, OutputBytes: 1 << 30, HTTPResponseBytes: 1}, Limits{MemoryPages: 100, Timeout: Duration(10 * time.Second), OutputBytes: 1000, HTTPResponseBytes: 1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, capped := tt.asked.Within(ceiling)
			if got != tt.want || len(capped) != tt.capped {
				t.Fatalf("Within = %+v %q, want %+v with %d capped", got, capped, tt.want, tt.capped)
			}
		})
	}
}

func TestValidToolName(t *testing.T) {
	for name, ok := range map[string]bool{
		"read": true, "read_file2": true, strings.Repeat("a", 64): true, strings.Repeat("a", 65): false,
		"": false, "Read": false, "_start": false, "2read": false, "read-file": false, "describe": false, "memory": false, "é": false,
	} {
		if ValidToolName(name) != ok {
			t.Errorf("ValidToolName(%q) != %v", name, ok)
		}
	}
}

func TestParseDescription(t *testing.T) {
	good := `{"tools":[{"name":"read","description":"Read","parameters":{"type":"object"}}]}`
	if d, err := ParseDescription([]byte(good)); err != nil || d.Tools[0].Name != "read" {
		t.Fatalf("%v %v", d, err)
	}
	for name, doc := range map[string]string{
		"not JSON":           `not json {{{`,
		"no tools":           `{"tools":[]}`,
		"bad name":           `{"tools":[{"name":"Bad Name!","description":"x","parameters":{"type":"object"}}]}`,
		"duplicate":          `{"tools":[{"name":"a","description":"x","parameters":{"type":"object"}},{"name":"a","description":"x","parameters":{"type":"object"}}]}`,
		"no description":     `{"tools":[{"name":"a","parameters":{"type":"object"}}]}`,
		"no schema":          `{"tools":[{"name":"a","description":"x"}]}`,
		"schema not object":  `{"tools":[{"name":"a","description":"x","parameters":{"type":"string"}}]}`,
		"schema not a map":   `{"tools":[{"name":"a","description":"x","parameters":[1]}]}`,
		"describe is a tool": `{"tools":[{"name":"describe","description":"x","parameters":{"type":"object"}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseDescription([]byte(doc)); err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want a one-line error, got %v", err)
			}
		})
	}
}

func TestErrorCode(t *testing.T) {
	err := &Error{Code: CodeDenied, Plugin: "p", Tool: "t", Message: "no"}
	if CodeOf(err) != CodeDenied || err.Error() != "p.t: denied: no" {
		t.Fatalf("%v %q", CodeOf(err), err)
	}
	if CodeOf(nil) != "" {
		t.Fatal("nil has a code")
	}
}

func TestGrantsSayPlacesInWords(t *testing.T) {
	c := Capabilities{HTTP: []string{"a.example", "b.example"}, FSRead: []string{"{workspace}", "{workspace}/docs"}, FSWrite: []string{"{plugin_data}"}, Env: []string{"K"}, Exec: true}
	got := strings.Join(c.Grants(), "\n")
	for _, want := range []string{
		"may send HTTP requests to a.example\n", "may send HTTP requests to b.example\n",
		"may read files in your workspace\n", "may read files in your workspace's docs/ directory\n",
		"may read and write files in its own data directory\n", "may read the secret/setting K\n",
		"may run shell commands in the sandbox",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Grants() lacks %q:\n%s", want, got)
		}
	}
	if d := c.Describe(); len(d) != 5 || !strings.Contains(d[1], "your workspace and your workspace's docs/ directory") {
		t.Errorf("Describe() = %q", d)
	}
}
