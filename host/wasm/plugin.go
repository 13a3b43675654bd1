package wasm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/host/fsguard"
	"github.com/hermes-agent/hermes/host/netguard"
)

// KV is a plugin's private key-value store (the kv capability). The host hands each plugin one
// already scoped to it, so nothing a plugin passes can name another plugin's data.
type KV interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte) error
	Delete(ctx context.Context, key string) error
}

// Executor runs a plugin's shell command through the configured sandbox (the exec capability).
type Executor interface {
	Exec(ctx context.Context, plugin string, req abi.ExecRequest) (abi.ExecResult, error)
}

// Mount is a granted directory and where the plugin sees it.
type Mount struct {
	HostDir   string
	GuestPath string
	Writable  bool
	// Data marks a directory inside the plugin's {plugin_data} (Spec.DataDir): what is written
	// there counts toward the data_bytes limit.
	Data bool
}

// Spec is everything needed to run one plugin. Capabilities outside Granted are never linked,
// whatever the other fields say.
type Spec struct {
	Name    string
	Wasm    []byte
	SHA256  string // digest pinned when the plugin was added; a mismatch refuses to load
	Granted abi.Capabilities
	Limits  abi.Limits // effective limits, every field set
	Mounts  []Mount
	// DataDir is the plugin's {plugin_data} on the host, whose total size is bounded by
	// Limits.DataBytes; "" when no mount is inside it.
	DataDir string
	Env     func(key string) (string, bool, error) // values for granted env keys
	Config  map[string]string                      // plugin.toml's [config]: non-secret settings
	KV      KV
	Exec    Executor
	// Inert links the granted capabilities' functions but makes each refuse: for describing a
	// plugin the user has not accepted yet.
	Inert bool
	// StubUngranted is for modules of the Extism convention (tools declared in plugin.toml),
	// which import host functions they never call: an import of a capability not granted is
	// linked to a function that refuses every call (denied) instead of refusing the module.
	// It is set by itself for a module whose exports are a hyper-mcp plugin's (see
	// abi.HyperMCPProtocol). Native hermes plugins keep the strict import audit.
	StubUngranted bool
	// MaxInstances bounds concurrent calls (and warm instances); 0 means GOMAXPROCS, at least 2.
	MaxInstances int
	// Activity receives every capability use (see host/activity); nil records nothing.
	Activity activity.Sink
}

// linkable reports whether the module may import the functions of capability c: it was
// granted, or it is config_get's and the manifest has [config] settings.
func (s Spec) linkable(c abi.Capability) bool {
	return s.Granted.Has(c) || c == abi.CapEnv && len(s.Config) > 0
}

// Plugin is a compiled, linked plugin with a pool of instances. Safe for concurrent calls.
type Plugin struct {
	spec       Spec
	limits     abi.Limits
	digest     string
	engine     *Engine
	runtime    wazero.Runtime
	compiled   wazero.CompiledModule
	mounts     []guardedMount
	data       *dataUsage
	closers    []io.Closer
	http       *netguard.Client
	logger     *slog.Logger
	logLimiter *tokenBucket
	// clientLimiter bounds the notifications a plugin sends its call's client.
	clientLimiter *tokenBucket
	exports       map[string]api.FunctionDefinition
	callable      map[string]bool // Callable(exports[name]), decided once: wazero builds a definition's types anew on every ask
	pool          *pool
}

// Name is the plugin's name.
func (p *Plugin) Name() string { return p.spec.Name }

func badPlugin(name, format string, args ...any) *abi.Error {
	return &abi.Error{Code: abi.CodeBadPlugin, Plugin: name, Message: fmt.Sprintf(format, args...)}
}

// Load verifies, compiles and links a plugin. It does not instantiate it: the first call does.
func (e *Engine) Load(ctx context.Context, spec Spec) (_ *Plugin, err error) {
	start := time.Now()
	sum := sha256.Sum256(spec.Wasm)
	digest := hex.EncodeToString(sum[:])
	if spec.SHA256 != "" && spec.SHA256 != digest {
		return nil, badPlugin(spec.Name, "module sha256 is %s but %s was pinned when it was added; its files changed (run: hermes plugins audit)", digest, spec.SHA256)
	}
	if spec.Limits.MemoryPages == 0 || spec.Limits.Timeout <= 0 || spec.Limits.OutputBytes <= 0 ||
		spec.Limits.FSWriteBytes <= 0 || spec.Limits.DataBytes <= 0 {
		return nil, fmt.Errorf("load plugin %s: limits must all be set", spec.Name)
	}
	if spec.Granted.KV && spec.KV == nil && !spec.Inert {
		return nil, fmt.Errorf("load plugin %s: kv granted but no store given", spec.Name)
	}
	p := &Plugin{
		spec:       spec,
		limits:     spec.Limits,
		digest:     digest,
		engine:     e,
		logger:     e.logger,
		logLimiter: newTokenBucket(20, 100),

		clientLimiter: newTokenBucket(20, 100),
	}
	defer func() {
		if err != nil {
			_ = p.Close(context.Background())
		}
	}()
	if err := p.compile(ctx); err != nil {
		return nil, err
	}
	if !p.spec.StubUngranted {
		exports := p.compiled.ExportedFunctions()
		p.spec.StubUngranted = abi.HyperMCPProtocol(func(name string) bool { _, ok := exports[name]; return ok }) != ""
	}
	if err := p.checkModule(); err != nil {
		return nil, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(withPathListener(ctx), p.runtime); err != nil {
		return nil, fmt.Errorf("load plugin %s: link WASI: %w", spec.Name, err)
	}
	if err := buildHostModules(ctx, p.runtime, p.spec); err != nil {
		return nil, fmt.Errorf("load plugin %s: %w", spec.Name, err)
	}
	if spec.Granted.Has(abi.CapHTTP) && !spec.Inert {
		p.http, err = netguard.NewClient(netguard.Policy{Allow: spec.Granted.HTTP, MaxResponseBytes: spec.Limits.HTTPResponseBytes})
		if err != nil {
			return nil, badPlugin(spec.Name, "capabilities.http: %v", err)
		}
	}
	if err := p.mount(); err != nil {
		return nil, err
	}
	p.logger.Debug("plugin loaded", "plugin", spec.Name, "took", time.Since(start))
	maxInstances := spec.MaxInstances
	if maxInstances <= 0 {
		maxInstances = max(2, runtime.GOMAXPROCS(0))
	}
	p.pool = newPool(maxInstances)
	return p, nil
}

func (p *Plugin) newRuntime(ctx context.Context, cache wazero.CompilationCache) wazero.Runtime {
	cfg := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(p.limits.MemoryPages)
	if cache != nil {
		cfg = cfg.WithCompilationCache(cache)
	}
	return wazero.NewRuntimeWithConfig(ctx, cfg)
}

// compile compiles through the disk cache. wazero refuses a cache entry that fails its checksum
// or is cut short, but reports that as a compile error rather than recompiling; so on any error
// the version's cache is thrown away and the module compiled once more from its bytes. A second
// failure is the module's own.
func (p *Plugin) compile(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		cache, err := p.engine.cache(p.digest)
		if err != nil {
			p.logger.Warn("compile cache unavailable; compiling without it", "plugin", p.spec.Name, "err", err)
		}
		p.runtime = p.newRuntime(ctx, cache)
		p.compiled, err = p.runtime.CompileModule(ctx, p.spec.Wasm)
		if err == nil {
			return nil
		}
		_ = p.runtime.Close(ctx)
		p.runtime = nil
		if attempt == 0 && cache != nil {
			if strings.Contains(err.Error(), "compilationcache") {
				p.logger.Warn("compile cache entry unusable; recompiling", "plugin", p.spec.Name, "err", firstLine(err.Error()))
			}
			p.engine.dropCache(p.digest)
			continue
		}
		return badPlugin(p.spec.Name, "%s is not a valid WebAssembly module: %s (rebuild the plugin)", p.spec.Name+".wasm", firstLine(err.Error()))
	}
}

// checkModule refuses modules that import anything not granted.
func (p *Plugin) checkModule() error {
	for _, def := range p.compiled.ImportedFunctions() {
		module, name, _ := def.Import()
		if module == abi.ModuleWASI {
			continue
		}
		f, ok := abi.LookupHostFunc(module, name)
		if !ok {
			return importError(badPlugin(p.spec.Name, "imports %s.%s, which hermes ABI v%d does not provide (see abi/README.md)", module, name, abi.Version))
		}
		if f.Capability != "" && !p.spec.linkable(f.Capability) && !p.spec.StubUngranted {
			return importError(&abi.Error{Code: abi.CodeDenied, Plugin: p.spec.Name, Message: fmt.Sprintf(
				"imports %s.%s, which needs the %q capability; it was not granted (the manifest must declare it and the user must accept it)", module, name, f.Capability)})
		}
		if !sameTypes(def.ParamTypes(), f.Params) || !sameTypes(def.ResultTypes(), f.Results) {
			return importError(badPlugin(p.spec.Name, "imports %s.%s with signature %s, but the ABI defines %s", module, name, signature(def.ParamTypes(), def.ResultTypes()), abiSignature(f)))
		}
	}
	for _, def := range p.compiled.ImportedMemories() {
		module, name, _ := def.Import()
		return importError(badPlugin(p.spec.Name, "imports memory %s.%s; a plugin must define its own memory", module, name))
	}
	p.exports = p.compiled.ExportedFunctions()
	p.callable = make(map[string]bool, len(p.exports))
	for name, def := range p.exports {
		p.callable[name] = Callable(def)
	}
	return nil
}

func importError(e *abi.Error) *abi.Error {
	e.Err = ErrImport
	return e
}

func (p *Plugin) mount() error {
	if len(p.spec.Mounts) == 0 || p.spec.Inert {
		return nil
	}
	if p.spec.DataDir != "" {
		p.data = &dataUsage{dir: p.spec.DataDir, limit: p.limits.DataBytes}
	}
	for _, m := range p.spec.Mounts {
		fs, closer, err := fsguard.New(m.HostDir, m.Writable)
		if err != nil {
			return badPlugin(p.spec.Name, "mount %s at %s: %v", m.HostDir, m.GuestPath, err)
		}
		p.closers = append(p.closers, closer)
		p.mounts = append(p.mounts, guardedMount{fs: fs, guest: m.GuestPath, writable: m.Writable, data: m.Data && p.data != nil})
	}
	return nil
}

// Close releases every instance and the compiled module.
func (p *Plugin) Close(ctx context.Context) error {
	if p.pool != nil {
		p.pool.close()
	}
	var errs []error
	if p.runtime != nil {
		errs = append(errs, p.runtime.Close(ctx))
	}
	for _, c := range p.closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Describe calls the plugin's describe export and checks what it returns.
func (p *Plugin) Describe(ctx context.Context) (*abi.Description, error) {
	if _, ok := p.exports[abi.ExportDescribe]; !ok {
		return nil, badPlugin(p.spec.Name, "does not export %q, which lists its tools (see abi/README.md)", abi.ExportDescribe)
	}
	out, err := p.Call(ctx, abi.ExportDescribe, nil)
	if err != nil {
		return nil, err
	}
	d, err := abi.ParseDescription(out)
	if err != nil {
		return nil, badPlugin(p.spec.Name, "%v", err)
	}
	for _, t := range d.Tools {
		def, ok := p.exports[t.Name]
		if !ok {
			return nil, badPlugin(p.spec.Name, "describe lists tool %q but the module does not export it", t.Name)
		}
		if !Callable(def) {
			return nil, badPlugin(p.spec.Name, "describe lists tool %q but its export has signature %s; a tool must be () -> i32 or () -> ()", t.Name, signature(def.ParamTypes(), def.ResultTypes()))
		}
	}
	return d, nil
}

// UngrantedImports lists the capabilities whose functions the module imports without their
// grant (linked to refusing stubs when StubUngranted), in abi.HostFuncs order.
func (p *Plugin) UngrantedImports() []abi.Capability {
	var caps []abi.Capability
	for _, def := range p.compiled.ImportedFunctions() {
		module, name, _ := def.Import()
		if f, ok := abi.LookupHostFunc(module, name); ok && f.Capability != "" && !p.spec.linkable(f.Capability) && !slices.Contains(caps, f.Capability) {
			caps = append(caps, f.Capability)
		}
	}
	slices.Sort(caps)
	return caps
}

// Exports reports whether the module exports a function of that name.
func (p *Plugin) Exports(name string) bool {
	_, ok := p.exports[name]
	return ok
}

// CheckTool reports whether the module exports export with a signature a tool may have.
func (p *Plugin) CheckTool(tool, export string) error {
	def, ok := p.exports[export]
	if !ok {
		return badPlugin(p.spec.Name, "plugin.toml declares tool %q but the module does not export %q", tool, export)
	}
	if !Callable(def) {
		return badPlugin(p.spec.Name, "plugin.toml declares tool %q but export %q has signature %s; a tool must be () -> i32 or () -> ()", tool, export, signature(def.ParamTypes(), def.ResultTypes()))
	}
	return nil
}

// Call runs one export with input and returns its output, which must be JSON. Errors are
// *abi.Error.
func (p *Plugin) Call(ctx context.Context, export string, input []byte) (out []byte, err error) {
	return p.call(ctx, export, input, false)
}

// CallRaw runs one export like Call but takes its output as it is: any bytes, or none (as an
// Extism host does; for tools whose manifest declares text output).
func (p *Plugin) CallRaw(ctx context.Context, export string, input []byte) (out []byte, err error) {
	return p.call(ctx, export, input, true)
}

func (p *Plugin) call(ctx context.Context, export string, input []byte, raw bool) (out []byte, err error) {
	def, ok := p.exports[export]
	if !ok {
		return nil, &abi.Error{Code: abi.CodeNotFound, Plugin: p.spec.Name, Tool: export, Message: "the module does not export this function"}
	}
	if !p.callable[export] {
		return nil, &abi.Error{Code: abi.CodeBadPlugin, Plugin: p.spec.Name, Tool: export, Message: fmt.Sprintf("export has signature %s; tools and describe must be () -> i32 or () -> ()", signature(def.ParamTypes(), def.ResultTypes()))}
	}
	in, err := p.pool.get(ctx, p.newInstance)
	if err != nil {
		return nil, withWhere(err, p.spec.Name, export)
	}
	healthy := false
	defer func() {
		// A panic below this point (ours, never the guest's: wazero turns those into errors)
		// fails this call only.
		if r := recover(); r != nil {
			p.logger.Error("panic during plugin call", "plugin", p.spec.Name, "export", export, "panic", r)
			out, err = nil, &abi.Error{Code: abi.CodeTrap, Plugin: p.spec.Name, Tool: export, Message: fmt.Sprintf("internal error: %v", r)}
			healthy = false
		}
		p.pool.put(in, healthy)
	}()
	out, err = in.call(ctx, export, input, raw)
	if err != nil {
		code := abi.CodeOf(err)
		healthy = (code == abi.CodeToolError || code == abi.CodeInvalidOutput) && in.usable()
		return nil, withWhere(err, p.spec.Name, export)
	}
	healthy = in.usable()
	return out, nil
}

// Warm makes sure n instances are ready, so the first calls do not pay for instantiation.
func (p *Plugin) Warm(ctx context.Context, n int) error {
	var got []*instance
	defer func() {
		for _, in := range got {
			p.pool.put(in, true)
		}
	}()
	for range min(n, cap(p.pool.sem)) {
		in, err := p.pool.get(ctx, p.newInstance)
		if err != nil {
			return withWhere(err, p.spec.Name, "")
		}
		got = append(got, in)
	}
	return nil
}

func withWhere(err error, plugin, tool string) error {
	var ae *abi.Error
	if errors.As(err, &ae) {
		// A copy: the error may be a shared value (errPluginClosed), or one another caller holds.
		where := *ae
		if where.Plugin == "" {
			where.Plugin = plugin
		}
		if where.Tool == "" {
			where.Tool = tool
		}
		return &where
	}
	if errors.Is(err, context.Canceled) {
		return &abi.Error{Code: abi.CodeCanceled, Plugin: plugin, Tool: tool, Message: "call canceled", Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &abi.Error{Code: abi.CodeLimitExceeded, Plugin: plugin, Tool: tool, Message: "deadline exceeded before the call could start", Err: err}
	}
	return &abi.Error{Code: abi.CodeTrap, Plugin: plugin, Tool: tool, Message: firstLine(err.Error()), Err: err}
}

func sameTypes(got []api.ValueType, want []abi.ValueType) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != api.ValueType(want[i]) {
			return false
		}
	}
	return true
}

// Callable reports whether an export can be called as a tool: () -> i32 (the return code) or,
// as Extism allows, () -> () (success unless it sets an error).
func Callable(def api.FunctionDefinition) bool {
	return len(def.ParamTypes()) == 0 && (len(def.ResultTypes()) == 0 || sameTypes(def.ResultTypes(), []abi.ValueType{abi.I32}))
}

func signature(params, results []api.ValueType) string {
	name := func(ts []api.ValueType) string {
		var parts []string
		for _, t := range ts {
			parts = append(parts, api.ValueTypeName(t))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return name(params) + " -> " + name(results)
}

func abiSignature(f abi.HostFunc) string {
	return signature(valueTypes(f.Params), valueTypes(f.Results))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
