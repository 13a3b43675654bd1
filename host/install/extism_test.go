package install

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// TestReadExtism reads Extism manifests whose module is downloaded (HTTPS only, from a real
// TLS server on 127.0.0.1; its query never shown) or inline (base64 data), hash checked, and
// turns each into the same plugin.
func TestReadExtism(t *testing.T) {
	ctx := context.Background()
	module := testplugins.GoSDKWasm(t, "count_vowels.wasm")
	digest := sha256Hex(module)
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(module) }))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/count_vowels.wasm":
			w.Write(module)
		case "/downgrade.wasm":
			http.Redirect(w, r, plain.URL+"/count_vowels.wasm", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	write := func(json string) string {
		path := filepath.Join(t.TempDir(), "manifest.json")
		os.WriteFile(path, []byte(json), 0o644)
		return path
	}
	tests := []struct {
		name, json, wantErr string
	}{
		{"url", `{"wasm":[{"url":"` + srv.URL + `/count_vowels.wasm?token=secret","hash":"` + digest + `"}],"config":{"vowels":"aeiou"}}`, ""},
		{"data", `{"wasm":[{"data":"` + base64.StdEncoding.EncodeToString(module) + `","name":"count_vowels"}]}`, ""},
		{"url hash mismatch", `{"wasm":[{"url":"` + srv.URL + `/count_vowels.wasm","hash":"` + strings.Repeat("a", 64) + `"}]}`, "count_vowels.wasm has sha256 " + digest + " but the manifest's hash is " + strings.Repeat("a", 64)},
		{"plain http", `{"wasm":[{"url":"` + plain.URL + `/count_vowels.wasm"}]}`, "only https:// URLs are downloaded"},
		{"redirect to http", `{"wasm":[{"url":"` + srv.URL + `/downgrade.wasm"}]}`, "refusing a redirect to http://"},
		{"not found", `{"wasm":[{"url":"` + srv.URL + `/missing.wasm"}]}`, "the server answered 404"},
		{"headers", `{"wasm":[{"url":"` + srv.URL + `/count_vowels.wasm","headers":{"Authorization":"x"}}]}`, "without request headers"},
		{"two sources", `{"wasm":[{"path":"a.wasm","url":"` + srv.URL + `/count_vowels.wasm"}]}`, "exactly one of path, url or data"},
		{"unknown nested key", `{"wasm":[{"path":"a.wasm"}],"memory":{"max_pages":1,"max_table":2}}`, `unknown key "max_table"`},
		{"no module", `{"allowed_hosts":["a.example"]}`, "wasm: no module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := write(tt.json)
			p, err := ReadExtism(ctx, file, ExtismOptions{HTTPClient: srv.Client()})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line with %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("the URL's query is shown: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := p.Manifest
			if m.Name != "count-vowels" || m.Wasm != "count_vowels.wasm" || m.SHA256 != digest || len(m.Tools) != 1 || m.Tools[0].Name != "count_vowels" || m.Tools[0].Input != abi.IOText || !m.Capabilities.KV {
				t.Fatalf("manifest %+v", m)
			}
			if strings.Contains(string(p.TOML), "secret") || strings.Contains(p.Downloaded, "secret") {
				t.Errorf("the URL's query is kept: %s %s", p.Downloaded, p.TOML)
			}
		})
	}
}

// TestExtismLimits: memory and timeout_ms become limits, which the host's ceilings cap.
func TestExtismLimits(t *testing.T) {
	module := testplugins.GoSDKWasm(t, "count_vowels.wasm")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "count_vowels.wasm"), module, 0o644)
	file := filepath.Join(dir, "m.json")
	os.WriteFile(file, []byte(`{"wasm":[{"path":"count_vowels.wasm"}],"memory":{"max_pages":4294967295,"max_http_response_bytes":1024,"max_var_bytes":4096},"timeout_ms":1500}`), 0o644)
	p, err := ReadExtism(context.Background(), file, ExtismOptions{Name: "vowels", Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	l := p.Manifest.Limits
	if l.MemoryPages != 65536 || l.Timeout.String() != "1.5s" || l.HTTPResponseBytes != 1024 || l.KVBytes != 4096 || p.Manifest.Name != "vowels" || p.Manifest.Version != "1.2.3" {
		t.Fatalf("limits %+v, manifest %+v", l, p.Manifest)
	}
	if got, _ := l.Within(abi.Limits{MemoryPages: 256, Timeout: abi.Duration(1e9), OutputBytes: 1, HTTPResponseBytes: 1 << 20, FSWriteBytes: 1, DataBytes: 1}); got.MemoryPages != 256 || got.Timeout.String() != "1s" || got.HTTPResponseBytes != 1024 {
		t.Fatalf("within the ceiling: %+v", got)
	}
}
