package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

// Call runs the tool named "<plugin>.<tool>" with a JSON object of arguments and returns its
// JSON result. Every error is an *abi.Error whose code says what kind of failure it was.
//
// Each call first reads the lock's change counter (Refresh): when another process changed the
// lock since, the plugins loaded here are checked again as a new process would check them, so a
// plugin disabled, removed, tampered with or whose signer was untrusted elsewhere is refused
// from the next call on. Calls already running finish.
func (r *Registry) Call(ctx context.Context, fullName string, args []byte) ([]byte, error) {
	if _, err := r.Refresh(ctx); err != nil {
		return nil, err
	}
	out, err := r.call(ctx, fullName, args)
	if errors.Is(err, wasm.ErrClosed) {
		// Updated, restored or re-enabled while this call was on its way: once more, with the
		// plugin as it is now (or the reason it is not there any more).
		out, err = r.call(ctx, fullName, args)
	}
	return out, err
}

func (r *Registry) call(ctx context.Context, fullName string, args []byte) ([]byte, error) {
	pluginName, toolName, ok := SplitToolName(fullName)
	if !ok {
		return nil, &abi.Error{Code: abi.CodeNotFound, Message: fmt.Sprintf("%q is not a tool name like files.read (see: hermes tools list)", fullName)}
	}
	lp, err := r.load(ctx, pluginName)
	if err != nil {
		return nil, err
	}
	schema, ok := lp.schemas[toolName]
	tool := lp.tools[toolName]
	if !ok {
		return nil, &abi.Error{Code: abi.CodeNotFound, Plugin: pluginName, Tool: toolName, Message: "no such tool (see: hermes tools list)"}
	}
	args, value, argErr := checkArgs(schema, args, abi.MaxValidationWork)
	if argErr != nil {
		argErr.Plugin, argErr.Tool = pluginName, toolName
		return nil, argErr
	}
	if tool.Protocol != "" {
		return callHyperMCP(ctx, lp.plugin, tool, args)
	}
	input := args
	if tool.Input == abi.IOText {
		input = []byte(value["input"].(string)) // the schema requires the string
	}
	if tool.Output != abi.IOText {
		return lp.plugin.Call(ctx, tool.ExportName(), input)
	}
	out, err := lp.plugin.CallRaw(ctx, tool.ExportName(), input)
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(out))
}

// loading is one plugin being compiled; callers that want it meanwhile wait on done.
type loading struct {
	done chan struct{}
	lp   *loadedPlugin
	err  error
}

// load returns the plugin, compiling and linking it on first use. Only that plugin's callers
// wait while it compiles (about a second for a Go plugin); other plugins' calls go on. The lock
// entry's seal and the module's digest are checked every time a plugin is loaded.
func (r *Registry) load(ctx context.Context, name string) (*loadedPlugin, error) {
	r.mu.Lock()
	if lp, ok := r.loaded[name]; ok {
		r.mu.Unlock()
		return lp, nil
	}
	if l, ok := r.inflight[name]; ok {
		r.mu.Unlock()
		select {
		case <-l.done:
			return l.lp, l.err
		case <-ctx.Done():
			return nil, &abi.Error{Code: abi.CodeCanceled, Plugin: name, Message: "canceled while the plugin was loading", Err: ctx.Err()}
		}
	}
	l := &loading{done: make(chan struct{})}
	r.inflight[name] = l
	gen := r.gen[name]
	r.mu.Unlock()

	l.lp, l.err = r.loadUncached(ctx, name)

	r.mu.Lock()
	delete(r.inflight, name)
	stale := r.gen[name] != gen // removed, updated or disabled while it compiled
	if l.err == nil && !stale {
		r.loaded[name] = l.lp
	}
	r.mu.Unlock()
	close(l.done)
	if l.err == nil && stale {
		_ = l.lp.plugin.Close(context.Background())
		return r.load(ctx, name)
	}
	return l.lp, l.err
}

func (r *Registry) loadUncached(ctx context.Context, name string) (*loadedPlugin, error) {
	rec, err := r.store.GetPlugin(ctx, name)
	if err != nil {
		return nil, notFound(name, err)
	}
	if err := r.checkSeal(rec); err != nil {
		return nil, err
	}
	if err := r.checkSigner(ctx, rec); err != nil {
		return nil, err
	}
	// The recorded manifest is parsed once for the entry's description and the module's path.
	m, merr := manifest.Parse(rec.Manifest)
	info, err := infoFrom(rec, m, merr)
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: err.Error(), Err: err}
	}
	if !info.Enabled {
		return nil, &abi.Error{Code: abi.CodeDenied, Plugin: name, Message: "plugin is disabled (run: hermes plugins enable " + name + ")"}
	}
	if strings.HasPrefix(rec.Source, ProjectSourcePrefix) && !r.cfg.Plugins.ProjectLocal {
		return nil, &abi.Error{Code: abi.CodeDenied, Plugin: name, Message: "project-local plugins are off (run: hermes config set plugins.project_local true)"}
	}
	wasmBytes, err := readModuleOf(rec, m, merr)
	if err != nil {
		return nil, err
	}
	// Limits are re-clamped to today's configuration: lowering a default applies at once.
	limits, _ := info.Limits.Within(r.cfg.Plugins.Limits)
	mounts, err := r.mounts(name, info.Granted)
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: err.Error(), Err: err}
	}
	spec := wasm.Spec{
		Name: name, Wasm: wasmBytes, SHA256: rec.WasmSHA256, Granted: info.Granted, Limits: limits,
		Mounts: mounts, DataDir: filepath.Join(r.paths.PluginData, name), Env: r.envLookup, Exec: r.exec, MaxInstances: r.cfg.Plugins.MaxInstances,
		Activity: r.acts, Config: m.Config, StubUngranted: extismConvention(m),
	}
	if info.Granted.KV {
		spec.KV = pluginKV{store: r.store, plugin: name, maxBytes: limits.KVBytes}
	}
	p, err := r.engine.Load(ctx, spec)
	if err != nil {
		return nil, err
	}
	lp := &loadedPlugin{rec: rec, plugin: p, schemas: map[string]*toolSchema{}, tools: map[string]abi.Tool{}}
	for _, t := range info.Tools {
		s, err := compileSchema(t)
		if err != nil {
			_ = p.Close(ctx)
			return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Tool: t.Name, Message: err.Error()}
		}
		lp.schemas[t.Name], lp.tools[t.Name] = s, t
	}
	return lp, nil
}

// readModule reads an added plugin's module from where it was installed.
func readModule(rec store.PluginRecord) (*manifest.Manifest, []byte, error) {
	m, err := manifest.Parse(rec.Manifest)
	wasmBytes, err := readModuleOf(rec, m, err)
	if err != nil {
		return nil, nil, err
	}
	return m, wasmBytes, nil
}

// readModuleOf is readModule with the recorded manifest already parsed (m, or the error parsing it).
func readModuleOf(rec store.PluginRecord, m *manifest.Manifest, merr error) ([]byte, error) {
	if merr != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: rec.Name, Message: "recorded manifest: " + merr.Error(), Err: merr}
	}
	wasmBytes, err := readCapped(filepath.Join(rec.Dir, m.Wasm), MaxWasmBytes)
	if err != nil {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: rec.Name, Message: fmt.Sprintf("read module: %v (run: hermes plugins audit %s)", err, rec.Name), Err: err}
	}
	return wasmBytes, nil
}

// Plugin returns the loaded plugin (compiling it if needed), for benchmarks and warm-up.
func (r *Registry) Plugin(ctx context.Context, name string) (*wasm.Plugin, error) {
	lp, err := r.load(ctx, name)
	if err != nil {
		return nil, err
	}
	return lp.plugin, nil
}

// mounts turns granted fs entries into directories. {workspace} is the configured workspace
// (default: the current directory); {plugin_data} is created on demand. A workspace
// subdirectory that does not exist is not mounted: hermes never creates directories in the
// user's workspace on a plugin's behalf.
func (r *Registry) mounts(plugin string, granted abi.Capabilities) ([]wasm.Mount, error) {
	writable := map[string]bool{}
	for _, e := range granted.FSWrite {
		writable[e] = true
	}
	var out []wasm.Mount
	seen := map[string]bool{}
	for _, entry := range append(append([]string{}, granted.FSRead...), granted.FSWrite...) {
		if seen[entry] {
			continue
		}
		seen[entry] = true
		hostDir, err := r.expand(plugin, entry)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(hostDir); err != nil {
			continue
		}
		out = append(out, wasm.Mount{HostDir: hostDir, GuestPath: granted.GuestPath(entry), Writable: writable[entry],
			Data: strings.HasPrefix(entry, abi.PlaceholderPluginData)})
	}
	return out, nil
}

func (r *Registry) expand(plugin, entry string) (string, error) {
	switch {
	case strings.HasPrefix(entry, abi.PlaceholderWorkspace):
		ws := r.cfg.Workspace
		if ws == "" {
			var err error
			if ws, err = os.Getwd(); err != nil {
				return "", fmt.Errorf("find workspace: %w", err)
			}
		}
		ws, err := filepath.Abs(ws)
		if err != nil {
			return "", fmt.Errorf("find workspace: %w", err)
		}
		return filepath.Join(ws, strings.TrimPrefix(entry, abi.PlaceholderWorkspace)), nil
	case strings.HasPrefix(entry, abi.PlaceholderPluginData):
		dir := filepath.Join(r.paths.PluginData, plugin)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create plugin data directory: %w", err)
		}
		return filepath.Join(dir, strings.TrimPrefix(entry, abi.PlaceholderPluginData)), nil
	}
	return entry, nil
}

// envLookup serves granted env keys: the process environment first, then ~/.hermes/.env, which
// is read once and only when a plugin asks.
func (r *Registry) envLookup(key string) (string, bool, error) {
	if v, ok := os.LookupEnv(key); ok {
		return v, true, nil
	}
	r.envOnce.Do(func() {
		r.dotEnv, r.envErr = config.ReadDotEnv(r.paths.Env)
	})
	if r.envErr != nil {
		return "", false, &abi.Error{Code: abi.CodeDenied, Message: "env: " + r.envErr.Error(), Err: r.envErr}
	}
	v, ok := r.dotEnv[key]
	return v, ok, nil
}

// pluginKV scopes the store's key-value data to one plugin, whose total size the store keeps
// within maxBytes (the kv_bytes limit).
type pluginKV struct {
	store    Store
	plugin   string
	maxBytes int64
}

func (k pluginKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := k.store.KVGet(ctx, k.plugin, key)
	return v, ok, kvError(err)
}
func (k pluginKV) Set(ctx context.Context, key string, value []byte) error {
	return kvError(k.store.KVSet(ctx, k.plugin, key, value, k.maxBytes))
}
func (k pluginKV) Delete(ctx context.Context, key string) error {
	return kvError(k.store.KVDelete(ctx, k.plugin, key))
}

// kvError classifies the store's size and count limits as the plugin's limit, not a crash.
func kvError(err error) error {
	if errors.Is(err, store.ErrKVLimit) {
		return &abi.Error{Code: abi.CodeLimitExceeded, Message: "kv: " + err.Error(), Err: err}
	}
	return err
}

// toolSchema is a tool's parameters schema, resolved, with what bounds validating against it.
type toolSchema struct {
	resolved *jsonschema.Resolved
	bound    *abi.SchemaBound
}

// compileSchema checks and resolves a tool's parameters schema. Schemas may not reference anything outside
// themselves: there is no loader, so no network or file is ever read.
func compileSchema(t abi.Tool) (*toolSchema, error) {
	// The schema is the plugin's: what validating against it may cost is bounded first, at
	// install, at every load and so before any call validates arguments against it.
	bound, err := abi.BoundSchema(t.Parameters)
	if err != nil {
		return nil, err
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(t.Parameters, &s); err != nil {
		return nil, fmt.Errorf("parameters schema is not a JSON Schema: %w", err)
	}
	r, err := s.Resolve(nil)
	if err != nil {
		return nil, fmt.Errorf("parameters schema is invalid: %s", firstLine(err.Error()))
	}
	return &toolSchema{resolved: r, bound: bound}, nil
}

// checkArgs decodes a call's arguments (none is {}) and validates them against the tool's
// schema, returning them as the plugin is to receive them. The validator cannot be stopped
// once it starts and a call's timeout only covers the plugin, so what validating would take is
// counted first (at most budget steps, a few milliseconds for abi.MaxValidationWork) and
// arguments that would take more are refused without validating them: a schema that applies
// thousands of subschemas to every item of an array would otherwise keep the host busy for
// minutes on a megabyte of arguments. The error's plugin and tool are the caller's to fill in.
func checkArgs(s *toolSchema, args []byte, budget int64) ([]byte, map[string]any, *abi.Error) {
	if len(bytes.TrimSpace(args)) == 0 {
		args = []byte("{}")
	}
	var decoded any
	if err := json.Unmarshal(args, &decoded); err != nil {
		return nil, nil, &abi.Error{Code: abi.CodeInvalidArgs, Message: "arguments are not valid JSON: " + err.Error()}
	}
	value, isObject := decoded.(map[string]any)
	if !isObject {
		return nil, nil, &abi.Error{Code: abi.CodeInvalidArgs, Message: "arguments must be a JSON object"}
	}
	if s.bound.Work(value, budget) > budget {
		return nil, nil, &abi.Error{Code: abi.CodeLimitExceeded, Message: fmt.Sprintf("validating these arguments against the tool's parameters schema would take more than %d steps (the host's budget for one call); send fewer or smaller arguments, or ask the plugin's author for a simpler schema", budget)}
	}
	if err := s.resolved.Validate(value); err != nil {
		return nil, nil, &abi.Error{Code: abi.CodeInvalidArgs, Message: schemaMessage(err)}
	}
	return args, value, nil
}

// schemaMessage flattens a validation error to one line naming the failing field.
func schemaMessage(err error) string {
	msg := strings.TrimPrefix(firstLine(err.Error()), "validating root: ")
	return "arguments do not match the tool's schema: " + msg
}
