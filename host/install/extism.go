package install

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/download"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/wasm"
)

// An Extism manifest is the JSON Extism hosts (and hyper-mcp's config) load a module with:
// https://extism.org/docs/concepts/manifest, go-sdk's Manifest. hermes reads it as a plugin:
// the module it names, with hermes' grants for what it allows. Every key is known; anything
// else is refused, so that no grant-like field is ever dropped in silence.
type extismManifest struct {
	Wasm         []extismWasm      `json:"wasm"`
	Memory       *extismMemory     `json:"memory"`
	Config       map[string]string `json:"config"`
	AllowedHosts []string          `json:"allowed_hosts"`
	AllowedPaths map[string]string `json:"allowed_paths"`
	TimeoutMS    uint64            `json:"timeout_ms"`
}

type extismWasm struct {
	Path    string            `json:"path"`
	URL     string            `json:"url"`
	Data    []byte            `json:"data"` // base64, as go-sdk and the Rust manifest write it
	Hash    string            `json:"hash"`
	Name    string            `json:"name"`
	Headers map[string]string `json:"headers"`
	Method  string            `json:"method"`
}

type extismMemory struct {
	MaxPages             uint32 `json:"max_pages"`
	MaxHTTPResponseBytes *int64 `json:"max_http_response_bytes"`
	MaxVarBytes          *int64 `json:"max_var_bytes"`
}

// ExtismOptions name and number a plugin made from an Extism manifest, which has neither.
type ExtismOptions struct {
	Name    string // default: from the module's file name
	Version string // default: 0.0.0
	// HTTPClient downloads a module named by URL (tests); nil is download.DefaultClient.
	HTTPClient *http.Client
}

// ExtismPlugin is a plugin made from an Extism manifest: a plugin.toml and the module.
type ExtismPlugin struct {
	Manifest   *manifest.Manifest
	TOML       []byte // plugin.toml, as hermes plugins import writes it
	WasmName   string // the module's file name in a plugin directory
	Wasm       []byte
	Downloaded string // the URL the module came from, without its query; "" when it did not
}

// maxExtismManifestBytes bounds the JSON: it may carry the module itself (wasm[].data).
const maxExtismManifestBytes = registry.MaxWasmBytes/3*4 + manifest.MaxBytes

// IsExtismManifest reports whether path names an Extism manifest rather than a plugin.
func IsExtismManifest(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".json") }

// ReadExtism reads the Extism manifest at file and turns it into a plugin: the module (read
// beside the manifest, downloaded, or inline) is checked against its hash before anything
// else; allowed_hosts become http grants, allowed_paths fs_read ("ro:") and fs_write grants,
// config [config], memory and timeout_ms limits (which hermes' ceilings still bound). Its
// tools are the module's own (describe, hyper-mcp) or else one per callable export.
func ReadExtism(ctx context.Context, file string, opts ExtismOptions) (*ExtismPlugin, error) {
	fail := func(format string, args ...any) error {
		return &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: ", file) + fmt.Sprintf(format, args...)}
	}
	data, err := readBounded(file, maxExtismManifestBytes)
	if err != nil {
		return nil, fail("%v", err)
	}
	var em extismManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&em); err != nil {
		if key, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return nil, fail("unknown key %s: hermes reads wasm, allowed_hosts, allowed_paths, config, memory and timeout_ms of an Extism manifest; refusing rather than dropping it", key)
		}
		return nil, fail("not an Extism manifest: %s", firstLine(err.Error()))
	}
	if dec.More() {
		return nil, fail("not an Extism manifest: more than one JSON value")
	}
	switch {
	case len(em.Wasm) == 0:
		return nil, fail("wasm: no module")
	case len(em.Wasm) > 1:
		return nil, fail("wasm: %d modules; hermes runs one module per plugin and does not link modules together", len(em.Wasm))
	}
	w := em.Wasm[0]
	p := &ExtismPlugin{}
	module, err := p.fetchModule(ctx, file, w, opts)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = nameFromFile(strings.TrimSuffix(p.WasmName, ".wasm"))
	}
	if name == "" {
		return nil, fail("cannot make a plugin name from %q: give one with --name", p.WasmName)
	}
	m := &manifest.Manifest{
		Name: name, Version: opts.Version, ABI: abi.Version, Wasm: p.WasmName,
		Description: fmt.Sprintf("Extism module %s, from the Extism manifest %s", p.WasmName, filepath.Base(file)),
		SHA256:      sha256Hex(module),
		Config:      em.Config,
	}
	if m.Version == "" {
		m.Version = "0.0.0"
	}
	if err := em.grants(&m.Capabilities, filepath.Dir(file)); err != nil {
		return nil, fail("%v", err)
	}
	info, err := wasm.ReadModule(ctx, name, module)
	if err != nil {
		return nil, err
	}
	// Extism links logging and vars into every plugin; hermes grants them (shown in the review)
	// only to a module that imports them, and vars not when the manifest allows none.
	m.Capabilities.Log = slices.Contains(info.Imports, abi.CapLog)
	m.Capabilities.KV = slices.Contains(info.Imports, abi.CapKV) && (em.Memory == nil || em.Memory.MaxVarBytes == nil || *em.Memory.MaxVarBytes != 0)
	if err := em.limits(&m.Limits, m.Capabilities); err != nil {
		return nil, fail("%v", err)
	}
	if !info.Exports(abi.ExportDescribe) && abi.HyperMCPProtocol(info.Exports) == "" {
		// A plain Extism module: every export a host may call is a tool taking and returning
		// text, as `extism call` does.
		for _, export := range info.Callable {
			if !abi.ValidPublishedToolName(export) {
				continue
			}
			m.Tools = append(m.Tools, manifest.ToolDecl{Name: export, Description: "Extism export " + export, Input: abi.IOText, Output: abi.IOText})
		}
		if len(m.Tools) == 0 && info.Exports(abi.ExportStart) {
			// A command module (go-pdk built with standard Go): its main is the plugin.
			m.Tools = append(m.Tools, manifest.ToolDecl{Name: "main", Export: abi.ExportStart, Description: "Extism command module (_start)", Input: abi.IOText, Output: abi.IOText})
		}
		if len(m.Tools) == 0 {
			return nil, fail("%s exports no function a tool can call (() -> i32 or () -> ())", p.WasmName)
		}
	}
	p.TOML = encodeManifest(m, file)
	if p.Manifest, err = manifest.Parse(p.TOML); err != nil {
		return nil, fail("%v", err)
	}
	p.Wasm = module
	return p, nil
}

// fetchModule reads the one module, then checks its hash before anything else looks at it.
func (p *ExtismPlugin) fetchModule(ctx context.Context, file string, w extismWasm, opts ExtismOptions) ([]byte, error) {
	fail := func(format string, args ...any) error {
		return &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: wasm[0]: ", file) + fmt.Sprintf(format, args...)}
	}
	set := 0
	for _, s := range []bool{w.Path != "", w.URL != "", len(w.Data) > 0} {
		if s {
			set++
		}
	}
	if set != 1 {
		return nil, fail("give exactly one of path, url or data")
	}
	if (len(w.Headers) > 0 || w.Method != "" && !strings.EqualFold(w.Method, http.MethodGet)) && w.URL == "" {
		return nil, fail("headers and method are for a url")
	}
	var module []byte
	var err error
	switch {
	case w.Path != "":
		where := w.Path
		if !filepath.IsAbs(where) {
			where = filepath.Join(filepath.Dir(file), where) // beside the manifest, not the current directory
		}
		if module, err = readBounded(where, registry.MaxWasmBytes); err != nil {
			return nil, fail("%v", err)
		}
		p.WasmName = filepath.Base(where)
	case w.URL != "":
		switch {
		case len(w.Headers) > 0:
			return nil, fail("headers: a module is downloaded without request headers (they would be credentials kept in the lock); download it yourself and name it by path")
		case w.Method != "" && !strings.EqualFold(w.Method, http.MethodGet):
			return nil, fail("method %s: a module is downloaded with GET", w.Method)
		}
		if module, p.Downloaded, err = download.HTTPS(ctx, download.Request{URL: w.URL, What: "module", Max: registry.MaxWasmBytes, Noun: "a plugin module", Client: opts.HTTPClient}); err != nil {
			return nil, fail("%v", err)
		}
		p.WasmName = path.Base(strings.TrimSuffix(p.Downloaded, "/"))
	default:
		module = w.Data
		p.WasmName = w.Name
		if p.WasmName == "" || p.WasmName == "main" {
			p.WasmName = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		}
	}
	if w.Hash != "" {
		want := strings.ToLower(strings.TrimPrefix(w.Hash, "sha256:"))
		if got := sha256Hex(module); got != want {
			return nil, fail("%s has sha256 %s but the manifest's hash is %s; nothing installed", p.WasmName, got, want)
		}
	}
	if !strings.HasSuffix(p.WasmName, ".wasm") {
		p.WasmName += ".wasm"
	}
	if p.WasmName = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' {
			return '_'
		}
		return r
	}, p.WasmName); strings.HasPrefix(p.WasmName, ".") {
		p.WasmName = "module" + p.WasmName
	}
	return module, nil
}

// nameFromFile makes a plugin name of a module's file name: "count_vowels" is "count-vowels".
func nameFromFile(base string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case (r == '-' || r == '_' || r == '.' || r == ' ') && b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	name := strings.TrimRight(b.String(), "-")
	name = strings.TrimLeft(name, "0123456789-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	return name
}

// grants turns allowed_hosts and allowed_paths into hermes' grants. A host is granted as
// written ("*." wildcards included, "*" for every host refused); a directory, relative to the
// manifest's, is read-only with "ro:", else read-write (fs_write), as in Extism, and seen by
// the module at the guest path (capabilities.mounts when it is not the directory's own).
func (em *extismManifest) grants(c *abi.Capabilities, base string) error {
	for i, h := range em.AllowedHosts {
		h = strings.ToLower(h)
		if h == "*" {
			return fmt.Errorf(`allowed_hosts[%d]: "*" (every host) is not granted by hermes; list the hosts the plugin needs`, i)
		}
		if err := manifest.ValidateHTTPAllow(h); err != nil {
			return fmt.Errorf("allowed_hosts[%d]: %v", i, err)
		}
		if !slices.Contains(c.HTTP, h) {
			c.HTTP = append(c.HTTP, h)
		}
	}
	for _, host := range slices.Sorted(maps.Keys(em.AllowedPaths)) {
		guest := em.AllowedPaths[host]
		dir, readOnly := strings.CutPrefix(host, "ro:")
		if dir == "" {
			return fmt.Errorf("allowed_paths: %q: empty directory", host)
		}
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(base, dir)
		}
		dir = filepath.Clean(dir)
		if guest == "" {
			guest = dir
		}
		if !strings.HasPrefix(guest, "/") || path.Clean(guest) != guest || guest == "/" {
			return fmt.Errorf("allowed_paths: %q is mapped to %q; the plugin's path must be clean, absolute and not /", host, guest)
		}
		if guest != dir {
			if c.Mounts == nil {
				c.Mounts = map[string]string{}
			}
			c.Mounts[dir] = guest
		}
		if readOnly {
			c.FSRead = append(c.FSRead, dir)
		} else {
			c.FSWrite = append(c.FSWrite, dir)
		}
	}
	for _, d := range c.FSRead {
		if slices.Contains(c.FSWrite, d) {
			return fmt.Errorf("allowed_paths: %s is both read-only and read-write", d)
		}
	}
	return nil
}

// limits turns memory and timeout_ms into hermes' limits (max_var_bytes into kv_bytes); hermes' ceilings bound them still
// (abi.Limits.Within), so nothing is widened beyond either.
func (em *extismManifest) limits(l *abi.Limits, c abi.Capabilities) error {
	if em.TimeoutMS > 0 {
		l.Timeout = abi.Duration(time.Duration(min(em.TimeoutMS, uint64(24*time.Hour/time.Millisecond))) * time.Millisecond)
	}
	if em.Memory == nil {
		return nil
	}
	l.MemoryPages = min(em.Memory.MaxPages, 65536)
	if n := em.Memory.MaxHTTPResponseBytes; n != nil && *n >= 0 {
		if *n == 0 && len(c.HTTP) > 0 {
			return errors.New("memory.max_http_response_bytes: 0 allows no HTTP response; drop allowed_hosts or allow some bytes")
		}
		l.HTTPResponseBytes = *n
	}
	if n := em.Memory.MaxVarBytes; n != nil && *n > 0 && c.KV {
		l.KVBytes = *n // the total of a plugin's vars, as Extism bounds them
	}
	return nil
}

// encodeManifest writes m as a plugin.toml, saying where each part came from.
func encodeManifest(m *manifest.Manifest, file string) []byte {
	var b bytes.Buffer
	q := func(s string) string { out, _ := json.Marshal(s); return string(out) } // a JSON string is a TOML basic string
	list := func(items []string) string {
		quoted := make([]string, len(items))
		for i, s := range items {
			quoted[i] = q(s)
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
	fmt.Fprintf(&b, "# Made by hermes plugins import from the Extism manifest %s.\n", filepath.Base(file))
	fmt.Fprintf(&b, "name        = %s\nversion     = %s\nabi         = %d\ndescription = %s\nwasm        = %s\nsha256      = %s\n",
		q(m.Name), q(m.Version), m.ABI, q(m.Description), q(m.Wasm), q(m.SHA256))
	c := m.Capabilities
	if !c.Empty() {
		b.WriteString("\n[capabilities]\n")
		if len(c.HTTP) > 0 {
			fmt.Fprintf(&b, "http     = %s # allowed_hosts\n", list(c.HTTP))
		}
		if len(c.FSRead) > 0 {
			fmt.Fprintf(&b, "fs_read  = %s # allowed_paths with ro:\n", list(c.FSRead))
		}
		if len(c.FSWrite) > 0 {
			fmt.Fprintf(&b, "fs_write = %s # allowed_paths\n", list(c.FSWrite))
		}
		if len(c.Mounts) > 0 {
			var pairs []string
			for _, k := range slices.Sorted(maps.Keys(c.Mounts)) {
				pairs = append(pairs, q(k)+" = "+q(c.Mounts[k]))
			}
			fmt.Fprintf(&b, "mounts   = { %s } # where allowed_paths show them to the module\n", strings.Join(pairs, ", "))
		}
		if c.KV {
			b.WriteString("kv       = true # Extism vars (var_get/var_set), which the module imports\n")
		}
		if c.Log {
			b.WriteString("log      = true # Extism logging (log_*), which the module imports\n")
		}
	}
	if l := m.Limits; l != (abi.Limits{}) {
		b.WriteString("\n[limits] # memory and timeout_ms; hermes' own limits cap them\n")
		if l.MemoryPages > 0 {
			fmt.Fprintf(&b, "memory_pages        = %d\n", l.MemoryPages)
		}
		if l.Timeout > 0 {
			fmt.Fprintf(&b, "timeout             = %s\n", q(l.Timeout.String()))
		}
		if l.HTTPResponseBytes > 0 {
			fmt.Fprintf(&b, "http_response_bytes = %d\n", l.HTTPResponseBytes)
		}
		if l.KVBytes > 0 {
			fmt.Fprintf(&b, "kv_bytes            = %d # memory.max_var_bytes\n", l.KVBytes)
		}
	}
	if len(m.Config) > 0 {
		b.WriteString("\n[config]\n")
		for _, k := range slices.Sorted(maps.Keys(m.Config)) {
			fmt.Fprintf(&b, "%s = %s\n", q(k), q(m.Config[k]))
		}
	}
	for _, t := range m.Tools {
		fmt.Fprintf(&b, "\n[[tools]]\nname        = %s\n", q(t.Name))
		if t.Export != "" {
			fmt.Fprintf(&b, "export      = %s\n", q(t.Export))
		}
		fmt.Fprintf(&b, "description = %s\ninput       = %s\noutput      = %s\n", q(t.Description), q(t.Input), q(t.Output))
	}
	return b.Bytes()
}

// WriteDir writes the plugin into dir (created; an existing plugin.toml there is not
// overwritten): what `hermes plugins install DIR` reads.
func (p *ExtismPlugin) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for _, name := range []string{manifest.File, p.WasmName} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("import: %s already exists; not overwriting it (choose another directory with --out)", filepath.Join(dir, name))
		}
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{manifest.File, p.TOML}, {p.WasmName, p.Wasm}} {
		out, err := os.OpenFile(filepath.Join(dir, f.name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("import: %w (choose another directory with --out)", err)
		}
		_, err = io.Copy(out, bytes.NewReader(f.data))
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	return nil
}
