package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/store"
)

// Tool is a function the model may call.
type Tool struct {
	// Name is what the model sees: 1 to 64 of [a-zA-Z0-9_-]. Plugin tools "files.read" are
	// named "files__read" (see ToolName): OpenAI function names may not contain dots.
	Name        string
	Description string
	Parameters  json.RawMessage // a JSON Schema object; empty means no parameters
	// Call runs the tool with the model's arguments (a JSON object) and returns its result,
	// usually JSON. An error becomes the result "error: <code>: <message>", with the code of
	// an *abi.Error in its chain ("tool_error" otherwise). Call must return when ctx is done.
	Call func(ctx context.Context, args []byte) ([]byte, error)
}

// ToolName turns a registry tool name ("files.read") into a valid model-facing function name
// ("files__read"): dots become "__", other characters outside [a-zA-Z0-9_-] become "_", and a
// name longer than 64 is cut and suffixed with a hash of the whole.
func ToolName(full string) string {
	var b strings.Builder
	for _, r := range full {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		case r == '.':
			b.WriteString("__")
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" {
		return "tool"
	}
	if len(s) > 64 {
		sum := sha256.Sum256([]byte(full))
		s = s[:55] + "_" + hex.EncodeToString(sum[:4])
	}
	return s
}

// DisplayName is the name a person reads for a model-facing tool name: a plugin tool's
// "files__read" is "files.read", as every other command names it; "terminal" and the skill
// tools stay as they are. Plugin names have no '_', so the first "__" is where the plugin's
// name ends.
func DisplayName(name string) string {
	plugin, tool, ok := strings.Cut(name, "__")
	if !ok || plugin == "" || tool == "" {
		return name
	}
	for i := 0; i < len(plugin); i++ {
		if c := plugin[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return name
		}
	}
	return plugin + "." + tool
}

func validToolName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// PluginRegistry is the part of *registry.Registry PluginTools needs.
type PluginRegistry interface {
	Tools(ctx context.Context) ([]registry.ToolInfo, error)
	Call(ctx context.Context, name string, args []byte) ([]byte, error)
}

// PluginTools returns a Tool for every tool of every enabled plugin, named with ToolName and
// calling reg.Call with the registry's name.
func PluginTools(reg PluginRegistry, ctx context.Context) ([]Tool, error) {
	infos, err := reg.Tools(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Tool, 0, len(infos))
	for _, info := range infos {
		full := info.Name
		out = append(out, Tool{
			Name:        ToolName(full),
			Description: info.Description,
			Parameters:  info.Parameters,
			Call: func(ctx context.Context, args []byte) ([]byte, error) {
				return reg.Call(ctx, full, args)
			},
		})
	}
	return out, nil
}

// RefreshingRegistry is a PluginRegistry that tells when its lock changed: *registry.Registry.
type RefreshingRegistry interface {
	PluginRegistry
	// Refresh returns the lock version the registry reflects (see registry.Registry.Refresh).
	Refresh(ctx context.Context) (int64, error)
}

// PluginReload is a Config.Reload for an agent whose tools are reg's plugin tools (PluginTools,
// listed at lock version since) followed by others (the terminal, the skill readers): before
// each model request it asks reg whether the lock changed (one small query) and, when it did,
// lists the plugin tools again. A plugin disabled, removed or updated by another process is so
// offered as it is now from the next request on. Like every Config.Reload it is not called
// concurrently (the agent holds a lock around it), so it keeps the version it saw unguarded.
func PluginReload(reg RefreshingRegistry, since int64, others []Tool) func(ctx context.Context) ([]Tool, bool, error) {
	seen := since
	others = append([]Tool(nil), others...)
	return func(ctx context.Context) ([]Tool, bool, error) {
		v, err := reg.Refresh(ctx)
		if err != nil {
			return nil, false, err
		}
		if v == seen {
			return nil, false, nil
		}
		tools, err := PluginTools(reg, ctx)
		if err != nil {
			return nil, false, err
		}
		seen = v
		return append(tools, others...), true, nil
	}
}

// TerminalOrigin is who asks, in approval prompts, for the terminal tool's commands.
const TerminalOrigin = "the agent"

var terminalParams = json.RawMessage(`{
  "type": "object",
  "properties": {
    "command": {"type": "string", "description": "The shell command line, run with /bin/sh -c in the workspace. Non-interactive: stdin is empty."},
    "timeout_seconds": {"type": "integer", "minimum": 1, "description": "Kill the command after this many seconds (at most the configured limit, which is also the default)."}
  },
  "required": ["command"],
  "additionalProperties": false
}`)

// TerminalTool is the "terminal" tool: it runs {"command": "...", "timeout_seconds": n} on b
// with env and returns {"exit_code": n, "output": "..."} ("timed_out": true when the command was
// killed at its timeout). timeout is the default and the most a call may ask for (0: the
// backend's). A command the backend refuses (the approval gate) is an error with code
// "denied", which the model reads.
func TerminalTool(b sandbox.Backend, env map[string]string, timeout time.Duration) Tool {
	env = maps.Clone(env)
	desc := "Run a shell command and return its exit code and output (stdout and stderr interleaved; long output keeps its head and tail). "
	if b != nil && b.Name() == "local" {
		desc += "Commands run on the user's machine: dangerous ones need the user's approval and may be refused."
	} else {
		desc += "Commands run in a sandboxed container."
	}
	return Tool{
		Name:        "terminal",
		Description: desc,
		Parameters:  terminalParams,
		Call: func(ctx context.Context, args []byte) ([]byte, error) {
			var in struct {
				Command        string `json:"command"`
				TimeoutSeconds any    `json:"timeout_seconds"`
			}
			if err := json.Unmarshal(args, &in); err != nil {
				return nil, &abi.Error{Code: abi.CodeInvalidArgs, Message: "arguments must be {\"command\": string, \"timeout_seconds\": integer}: " + err.Error()}
			}
			if strings.TrimSpace(in.Command) == "" {
				return nil, &abi.Error{Code: abi.CodeInvalidArgs, Message: "command is empty"}
			}
			if b == nil {
				return nil, &abi.Error{Code: abi.CodeDenied, Message: "no terminal backend is configured"}
			}
			t, err := seconds(in.TimeoutSeconds)
			if err != nil {
				return nil, &abi.Error{Code: abi.CodeInvalidArgs, Message: "timeout_seconds: " + err.Error()}
			}
			if t <= 0 || (timeout > 0 && t > timeout) {
				t = timeout
			}
			res, err := b.Run(ctx, sandbox.Request{Command: in.Command, Timeout: t, Env: maps.Clone(env), Origin: TerminalOrigin})
			if err != nil {
				var denied *approval.DeniedError
				switch {
				case errors.As(err, &denied):
					return nil, &abi.Error{Code: abi.CodeDenied, Message: denied.Error(), Err: err}
				case ctx.Err() != nil:
					return nil, &abi.Error{Code: abi.CodeCanceled, Message: "interrupted", Err: ctx.Err()}
				}
				return nil, &abi.Error{Code: abi.CodeToolError, Message: err.Error(), Err: err}
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			err = enc.Encode(struct {
				ExitCode int    `json:"exit_code"`
				Output   string `json:"output"`
				TimedOut bool   `json:"timed_out,omitempty"`
			}{res.ExitCode, res.Output, res.TimedOut})
			return bytes.TrimSpace(buf.Bytes()), err
		},
	}
}

// seconds reads a timeout the model gave as a number or a numeric string.
func seconds(v any) (time.Duration, error) {
	var f float64
	switch x := v.(type) {
	case nil:
		return 0, nil
	case float64:
		f = x
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return 0, fmt.Errorf("%q is not a number", x)
		}
	default:
		return 0, fmt.Errorf("not a number")
	}
	if math.IsNaN(f) || f < 0 {
		return 0, fmt.Errorf("must be a positive number")
	}
	if f > 1e6 {
		f = 1e6
	}
	return time.Duration(f * float64(time.Second)), nil
}

// prepared is a tool call checked before it runs: tool is nil when it cannot run, and err says
// why (the result the model reads).
type prepared struct {
	call requestedCall
	tool *Tool
	args []byte
	err  error
}

type outcome struct {
	result  []byte
	err     error
	notices []string // what the host told about the call (activity.Notices), e.g. a path outside the grants
}

func (a *Agent) prepare(ts *toolSet, call requestedCall) prepared {
	p := prepared{call: call}
	t := ts.tools[call.name]
	switch {
	case t == nil:
		msg := fmt.Sprintf("no tool is named %q", call.name)
		if len(ts.names) > 0 {
			msg += "; the tools are: " + strings.Join(ts.names, ", ")
		}
		p.err = &abi.Error{Code: abi.CodeNotFound, Message: msg}
		return p
	case !ts.allowed[call.name]:
		p.err = &abi.Error{Code: abi.CodeDenied, Message: fmt.Sprintf("the tool %q is not allowed here", call.name)}
		return p
	}
	args := bytes.TrimSpace([]byte(call.args))
	if len(args) == 0 {
		args = []byte("{}")
	}
	if !json.Valid(args) {
		var v any
		err := json.Unmarshal(args, &v)
		p.err = &abi.Error{Code: abi.CodeInvalidArgs, Message: fmt.Sprintf("the arguments are not valid JSON (%v); call the tool again with a JSON object matching its parameters", err)}
		return p
	}
	if args[0] != '{' {
		p.err = &abi.Error{Code: abi.CodeInvalidArgs, Message: "the arguments must be a JSON object matching the tool's parameters"}
		return p
	}
	p.tool, p.args = t, args
	return p
}

// invoke runs one prepared call; a panicking tool is a failed call, not a crashed loop.
func invoke(ctx context.Context, p *prepared) (o outcome) {
	defer func() {
		if r := recover(); r != nil {
			o = outcome{err: &abi.Error{Code: abi.CodeTrap, Message: fmt.Sprintf("the tool panicked: %v", r)}}
		}
	}()
	ctx, notices := activity.WithNotices(ctx)
	res, err := p.tool.Call(ctx, p.args)
	return outcome{result: res, err: err, notices: notices.Take()}
}

// errorResult is what the model reads for a failed call: "error: <code>: <message>".
func errorResult(err error) string {
	code, msg := abi.CodeToolError, err.Error()
	var ae *abi.Error
	switch {
	case errors.As(err, &ae):
		code, msg = ae.Code, ae.Message
		if msg == "" && ae.Err != nil {
			msg = ae.Err.Error()
		}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = abi.CodeCanceled
	}
	return "error: " + string(code) + ": " + msg
}

// resultText is the tool message content: the result or error, redacted, then capped (in that
// order, so a cut never leaves half a secret behind).
func (a *Agent) resultText(o outcome) string {
	var s string
	if o.err != nil {
		s = errorResult(o.err)
	} else {
		s = string(o.result)
	}
	for _, n := range o.notices {
		s += "\n" + n // the plugin's own error may only say "Bad file number"
	}
	s, _ = sandbox.CapOutput(a.redact(s), a.cfg.ToolResultLimit)
	return s
}

// redactedError carries an error whose text went through Config.Redact.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// interruptGrace is how long cancelled tool calls get to return before their results are
// recorded as interrupted.
const interruptGrace = 2 * time.Second

// toolRound is the running of one assistant message's tool calls.
type toolRound struct {
	a        *Agent
	c        *conversation
	emit     func(Event)
	calls    []requestedCall
	preps    []prepared
	results  []chan outcome // one result per call, buffered
	started  chan int       // call indices, in order, as they start
	nStarted int            // start events emitted
	wg       sync.WaitGroup // the dispatcher and the running calls
	cancel   context.CancelFunc
}

// runTools runs the calls of one assistant message, at most MaxParallel at once, and commits
// their results in the order of the calls as soon as each (and every one before it) is done.
func (a *Agent) runTools(ctx context.Context, c *conversation, ts *toolSet, calls []requestedCall, emit func(Event)) error {
	n := len(calls)
	r := &toolRound{a: a, c: c, emit: emit, calls: calls, preps: make([]prepared, n),
		results: make([]chan outcome, n), started: make(chan int, n)}
	for i, call := range calls {
		r.preps[i] = a.prepare(ts, call)
		r.results[i] = make(chan outcome, 1)
	}
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.cancel = cancel
	r.wg.Add(1)
	go r.dispatch(tctx)

	for next := 0; next < n; next++ {
		var o outcome
	wait:
		for {
			select {
			case i := <-r.started:
				r.startEvent(i)
			case o = <-r.results[next]:
				break wait
			case <-ctx.Done():
				return r.interrupt(ctx, next)
			}
		}
		for r.nStarted <= next { // its start was sent before its result
			r.startEvent(<-r.started)
		}
		m, ev := r.message(next, o)
		if err := c.save(ctx, m); err != nil {
			return err
		}
		emit(ev)
	}
	return nil
}

// dispatch starts the calls in order, each when a slot is free.
func (r *toolRound) dispatch(ctx context.Context) {
	defer r.wg.Done()
	sem := make(chan struct{}, r.a.cfg.MaxParallel)
	for i := range r.preps {
		p := &r.preps[i]
		if p.tool == nil {
			r.started <- i
			r.results[i] <- outcome{err: p.err}
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		r.started <- i
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer func() { <-sem }()
			r.results[i] <- invoke(ctx, p)
		}()
	}
}

func (r *toolRound) startEvent(i int) {
	r.nStarted++
	r.emit(Event{Kind: EventToolStart, Tool: r.a.redact(r.calls[i].name), Args: r.a.redact(r.calls[i].args)})
}

// message is call i's tool message and its tool_end event.
func (r *toolRound) message(i int, o outcome) (store.Message, Event) {
	a, call := r.a, r.calls[i]
	content := a.resultText(o)
	ev := Event{Kind: EventToolEnd, Tool: a.redact(call.name), Args: a.redact(call.args), Result: content}
	for _, n := range o.notices {
		ev.Notices = append(ev.Notices, a.redact(n))
	}
	if o.err != nil {
		ev.Err = &redactedError{msg: a.redact(o.err.Error()), err: o.err}
	}
	return store.Message{Role: store.RoleTool, Content: content, ToolCallID: call.id, Name: a.redact(call.name)}, ev
}

// interrupt ends a cancelled tool round: the running calls are cancelled and given a moment to
// return, then every call from next on gets a result (its own, or "interrupted"), committed in
// one transaction, so the transcript stays valid for the next turn.
func (r *toolRound) interrupt(ctx context.Context, next int) error {
	r.cancel()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(interruptGrace)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()
	for drained := false; !drained; {
		select {
		case i := <-r.started:
			r.startEvent(i)
		default:
			drained = true
		}
	}
	var ms []store.Message
	var evs []Event
	for i := next; i < len(r.preps); i++ {
		var o outcome
		select {
		case o = <-r.results[i]:
		default:
			msg := "interrupted before it finished"
			if i >= r.nStarted {
				msg = "not run: the turn was interrupted"
			}
			o = outcome{err: &abi.Error{Code: abi.CodeCanceled, Message: msg, Err: ctx.Err()}}
		}
		m, ev := r.message(i, o)
		ms = append(ms, m)
		if i < r.nStarted {
			evs = append(evs, ev)
		}
	}
	if err := r.c.saveAll(ctx, ms); err != nil {
		return errors.Join(ctx.Err(), err)
	}
	for _, ev := range evs {
		r.emit(ev)
	}
	return ctx.Err()
}
