// Package backend opens the configured sandbox backend and serves plugins' exec capability
// through it. It is the one place that knows every backend; callers hold a sandbox.Backend.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/sandbox/docker"
	"github.com/hermes-agent/hermes/sandbox/local"
)

// Options say which backend to open and how.
type Options struct {
	Name   string // "local" or "docker"
	Local  local.Config
	Docker docker.Config
	// Gate decides about dangerous commands on the local backend.
	Gate *approval.Gate
	// Progress receives image-pull progress (docker); nil for none.
	Progress io.Writer
	// Rules hold terminal.deny (and the home directory they resolve ~ against): no command that
	// matches them reaches any backend. The local backend's Gate classifies with them too.
	Rules classify.Rules
}

// Open returns the named backend, behind the deny rules of opts.Rules.
func Open(ctx context.Context, opts Options) (sandbox.Backend, error) {
	switch opts.Name {
	case "local":
		if opts.Gate == nil {
			return nil, errors.New("sandbox: the local backend needs an approval gate")
		}
		return Denying(local.New(opts.Local, opts.Gate), opts.Rules), nil
	case "docker":
		cfg := opts.Docker
		cfg.Progress = opts.Progress
		b, err := docker.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return Denying(b, opts.Rules), nil
	}
	return nil, fmt.Errorf("sandbox: unknown backend %q (use local or docker)", opts.Name)
}

// Denying returns b behind rules' deny rules (approval.CheckDeny): this is the one place
// terminal.deny is enforced for every backend, and so for the agent's terminal, hermes exec and
// plugins' exec alike. A refusal is an error wrapping *approval.DeniedError; b never sees the
// command.
func Denying(b sandbox.Backend, rules classify.Rules) sandbox.Backend {
	if len(rules.Deny) == 0 {
		return b
	}
	return &denying{Backend: b, rules: rules}
}

type denying struct {
	sandbox.Backend
	rules classify.Rules
}

func (d *denying) Run(ctx context.Context, req sandbox.Request) (sandbox.Result, error) {
	if err := approval.CheckDeny(req.Command, req.Origin, d.rules); err != nil {
		return sandbox.Result{}, fmt.Errorf("%s: %w", d.Name(), err)
	}
	return d.Backend.Run(ctx, req)
}

// PluginExecutor serves the exec capability: a plugin's command runs through the backend with
// its rules — approval included, with the plugin named in the prompt — and nothing else. The
// backend is opened on the first command, so plugins that never run one cost nothing.
type PluginExecutor struct {
	open    func(context.Context) (sandbox.Backend, error)
	env     map[string]string
	timeout time.Duration

	once    sync.Once
	backend sandbox.Backend
	err     error
}

// NewPluginExecutor returns an executor over the backend open returns; env holds the values of
// terminal.env_passthrough; timeout caps what a plugin may ask for.
func NewPluginExecutor(open func(context.Context) (sandbox.Backend, error), env map[string]string, timeout time.Duration) *PluginExecutor {
	return &PluginExecutor{open: open, env: env, timeout: timeout}
}

// Exec implements the host's wasm.Executor.
func (e *PluginExecutor) Exec(ctx context.Context, plugin string, req abi.ExecRequest) (abi.ExecResult, error) {
	e.once.Do(func() { e.backend, e.err = e.open(ctx) })
	if e.err != nil {
		return abi.ExecResult{}, fmt.Errorf("exec: %w", e.err)
	}
	timeout := e.timeout
	if asked := time.Duration(req.TimeoutMS) * time.Millisecond; asked > 0 && asked < timeout {
		timeout = asked
	}
	res, err := e.backend.Run(ctx, sandbox.Request{Command: req.Command, Timeout: timeout, Env: e.env, Origin: "plugin " + plugin})
	var denied *approval.DeniedError
	if errors.As(err, &denied) {
		return abi.ExecResult{}, &abi.Error{Code: abi.CodeDenied, Message: "exec: " + denied.Error(), Err: err}
	}
	if err != nil {
		return abi.ExecResult{}, fmt.Errorf("exec: %w", err)
	}
	return abi.ExecResult{ExitCode: res.ExitCode, Output: res.Output}, nil
}

// Close closes the backend if it was opened.
func (e *PluginExecutor) Close() error {
	if e.backend != nil {
		return e.backend.Close()
	}
	return nil
}

// PassthroughEnv returns the values of the named variables that are set.
func PassthroughEnv(names []string) map[string]string {
	env := map[string]string{}
	for _, name := range names {
		if v, ok := os.LookupEnv(name); ok {
			env[name] = v
		}
	}
	return env
}
