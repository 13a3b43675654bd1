package wasm

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/activity"
)

// instanceKey carries the *instance through a call's context to the host functions.
type instanceKey struct{}

// maxCaptured bounds what one call's stdout or stderr keeps.
const maxCaptured = 64 << 10

// instance is one instantiated module and its per-call state. It belongs to one caller at a
// time (the pool sees to that).
type instance struct {
	plugin *Plugin
	mod    api.Module
	funcs  map[string]api.Function
	stack  [1]uint64
	kill   *killSwitch // ends a call at its deadline or when its caller gives up
	ctx    callCtx     // what host functions get: the running call's context and the instance

	// per call
	arena       *arena
	input       []byte
	inputOff    uint64
	output      []byte
	outputSet   bool
	outputLimit uint64
	describing  bool
	errMsg      string
	errSet      bool
	failure     *abi.Error
	httpStatus  int32
	httpHeaders []byte
	written     int64  // bytes written to files by this call (fs_write_bytes)
	tool        string // the export being called, and the session it was called for, for activity
	session     string
	// refusalRecorded is set when this call's activity already holds a denial or limit hit.
	refusalRecorded bool
	notices         *activity.Notices // the caller's, if it asked (activity.WithNotices)
	pathCall        pathCall          // the WASI path_* call in progress (pathListener)

	stdout, stderr boundedBuffer
}

func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{
		plugin: p,
		funcs:  map[string]api.Function{},
		arena:  newArena(uint64(p.limits.MemoryPages) * 65536),
		kill:   newKillSwitch(),
		stdout: boundedBuffer{max: maxCaptured},
		stderr: boundedBuffer{max: maxCaptured},
	}
	in.ctx.in = in
	start := time.Now()
	defer func() { p.logger.Debug("plugin instance ready", "plugin", p.spec.Name, "took", time.Since(start)) }()
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous, so the same module can have many instances
		WithStartFunctions().
		WithStdout(&in.stdout).
		WithStderr(&in.stderr).
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader)
	if fsc := p.fsConfigFor(in); fsc != nil {
		cfg = cfg.WithFSConfig(fsc)
	}
	instCtx := experimental.WithMemoryAllocator(context.WithValue(ctx, instanceKey{}, in), memoryAllocator)
	mod, err := p.runtime.InstantiateModule(instCtx, p.compiled, cfg)
	if err != nil {
		return nil, in.classifyErr(err, "instantiate")
	}
	in.mod = mod
	// As Extism's go-sdk: a reactor's _initialize, else a command's constructors (its _start,
	// the program's main, is never run).
	init := mod.ExportedFunction(abi.ExportInitialize)
	if init == nil && mod.ExportedFunction(abi.ExportStart) != nil {
		init = mod.ExportedFunction(abi.ExportCallCtors)
	}
	if init != nil && len(init.Definition().ParamTypes()) == 0 {
		_, err := in.run(ctx, init, nil)
		in.end()
		if err != nil {
			in.close()
			return nil, in.classifyErr(err, "initialize")
		}
	}
	return in, nil
}

// run calls f under the plugin's timeout and ctx's cancellation, with input as the call's
// input, and returns the failure recorded by a host function in preference to wazero's error.
//
// wazero enforces the deadline: with CloseOnContextDone it watches ctx and, when it is done,
// ends the guest at its next function entry or loop back-edge and only then, on this
// goroutine, releases the instance's resources. (Closing the module from another goroutine
// would release its memory and files while guest code still runs.)
func (in *instance) run(ctx context.Context, f api.Function, input []byte) (rc int32, err error) {
	if err := ctx.Err(); err != nil {
		// The caller gave up before the call began (the instance is still clean): the error
		// wazero would have returned at the guest's first instruction.
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, sys.NewExitError(sys.ExitCodeDeadlineExceeded)
		}
		return 0, sys.NewExitError(sys.ExitCodeContextCanceled)
	}
	in.begin(input)
	// Host functions find the instance in the context, and pass the context (the caller's,
	// with the plugin's deadline) on to whatever they reach outside: store, network, sandbox.
	in.kill.arm(ctx, time.Now().Add(time.Duration(in.plugin.limits.Timeout)))
	defer in.kill.disarm()
	in.stack[0] = 0
	err = f.CallWithStack(&in.ctx, in.stack[:])
	if in.failure != nil {
		err = in.failure
	}
	if err != nil {
		var exit *sys.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 0 {
			err = nil // proc_exit(0) is success, as under Extism; the closed instance is discarded
		}
	}
	return int32(uint32(in.stack[0])), err
}

// usable reports whether the instance may serve another call: wazero may have closed it on a
// deadline that fired as the call returned.
func (in *instance) usable() bool {
	// A call a host function ended (in.failure) unwound the guest mid-way: whatever it held
	// (its allocator's or runtime's state) may be half-changed, so the instance goes too.
	return in.mod != nil && !in.mod.IsClosed() && !in.kill.thrown() && in.failure == nil
}

func (in *instance) begin(input []byte) {
	in.input = input
	in.outputLimit = uint64(in.plugin.limits.OutputBytes)
	if in.describing {
		in.outputLimit = abi.MaxDescriptionBytes
	}
	in.inputOff = 0
	in.output = in.output[:0]
	in.outputSet = false
	in.errMsg, in.errSet = "", false
	in.failure = nil
	in.httpStatus, in.httpHeaders = 0, nil
	in.written = 0
}

// end releases the call's scratch memory and hands captured stdio to the log.
func (in *instance) end() {
	in.arena.reset()
	in.input = nil
	for _, stream := range []struct {
		name string
		buf  *boundedBuffer
	}{{"stdout", &in.stdout}, {"stderr", &in.stderr}} {
		text, dropped := stream.buf.take()
		if text != "" || dropped > 0 {
			in.plugin.logger.Debug("plugin output", "plugin", in.plugin.spec.Name, "stream", stream.name, "text", truncate(text, maxLogMessage), "dropped_bytes", dropped)
		}
	}
}

// abort ends the current call from inside a host function: it records why, then unwinds the
// guest (wazero recovers the panic and returns it from Call).
func (in *instance) abort(fn string, err error) {
	in.failure = classify(fn, err)
	panic(in.failure)
}

func (in *instance) fn(name string) api.Function {
	f, ok := in.funcs[name]
	if !ok {
		f = in.mod.ExportedFunction(name)
		in.funcs[name] = f
	}
	return f
}

func (in *instance) call(ctx context.Context, export string, input []byte, raw bool) ([]byte, error) {
	f := in.fn(export)
	if f == nil {
		return nil, &abi.Error{Code: abi.CodeNotFound, Message: "the module does not export this function"}
	}
	if export == abi.ExportDescribe {
		// The tool list is bounded by the ABI, not by what one tool may return.
		in.describing = true
	}
	in.tool, in.session, in.refusalRecorded = export, activity.SessionOf(ctx), false
	in.notices = activity.NoticesOf(ctx)
	if in.describing {
		in.tool = ""
	}
	rc, err := in.run(ctx, f, input)
	in.describing = false
	defer in.end()
	if err != nil {
		ae := in.classifyErr(err, "call")
		in.recordCallLimit(export, ae)
		if tail := tailOf(string(in.stderr.buf), 512); tail != "" && ae.Code == abi.CodeTrap {
			ae.Message += "; plugin stderr: " + tail
		}
		return nil, ae
	}
	if rc != abi.ReturnOK || in.errMsg != "" {
		msg := in.errMsg
		if !in.errSet {
			msg = fmt.Sprintf("returned %d without an error message", rc)
		}
		return nil, &abi.Error{Code: abi.CodeToolError, Message: msg}
	}
	if raw {
		return append([]byte{}, in.output...), nil
	}
	if !in.outputSet || len(in.output) == 0 {
		return nil, &abi.Error{Code: abi.CodeInvalidOutput, Message: "returned success without setting any output (tools must return JSON)"}
	}
	if !json.Valid(in.output) {
		return nil, &abi.Error{Code: abi.CodeInvalidOutput, Message: fmt.Sprintf("output is not valid JSON (%d bytes starting %q)", len(in.output), truncate(string(in.output), 40))}
	}
	return append([]byte(nil), in.output...), nil
}

// classifyErr explains an error returned by wazero for a call that did not fail in a host function.
func (in *instance) classifyErr(err error, what string) *abi.Error {
	var ae *abi.Error
	if errors.As(err, &ae) {
		return ae
	}
	limits := in.plugin.limits
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeDeadlineExceeded:
			return &abi.Error{Code: abi.CodeLimitExceeded, Message: fmt.Sprintf("%s ran longer than the %s timeout limit; the instance was discarded", what, limits.Timeout), Err: err}
		case sys.ExitCodeContextCanceled:
			return &abi.Error{Code: abi.CodeCanceled, Message: what + " canceled", Err: err}
		}
	}
	if in.memoryExhausted() {
		return &abi.Error{Code: abi.CodeLimitExceeded, Message: fmt.Sprintf("%s ran out of memory: the memory_pages limit is %d pages (%d MiB)", what, limits.MemoryPages, limits.MemoryPages/16), Err: err}
	}
	if exit != nil {
		return &abi.Error{Code: abi.CodeTrap, Message: fmt.Sprintf("%s: the plugin exited with code %d", what, exit.ExitCode()), Err: err}
	}
	if strings.Contains(err.Error(), "memory") && strings.Contains(err.Error(), "limit") {
		return &abi.Error{Code: abi.CodeLimitExceeded, Message: fmt.Sprintf("%s: %s (memory_pages limit %d)", what, firstLine(err.Error()), limits.MemoryPages), Err: err}
	}
	return &abi.Error{Code: abi.CodeTrap, Message: fmt.Sprintf("%s crashed: %s", what, firstLine(err.Error())), Err: err}
}

// memoryExhausted reports whether the instance's memory is (nearly) at its limit, or its
// stderr says it ran out: a guest whose memory.grow was refused usually traps or aborts, and
// that is the limit's doing, not a bug to report as a crash.
func (in *instance) memoryExhausted() bool {
	if in.mod != nil {
		if mem := in.mod.Memory(); mem != nil {
			limit := uint64(in.plugin.limits.MemoryPages) * 65536
			const slack = 4 << 20 // Go's runtime grows its heap in chunks of a few MiB
			if uint64(mem.Size())+min(slack, limit/8) >= limit {
				return true
			}
		}
	}
	return strings.Contains(string(in.stderr.buf), "out of memory")
}

func tailOf(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

func (in *instance) close() {
	if in.mod != nil {
		_ = in.mod.Close(context.Background())
	}
}

// pool hands instances to one caller at a time and bounds how many exist.
type pool struct {
	sem    chan struct{} // a token per instance in use
	mu     sync.Mutex
	idle   []*instance
	closed bool
}

func newPool(max int) *pool { return &pool{sem: make(chan struct{}, max)} }

// ErrClosed is wrapped by the error of a call that arrives after its plugin was closed (it
// was removed, updated or disabled meanwhile); a caller holding a stale *Plugin may load the
// plugin again and retry.
var ErrClosed = errors.New("the plugin was unloaded")

// errPluginClosed is returned by calls that arrive after the plugin was closed. Shared: never
// modify it (withWhere copies).
var errPluginClosed = &abi.Error{Code: abi.CodeNotFound, Message: "the plugin was unloaded", Err: ErrClosed}

func (p *pool) get(ctx context.Context, create func(context.Context) (*instance, error)) (*instance, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, errPluginClosed
	}
	if n := len(p.idle); n > 0 {
		in := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return in, nil
	}
	p.mu.Unlock()
	in, err := create(ctx)
	if err != nil {
		<-p.sem
		return nil, err
	}
	return in, nil
}

// put returns an instance; one that trapped, timed out or was aborted is closed, never reused.
func (p *pool) put(in *instance, healthy bool) {
	if healthy {
		p.mu.Lock()
		p.idle = append(p.idle, in)
		p.mu.Unlock()
	} else {
		in.close()
	}
	<-p.sem
}

// close waits until no call uses an instance (an instance's memory must not be released under
// running guest code), then closes them all. Later calls get errPluginClosed.
func (p *pool) close() {
	for range cap(p.sem) {
		p.sem <- struct{}{}
	}
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, in := range idle {
		in.close()
	}
	for range cap(p.sem) {
		<-p.sem
	}
}
