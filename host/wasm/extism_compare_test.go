package wasm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	extism "github.com/extism/go-sdk"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/testplugins"
)

// newExtismWith runs a module under go-sdk with a manifest's allowed hosts and paths, and
// response headers on (go-sdk's http_headers is off by default).
func newExtismWith(tb testing.TB, wasmBytes []byte, hosts []string, paths map[string]string) *extism.Plugin {
	tb.Helper()
	ctx := context.Background()
	m := extism.Manifest{Wasm: []extism.Wasm{extism.WasmData{Data: wasmBytes}}, AllowedHosts: hosts, AllowedPaths: paths}
	compiled, err := extism.NewCompiledPlugin(ctx, m, extism.PluginConfig{EnableWasi: true, EnableHttpResponseHeaders: true}, nil)
	if err != nil {
		tb.Fatalf("extism compile: %v", err)
	}
	tb.Cleanup(func() { compiled.Close(ctx) })
	p, err := compiled.Instance(ctx, extism.PluginInstanceConfig{})
	if err != nil {
		tb.Fatalf("extism instance: %v", err)
	}
	tb.Cleanup(func() { p.Close(ctx) })
	return p
}

func hermesSpec(wasmBytes []byte, granted abi.Capabilities, mounts []Mount) Spec {
	spec := Spec{Name: "compare", Wasm: wasmBytes, KV: &mapKV{}, Granted: granted, Mounts: mounts, StubUngranted: true}
	spec.Limits, _ = abi.Limits{}.Within(config.DefaultLimits())
	return spec
}

// TestSideBySideWithGoSDK runs go-sdk v1.7.1's http_headers, fs and log test modules, unchanged,
// under go-sdk and under hermes with the same grants (HTTP to a loopback server, a directory
// mounted at /mnt) and expects the same output or the same failure.
func TestSideBySideWithGoSDK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil // the same headers for both runtimes' requests
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Compat", "yes")
		w.Write([]byte("loopback body"))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	mnt := t.TempDir()
	os.WriteFile(filepath.Join(mnt, "test.txt"), []byte("hello world!"), 0o644)
	e := newTestEngine(t)
	req := `{"url":"` + srv.URL + `/headers"}`

	tests := []struct {
		name    string
		file    string
		granted abi.Capabilities
		mounts  []Mount
		hosts   []string
		paths   map[string]string
		calls   []call
	}{
		{"http_headers, host granted", "http_headers.wasm", abi.Capabilities{HTTP: []string{u.Host}, Log: true}, nil, []string{u.Hostname()}, nil,
			[]call{{"http_get", req}}},
		// go-sdk's allowed_paths without "ro:" are read-write: hermes' fs_write. (Read-only,
		// fs_read, TinyGo's os.Open asks for write rights and gets EROFS; see README.)
		{"fs, directory mounted", "fs.wasm", abi.Capabilities{FSWrite: []string{mnt}, Log: true}, []Mount{{HostDir: mnt, GuestPath: "/mnt", Writable: true}}, nil,
			map[string]string{mnt: "/mnt"}, []call{{"run_test", ""}}},
		{"fs, nothing mounted", "fs.wasm", abi.Capabilities{Log: true}, nil, nil, nil, []call{{"run_test", ""}}},
		{"log and get_log_level", "log.wasm", abi.Capabilities{Log: true}, nil, nil, nil, []call{{"run_test", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasmBytes := testplugins.GoSDKWasm(t, tt.file)
			spec := hermesSpec(wasmBytes, tt.granted, tt.mounts)
			sameUnderBoth(t, load(t, e, spec), newExtismWith(t, wasmBytes, tt.hosts, tt.paths), spec.KV.(*mapKV), tt.calls)
		})
	}
}

// TestStricterThanGoSDK: where hermes deliberately refuses what go-sdk allows, the refusal is
// a clear error: go-sdk always links logging, hermes only with the log grant; a host is granted
// with its port (go-sdk's allowed_hosts ignore ports); a loopback address is reachable only
// when granted literally, never through a name.
func TestStricterThanGoSDK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	wasmBytes := testplugins.GoSDKWasm(t, "http_headers.wasm")
	e := newTestEngine(t)
	req := []byte(`{"url":"` + srv.URL + `/"}`)
	tests := []struct {
		name    string
		granted abi.Capabilities
		want    string
	}{
		{"log not granted", abi.Capabilities{HTTP: []string{u.Host}}, "log was not granted to this plugin"},
		{"http not granted", abi.Capabilities{Log: true}, "http was not granted to this plugin"},
		{"another port", abi.Capabilities{HTTP: []string{u.Hostname() + ":1"}, Log: true}, u.Host},
		{"loopback by name", abi.Capabilities{HTTP: []string{"localhost:" + u.Port()}, Log: true}, u.Host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, e, hermesSpec(wasmBytes, tt.granted, nil))
			_, err := p.CallRaw(context.Background(), "http_get", req)
			wantCode(t, err, abi.CodeDenied, tt.want)
			assertAlive(t, e)
		})
	}
	// go-sdk with the loopback address allowed makes the request.
	if _, out, err := newExtismWith(t, wasmBytes, []string{u.Hostname()}, nil).Call("http_get", req); err != nil || len(out) == 0 {
		t.Fatalf("go-sdk: %s %v", out, err)
	}
}
