// Package registry is what `hermes plugins` and `hermes tools` stand on: it inspects a plugin
// directory, records a grant, lists tools from what was recorded (without compiling anything),
// and calls a tool: validate its arguments, load the plugin on first use, run it.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

// Store is the part of store.DB the registry needs.
type Store interface {
	PutPlugin(ctx context.Context, rec store.PluginRecord) error
	GetPlugin(ctx context.Context, name string) (store.PluginRecord, error)
	ListPlugins(ctx context.Context) ([]store.PluginRecord, error)
	DeletePlugin(ctx context.Context, name string) error
	KVGet(ctx context.Context, plugin, key string) ([]byte, bool, error)
	KVSet(ctx context.Context, plugin, key string, value []byte) error
	KVDelete(ctx context.Context, plugin, key string) error
}

// Registry is safe for concurrent use. Plugins are compiled on their first call and kept.
type Registry struct {
	store  Store
	engine *wasm.Engine
	paths  config.Paths
	cfg    config.Config
	exec   wasm.Executor

	mu      sync.Mutex
	loaded  map[string]*loadedPlugin
	envOnce sync.Once
	dotEnv  map[string]string
	envErr  error
}

type loadedPlugin struct {
	plugin  *wasm.Plugin
	schemas map[string]*jsonschema.Resolved
}

// New returns a registry over st, running plugins on engine with the limits and workspace of cfg.
func New(st Store, engine *wasm.Engine, paths config.Paths, cfg config.Config) *Registry {
	return &Registry{store: st, engine: engine, paths: paths, cfg: cfg, loaded: map[string]*loadedPlugin{}}
}

// WithExecutor returns r with plugins' exec capability served by e.
func (r *Registry) WithExecutor(e wasm.Executor) *Registry {
	r.exec = e
	return r
}

// Close unloads every plugin.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for name, lp := range r.loaded {
		errs = append(errs, lp.plugin.Close(ctx))
		delete(r.loaded, name)
	}
	return errors.Join(errs...)
}

// Candidate is a plugin directory that was read, verified and described, ready to be granted.
type Candidate struct {
	Dir      string
	Manifest *manifest.Manifest
	Digest   string
	Tools    []abi.Tool
	Limits   abi.Limits // effective: the manifest's within the configured ceiling
	Capped   []string   // limits the manifest asked above the ceiling
	manifest []byte
	wasm     []byte
}

// MaxWasmBytes bounds the module a plugin may ship.
const MaxWasmBytes = 128 << 20

// Inspect reads and verifies a plugin directory and asks the module for its tools, with every
// capability inert: nothing the plugin asks for is usable before the user grants it.
func (r *Registry) Inspect(ctx context.Context, dir string) (*Candidate, error) {
	manifestPath := filepath.Join(dir, manifest.File)
	manifestBytes, err := readCapped(manifestPath, manifest.MaxBytes)
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: %v (a plugin directory needs %s)", dir, err, manifest.File), Err: err}
	}
	m, err := manifest.Parse(manifestBytes)
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: %v", dir, err), Err: err}
	}
	wasmPath := filepath.Join(dir, m.Wasm)
	wasmBytes, err := readCapped(wasmPath, MaxWasmBytes)
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: fmt.Sprintf("wasm: %v (build the plugin first)", err), Err: err}
	}
	digest := sha256Hex(wasmBytes)
	if m.SHA256 != "" && m.SHA256 != digest {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: fmt.Sprintf("plugin.toml: sha256: %s declares %s but the file's sha256 is %s", m.Wasm, m.SHA256, digest)}
	}
	limits, capped := m.Limits.Within(r.cfg.Plugins.Limits)
	p, err := r.engine.Load(ctx, wasm.Spec{Name: m.Name, Wasm: wasmBytes, SHA256: digest, Granted: m.Capabilities, Limits: limits, Inert: true, MaxInstances: 1})
	if err != nil {
		return nil, err
	}
	defer p.Close(context.Background())
	desc, err := p.Describe(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range desc.Tools {
		if _, err := compileSchema(t); err != nil {
			return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Tool: t.Name, Message: err.Error()}
		}
	}
	return &Candidate{Dir: dir, Manifest: m, Digest: digest, Tools: desc.Tools, Limits: limits, Capped: capped, manifest: manifestBytes, wasm: wasmBytes}, nil
}

// ErrExists is returned by Add for a name that is already added.
var ErrExists = errors.New("a plugin with this name is already added")

// Add copies the candidate into hermes' home and records it with every capability it declared
// as granted (the caller has asked the user).
func (r *Registry) Add(ctx context.Context, c *Candidate) (store.PluginRecord, error) {
	name := c.Manifest.Name
	if _, err := r.store.GetPlugin(ctx, name); err == nil {
		return store.PluginRecord{}, fmt.Errorf("add %s: %w (run: hermes plugins remove %s)", name, ErrExists, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.PluginRecord{}, fmt.Errorf("add %s: %w", name, err)
	}
	dest := filepath.Join(r.paths.Plugins, name)
	if err := installFiles(dest, map[string][]byte{manifest.File: c.manifest, c.Manifest.Wasm: c.wasm}); err != nil {
		return store.PluginRecord{}, fmt.Errorf("add %s: %w", name, err)
	}
	granted, _ := json.Marshal(c.Manifest.Capabilities)
	limits, _ := json.Marshal(c.Limits)
	tools, _ := json.Marshal(abi.Description{Tools: c.Tools})
	rec := store.PluginRecord{
		Name: name, Version: c.Manifest.Version, Dir: dest, WasmSHA256: c.Digest,
		Manifest: c.manifest, Granted: granted, Limits: limits, Tools: tools, Enabled: true,
	}
	if err := r.store.PutPlugin(ctx, rec); err != nil {
		_ = os.RemoveAll(dest)
		return store.PluginRecord{}, fmt.Errorf("add %s: %w", name, err)
	}
	return r.store.GetPlugin(ctx, name)
}

// Remove forgets a plugin, its files and its data.
func (r *Registry) Remove(ctx context.Context, name string) error {
	rec, err := r.store.GetPlugin(ctx, name)
	if err != nil {
		return notFound(name, err)
	}
	r.unload(name)
	if err := r.store.DeletePlugin(ctx, name); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	errs := []error{os.RemoveAll(rec.Dir), os.RemoveAll(filepath.Join(r.paths.PluginData, name))}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove %s: files: %w", name, err)
	}
	return nil
}

func (r *Registry) unload(name string) {
	r.mu.Lock()
	lp := r.loaded[name]
	delete(r.loaded, name)
	r.mu.Unlock()
	if lp != nil {
		_ = lp.plugin.Close(context.Background())
	}
}

// Info is an added plugin as recorded.
type Info struct {
	Name        string           `json:"name"`
	Version     string           `json:"version"`
	Description string           `json:"description"`
	SHA256      string           `json:"sha256"`
	Enabled     bool             `json:"enabled"`
	AddedAt     string           `json:"added_at"`
	Granted     abi.Capabilities `json:"granted"`
	Limits      abi.Limits       `json:"limits"`
	Tools       []abi.Tool       `json:"tools"`
	Dir         string           `json:"dir"`
}

func infoOf(rec store.PluginRecord) (Info, error) {
	info := Info{Name: rec.Name, Version: rec.Version, SHA256: rec.WasmSHA256, Enabled: rec.Enabled, Dir: rec.Dir, AddedAt: rec.AddedAt.UTC().Format("2006-01-02T15:04:05Z")}
	var desc abi.Description
	if err := errors.Join(
		json.Unmarshal(rec.Granted, &info.Granted),
		json.Unmarshal(rec.Limits, &info.Limits),
		json.Unmarshal(rec.Tools, &desc),
	); err != nil {
		return Info{}, fmt.Errorf("plugin %s: damaged record: %w (run: hermes plugins remove %s, then add it again)", rec.Name, err, rec.Name)
	}
	info.Tools = desc.Tools
	if m, err := manifest.Parse(rec.Manifest); err == nil {
		info.Description = m.Description
	}
	return info, nil
}

// List returns every added plugin, by name.
func (r *Registry) List(ctx context.Context) ([]Info, error) {
	recs, err := r.store.ListPlugins(ctx)
	if err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	out := make([]Info, 0, len(recs))
	for _, rec := range recs {
		info, err := infoOf(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Get returns one plugin as recorded.
func (r *Registry) Get(ctx context.Context, name string) (Info, error) {
	rec, err := r.store.GetPlugin(ctx, name)
	if err != nil {
		return Info{}, notFound(name, err)
	}
	return infoOf(rec)
}

// ToolInfo is one tool of an added plugin, named "<plugin>.<tool>".
type ToolInfo struct {
	Name        string          `json:"name"`
	Plugin      string          `json:"plugin"`
	Tool        string          `json:"tool"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

// Tools lists the tools of every enabled plugin from what was recorded when it was added:
// nothing is compiled, so this costs the same with one plugin or fifty.
func (r *Registry) Tools(ctx context.Context) ([]ToolInfo, error) {
	infos, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []ToolInfo
	for _, info := range infos {
		if !info.Enabled {
			continue
		}
		for _, t := range info.Tools {
			out = append(out, ToolInfo{Name: info.Name + "." + t.Name, Plugin: info.Name, Tool: t.Name, Description: t.Description, Parameters: t.Parameters})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func notFound(name string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &abi.Error{Code: abi.CodeNotFound, Plugin: name, Message: "no such plugin (see: hermes plugins list)", Err: err}
	}
	return fmt.Errorf("plugin %s: %w", name, err)
}

// SplitToolName splits "plugin.tool".
func SplitToolName(full string) (plugin, tool string, ok bool) {
	plugin, tool, ok = strings.Cut(full, ".")
	return plugin, tool, ok && plugin != "" && tool != ""
}

// Verify re-checks an added plugin's files against what was recorded when it was added: the
// manifest still parses and the module's SHA-256 is the pinned one. Nothing is compiled.
func (r *Registry) Verify(ctx context.Context, name string) error {
	rec, err := r.store.GetPlugin(ctx, name)
	if err != nil {
		return notFound(name, err)
	}
	wasmBytes, err := readModule(rec)
	if err != nil {
		return err
	}
	if got := sha256Hex(wasmBytes); got != rec.WasmSHA256 {
		return &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: fmt.Sprintf("module sha256 is %s but %s was pinned when it was added; its files changed", got, rec.WasmSHA256)}
	}
	return nil
}
