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
	"sync/atomic"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

// Store is the part of store.DB the registry needs.
type Store interface {
	PutPlugin(ctx context.Context, rec store.PluginRecord) error
	GetPlugin(ctx context.Context, name string) (store.PluginRecord, error)
	ListPlugins(ctx context.Context) ([]store.PluginRecord, error)
	InstallPlugin(ctx context.Context, rec store.PluginRecord, event, detail string) error
	PluginVersions(ctx context.Context, name string) ([]store.PluginRecord, error)
	ForgetPluginVersion(ctx context.Context, name, version, wasmSHA256 string) error
	SetPluginEnabled(ctx context.Context, name string, enabled bool) error
	RemovePlugin(ctx context.Context, name, detail string) error
	TrustedKeys(ctx context.Context) ([]store.TrustedKey, error)
	KVGet(ctx context.Context, plugin, key string) ([]byte, bool, error)
	KVSet(ctx context.Context, plugin, key string, value []byte, maxBytes int64) error
	KVDelete(ctx context.Context, plugin, key string) error
	LockVersion(ctx context.Context) (int64, error)
}

// Registry is safe for concurrent use. Plugins are compiled on their first call and kept.
type Registry struct {
	store  Store
	engine *wasm.Engine
	paths  config.Paths
	cfg    config.Config
	exec   wasm.Executor
	acts   activity.Sink

	mu       sync.Mutex
	loaded   map[string]*loadedPlugin
	inflight map[string]*loading // plugins being compiled now, so others wait for that one
	gen      map[string]int      // bumped by unload, so a load that raced it is thrown away
	envOnce  sync.Once
	dotEnv   map[string]string
	envErr   error

	refreshMu sync.Mutex     // one Refresh re-checks at a time
	lockSeen  atomic.Int64   // the lock version the loaded plugins were last checked at (-1: none yet)
	closing   sync.WaitGroup // plugins Refresh dropped, closing once their calls finish
}

type loadedPlugin struct {
	rec     store.PluginRecord // the lock entry it was loaded from
	plugin  *wasm.Plugin
	schemas map[string]*toolSchema
	tools   map[string]abi.Tool
}

// New returns a registry over st, running plugins on engine with the limits and workspace of cfg.
func New(st Store, engine *wasm.Engine, paths config.Paths, cfg config.Config) *Registry {
	r := &Registry{store: st, engine: engine, paths: paths, cfg: cfg,
		loaded: map[string]*loadedPlugin{}, inflight: map[string]*loading{}, gen: map[string]int{}}
	r.lockSeen.Store(-1)
	return r
}

// WithExecutor returns r with plugins' exec capability served by e.
func (r *Registry) WithExecutor(e wasm.Executor) *Registry {
	r.exec = e
	return r
}

// WithActivity returns r with every capability use of its plugins recorded to s.
func (r *Registry) WithActivity(s activity.Sink) *Registry {
	r.acts = s
	return r
}

// Close unloads every plugin, waiting for the calls in progress.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	var errs []error
	for name, lp := range r.loaded {
		errs = append(errs, lp.plugin.Close(ctx))
		delete(r.loaded, name)
	}
	r.mu.Unlock()
	r.closing.Wait()
	return errors.Join(errs...)
}

// Candidate is a plugin that was read, verified and described, ready to be granted.
type Candidate struct {
	Dir      string // where it was read from, when it came from a directory
	Manifest *manifest.Manifest
	Digest   string
	Tools    []abi.Tool
	Limits   abi.Limits // effective: the manifest's within the configured ceiling
	Capped   []string   // limits the manifest asked above the ceiling
	// ImportErr is the module's import check failing (it imports a function hermes does not
	// have or one of a capability it did not declare). InspectFiles reports it here rather than
	// at once, so an installer can check digests and signatures first, in the documented order,
	// and then refuse with it. Tools is empty when it is set.
	ImportErr error
	// Refused lists the capabilities an Extism-convention module imports without asking for
	// them: it installs, and every call to those functions is refused (denied).
	Refused []abi.Capability

	// Provenance, filled in by the installer before Install.
	Source    string
	Signer    string // trusted key's name; "" when unsigned or signed by a key nobody trusted
	SignerKey string // fingerprint of whoever signed, trusted or not
	Signature []byte // the signature document, kept with the plugin for audits

	manifest []byte
	wasm     []byte
}

// MaxWasmBytes bounds the module a plugin may ship.
const MaxWasmBytes = 128 << 20

// signatureFile is where an installed plugin's signature is kept beside its files.
const signatureFile = "plugin.sig"

// Files are a plugin's bytes, wherever they were read from.
type Files struct {
	Manifest []byte
	Wasm     []byte
}

// ReadDir reads a plugin directory's manifest and module, bounded in size.
func ReadDir(dir string) (Files, *manifest.Manifest, error) {
	manifestBytes, err := readCapped(filepath.Join(dir, manifest.File), manifest.MaxBytes)
	if err != nil {
		return Files{}, nil, &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: %v (a plugin directory needs %s)", dir, err, manifest.File), Err: err}
	}
	m, err := manifest.Parse(manifestBytes)
	if err != nil {
		return Files{}, nil, &abi.Error{Code: abi.CodeBadPlugin, Message: fmt.Sprintf("%s: %v", dir, err), Err: err}
	}
	wasmBytes, err := readCapped(filepath.Join(dir, m.Wasm), MaxWasmBytes)
	if err != nil {
		return Files{}, nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: fmt.Sprintf("wasm: %v (build the plugin first)", err), Err: err}
	}
	return Files{Manifest: manifestBytes, Wasm: wasmBytes}, m, nil
}

// Inspect reads and verifies a plugin directory and asks the module for its tools, with every
// capability inert: nothing the plugin asks for is usable before the user grants it. An import
// the manifest does not cover is an error here.
func (r *Registry) Inspect(ctx context.Context, dir string) (*Candidate, error) {
	return r.inspectDir(ctx, dir, true)
}

// inspectDir is Inspect; without checkSchemas the tools' parameters schemas are taken as the
// module describes them, unchecked (PlantUnchecked).
func (r *Registry) inspectDir(ctx context.Context, dir string, checkSchemas bool) (*Candidate, error) {
	files, _, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	c, err := r.inspectFiles(ctx, files, checkSchemas)
	if err != nil {
		return nil, err
	}
	if c.ImportErr != nil {
		return nil, c.ImportErr
	}
	c.Dir = dir
	if abs, err := filepath.Abs(dir); err == nil {
		c.Source = "dir:" + abs
	}
	return c, nil
}

// InspectFiles verifies a plugin's bytes in this order, stopping at the first failure: the
// manifest is valid; the module compiles; its sha256 is the one the manifest declares (if it
// declares one). Then it asks the module for its tools, every capability inert. An import
// failure is returned in Candidate.ImportErr (see there), not as the error.
func (r *Registry) InspectFiles(ctx context.Context, files Files) (*Candidate, error) {
	return r.inspectFiles(ctx, files, true)
}

func (r *Registry) inspectFiles(ctx context.Context, files Files, checkSchemas bool) (*Candidate, error) {
	m, err := manifest.Parse(files.Manifest)
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Message: err.Error(), Err: err}
	}
	if int64(len(files.Wasm)) > MaxWasmBytes {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: fmt.Sprintf("module is %d bytes, more than %d", len(files.Wasm), MaxWasmBytes)}
	}
	digest := sha256Hex(files.Wasm)
	limits, capped := m.Limits.Within(r.cfg.Plugins.Limits)
	c := &Candidate{Manifest: m, Digest: digest, Limits: limits, Capped: capped, manifest: files.Manifest, wasm: files.Wasm}
	p, loadErr := r.engine.Load(ctx, wasm.Spec{Name: m.Name, Wasm: files.Wasm, Granted: m.Capabilities, Config: m.Config, Limits: limits, Inert: true, MaxInstances: 1, StubUngranted: extismConvention(m)})
	if loadErr != nil && !errors.Is(loadErr, wasm.ErrImport) {
		return nil, loadErr
	}
	if m.SHA256 != "" && m.SHA256 != digest {
		if p != nil {
			_ = p.Close(context.Background())
		}
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: fmt.Sprintf("plugin.toml: sha256: %s declares %s but the file's sha256 is %s", m.Wasm, m.SHA256, digest)}
	}
	if loadErr != nil {
		c.ImportErr = loadErr
		return c, nil
	}
	defer p.Close(context.Background())
	desc, err := r.toolsOf(ctx, m, p)
	if err != nil {
		return nil, err
	}
	if checkSchemas { // not for PlantUnchecked
		for _, t := range desc.Tools {
			if _, err := compileSchema(t); err != nil {
				return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Tool: t.Name, Message: err.Error()}
			}
		}
	}
	c.Tools = desc.Tools
	c.Refused = p.UngrantedImports()
	return c, nil
}

// extismConvention reports whether a plugin follows Extism's convention rather than hermes'
// (its tools are declared in plugin.toml): its imports of capabilities it was not granted are
// linked to functions that refuse, since published Extism modules import what they never call.
// (The engine does the same by itself for a module whose exports are a hyper-mcp plugin's.)
func extismConvention(m *manifest.Manifest) bool { return len(m.Tools) > 0 }

// toolsOf is what the plugin offers: the [[tools]] plugin.toml declares, each checked against
// the module's exports, or else what its describe export returns.
func (r *Registry) toolsOf(ctx context.Context, m *manifest.Manifest, p *wasm.Plugin) (*abi.Description, error) {
	declared, err := m.DeclaredTools()
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: err.Error(), Err: err}
	}
	if protocol := abi.HyperMCPProtocol(p.Exports); declared == nil && protocol != "" {
		if d, ok, err := hyperMCPTools(ctx, p, protocol); ok || err != nil {
			return d, err
		}
	}
	if declared == nil {
		if !p.Exports(abi.ExportDescribe) {
			return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: m.Name, Message: "the module has no describe export and plugin.toml declares no [[tools]]: declare its tools with [[tools]] (see README: Running Extism and hyper-mcp plugins)"}
		}
		return p.Describe(ctx)
	}
	for _, t := range declared.Tools {
		if err := p.CheckTool(t.Name, t.ExportName()); err != nil {
			return nil, err
		}
	}
	return declared, nil
}

// ErrExists is returned by Add for a name that is already added.
var ErrExists = errors.New("a plugin with this name is already added")

// Add installs a candidate under a name not yet used, granting every capability it declared
// (the caller has asked the user). Installers that update or restore use Install.
func (r *Registry) Add(ctx context.Context, c *Candidate) (store.PluginRecord, error) {
	name := c.Manifest.Name
	if _, err := r.store.GetPlugin(ctx, name); err == nil {
		return store.PluginRecord{}, fmt.Errorf("add %s: %w (run: hermes plugins remove %s)", name, ErrExists, name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.PluginRecord{}, fmt.Errorf("add %s: %w", name, err)
	}
	return r.Install(ctx, c, "plugin.install", "")
}

// KeptVersions is how many versions of a plugin are kept for `reset --restore`.
const KeptVersions = 5

// Install makes the candidate the plugin's current version, granting every capability its
// manifest declares (the caller has asked the user): its files go into a directory of their own
// under plugins/<name>/, and its sealed lock entry, the kept version and the audit entry
// (event, detail) are written together. A loaded older version is unloaded.
func (r *Registry) Install(ctx context.Context, c *Candidate, event, detail string) (store.PluginRecord, error) {
	name := c.Manifest.Name
	key, err := lockKey(r.paths, true)
	if err != nil {
		return store.PluginRecord{}, fmt.Errorf("install %s: %w", name, err)
	}
	dest := filepath.Join(r.paths.Plugins, name, versionDir(c.Manifest.Version, c.Digest))
	files := map[string][]byte{manifest.File: c.manifest, c.Manifest.Wasm: c.wasm}
	if len(c.Signature) > 0 {
		files[signatureFile] = c.Signature
	}
	if err := installFiles(dest, files); err != nil {
		return store.PluginRecord{}, fmt.Errorf("install %s: %w", name, err)
	}
	granted, _ := json.Marshal(c.Manifest.Capabilities)
	limits, _ := json.Marshal(c.Limits)
	tools, _ := json.Marshal(abi.Description{Tools: c.Tools})
	rec := store.PluginRecord{
		Name: name, Version: c.Manifest.Version, Dir: dest, WasmSHA256: c.Digest,
		Manifest: c.manifest, Granted: granted, Limits: limits, Tools: tools, Enabled: true,
		AddedAt: time.Now().UTC(), Source: c.Source, Signer: c.Signer, SignerKey: c.SignerKey, Signature: c.Signature,
	}
	rec.Seal = sealOf(key, rec)
	if err := r.store.InstallPlugin(ctx, rec, event, detail); err != nil {
		return store.PluginRecord{}, fmt.Errorf("install %s: %w", name, err)
	}
	r.unload(name)
	r.pruneVersions(ctx, name, dest)
	return r.store.GetPlugin(ctx, name)
}

// versionDir names the directory one version's files live in.
func versionDir(version, digest string) string {
	return version + "-" + digest[:12]
}

// pruneVersions forgets all but the KeptVersions most recent versions and deletes their files.
// Failing to prune loses nothing, so it is only logged.
func (r *Registry) pruneVersions(ctx context.Context, name, current string) {
	versions, err := r.store.PluginVersions(ctx, name)
	if err != nil || len(versions) <= KeptVersions {
		return
	}
	for _, v := range versions[KeptVersions:] {
		if v.Dir == current {
			continue
		}
		if err := r.store.ForgetPluginVersion(ctx, name, v.Version, v.WasmSHA256); err == nil {
			_ = os.RemoveAll(v.Dir)
		}
	}
}

// Restore makes a kept version current again, with the grants it had. Its files are re-read and
// must still have the digest recorded for them.
func (r *Registry) Restore(ctx context.Context, kept store.PluginRecord, detail string) (store.PluginRecord, error) {
	files, m, err := ReadDir(kept.Dir)
	if err != nil {
		return store.PluginRecord{}, fmt.Errorf("restore %s %s: %w", kept.Name, kept.Version, err)
	}
	if got := sha256Hex(files.Wasm); got != kept.WasmSHA256 {
		return store.PluginRecord{}, &abi.Error{Code: abi.CodeBadPlugin, Plugin: kept.Name, Message: fmt.Sprintf("kept version %s: module sha256 is %s but %s was recorded; its files changed (run: hermes plugins audit)", kept.Version, got, kept.WasmSHA256)}
	}
	if string(files.Manifest) != string(kept.Manifest) || m.Name != kept.Name {
		return store.PluginRecord{}, &abi.Error{Code: abi.CodeBadPlugin, Plugin: kept.Name, Message: fmt.Sprintf("kept version %s: plugin.toml differs from the one recorded (run: hermes plugins audit)", kept.Version)}
	}
	key, err := lockKey(r.paths, true)
	if err != nil {
		return store.PluginRecord{}, fmt.Errorf("restore %s: %w", kept.Name, err)
	}
	rec := kept
	rec.Enabled = true
	rec.AddedAt = time.Now().UTC()
	rec.Seal = sealOf(key, rec)
	if err := r.store.InstallPlugin(ctx, rec, "plugin.restore", detail); err != nil {
		return store.PluginRecord{}, fmt.Errorf("restore %s: %w", kept.Name, err)
	}
	r.unload(kept.Name)
	return r.store.GetPlugin(ctx, kept.Name)
}

// Versions lists the kept versions of a plugin, newest first.
func (r *Registry) Versions(ctx context.Context, name string) ([]store.PluginRecord, error) {
	return r.store.PluginVersions(ctx, name)
}

// Record returns a plugin's lock entry as stored.
func (r *Registry) Record(ctx context.Context, name string) (store.PluginRecord, error) {
	rec, err := r.store.GetPlugin(ctx, name)
	if err != nil {
		return store.PluginRecord{}, notFound(name, err)
	}
	return rec, nil
}

// SetEnabled enables or disables a plugin. A disabled plugin's tools are not offered and it is
// not loaded; its grants and data are kept.
func (r *Registry) SetEnabled(ctx context.Context, name string, enabled bool) error {
	if err := r.store.SetPluginEnabled(ctx, name, enabled); err != nil {
		return notFound(name, err)
	}
	if !enabled {
		r.unload(name)
	}
	return nil
}

// Remove forgets a plugin, its files and its data.
func (r *Registry) Remove(ctx context.Context, name string) error {
	rec, err := r.store.GetPlugin(ctx, name)
	if err != nil {
		return notFound(name, err)
	}
	r.unload(name)
	if err := r.store.RemovePlugin(ctx, name, rec.Version); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	// Every kept version lives under plugins/<name>/; a plugin added before versions were kept
	// has its files there directly.
	errs := []error{os.RemoveAll(filepath.Join(r.paths.Plugins, name)), os.RemoveAll(filepath.Join(r.paths.PluginData, name))}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove %s: files: %w", name, err)
	}
	return nil
}

func (r *Registry) unload(name string) {
	r.mu.Lock()
	lp := r.loaded[name]
	delete(r.loaded, name)
	r.gen[name]++
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
	Source      string           `json:"source"`
	Signer      string           `json:"signer,omitempty"`     // trusted key's name
	SignerKey   string           `json:"signer_key,omitempty"` // fingerprint, trusted or not
	Unsigned    bool             `json:"unsigned"`             // installed with --allow-unsigned: no trusted signature
	// Convention is how hermes talks to the module: ConventionHermes, ConventionExtism,
	// ConventionHyperMCPv1 or ConventionHyperMCPv2, read from its exports and manifest.
	Convention string            `json:"convention"`
	Config     map[string]string `json:"config,omitempty"` // plugin.toml's [config] settings
}

// The conventions a plugin's module may follow.
const (
	ConventionHermes     = "hermes (describe)"
	ConventionExtism     = "Extism (tools declared in plugin.toml)"
	ConventionHyperMCPv1 = "hyper-mcp v1 (describe/call)"
	ConventionHyperMCPv2 = "hyper-mcp v2 (list_tools/call_tool)"
)

func infoOf(rec store.PluginRecord) (Info, error) {
	m, err := manifest.Parse(rec.Manifest)
	return infoFrom(rec, m, err)
}

// infoFrom is infoOf with the recorded manifest already parsed (m, or the error parsing it).
func infoFrom(rec store.PluginRecord, m *manifest.Manifest, merr error) (Info, error) {
	info := Info{Name: rec.Name, Version: rec.Version, SHA256: rec.WasmSHA256, Enabled: rec.Enabled, Dir: rec.Dir, AddedAt: rec.AddedAt.UTC().Format("2006-01-02T15:04:05Z"),
		Source: rec.Source, Signer: rec.Signer, SignerKey: rec.SignerKey, Unsigned: rec.Signer == ""}
	var desc abi.Description
	if err := errors.Join(
		json.Unmarshal(rec.Granted, &info.Granted),
		json.Unmarshal(rec.Limits, &info.Limits),
		json.Unmarshal(rec.Tools, &desc),
	); err != nil {
		return Info{}, fmt.Errorf("plugin %s: damaged lock entry: %w (run: hermes plugins audit %s)", rec.Name, err, rec.Name)
	}
	info.Tools = desc.Tools
	info.Convention = ConventionHermes
	if merr == nil {
		info.Description, info.Config = m.Description, m.Config
		if extismConvention(m) {
			info.Convention = ConventionExtism
		}
	}
	if len(info.Tools) > 0 {
		switch info.Tools[0].Protocol {
		case abi.ProtocolHyperMCPv1:
			info.Convention = ConventionHyperMCPv1
		case abi.ProtocolHyperMCPv2:
			info.Convention = ConventionHyperMCPv2
		}
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

// Tools lists the tools of every enabled plugin (project-local ones only when they are on)
// from what was recorded when it was added:
// nothing is compiled, so this costs the same with one plugin or fifty.
func (r *Registry) Tools(ctx context.Context) ([]ToolInfo, error) {
	infos, err := r.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []ToolInfo
	for _, info := range infos {
		if !info.Enabled || (strings.HasPrefix(info.Source, ProjectSourcePrefix) && !r.cfg.Plugins.ProjectLocal) {
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

// Verify re-checks an added plugin against its lock entry: the entry matches its seal, the
// manifest still parses and the module's SHA-256 is the pinned one. Nothing is compiled.
func (r *Registry) Verify(ctx context.Context, name string) error {
	rec, err := r.store.GetPlugin(ctx, name)
	if err != nil {
		return notFound(name, err)
	}
	return r.verifyFiles(rec)
}

// verifyFiles is Verify of one lock entry.
func (r *Registry) verifyFiles(rec store.PluginRecord) error {
	if err := r.checkSeal(rec); err != nil {
		return err
	}
	_, wasmBytes, err := readModule(rec)
	if err != nil {
		return err
	}
	if got := sha256Hex(wasmBytes); got != rec.WasmSHA256 {
		return &abi.Error{Code: abi.CodeBadPlugin, Plugin: rec.Name, Message: fmt.Sprintf("module sha256 is %s but %s was pinned when it was added; its files changed", got, rec.WasmSHA256)}
	}
	return nil
}
