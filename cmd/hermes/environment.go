package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/redact"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/backend"
	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/sandbox/docker"
	"github.com/hermes-agent/hermes/sandbox/local"
	"github.com/hermes-agent/hermes/store"
)

// environment opens what a subcommand needs, lazily, so that `hermes --help` touches nothing.
type environment struct {
	*streams
	profile  string
	logLevel string
	logger   *slog.Logger

	paths     config.Paths
	cfg       config.Config
	loaded    bool
	db        *store.DB
	reg       *registry.Registry
	activity  *activity.Recorder         // plugins' capability uses, written to db in batches
	backends  map[string]sandbox.Backend // opened ones, by name: the terminal tool and plugins share one
	gate      *approval.Gate             // one per process, so a [s]ession answer holds for all callers
	sandboxMu sync.Mutex                 // plugins open the backend from their calls' goroutines
	executor  *backend.PluginExecutor
	redactor  *redact.Redactor // .env's secrets, once the home is read
	logRedact *redact.Handler
}

func (e *environment) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToLower(e.logLevel))); err != nil {
		return usagef("--log-level %q: use debug, info, warn or error", e.logLevel)
	}
	// Every log line goes through redaction: once .env is read, its secrets never reach the log.
	e.logRedact = redact.NewHandler(slog.NewTextHandler(e.Err, &slog.HandlerOptions{Level: level}))
	e.logger = slog.New(e.logRedact)
	slog.SetDefault(e.logger)
	return nil
}

// home finds the home (creating it 0700) and reads config.toml.
func (e *environment) home() error {
	if e.loaded {
		return nil
	}
	paths, err := config.ResolvePaths(e.profile)
	if err != nil {
		return err
	}
	if err := paths.Ensure(); err != nil {
		return err
	}
	cfg, err := config.Load(paths.Config)
	if err != nil {
		return err
	}
	e.paths, e.cfg, e.loaded = paths, cfg, true
	// A .env others can read is refused where it is used, with how to fix it; here it only
	// means nothing is known to redact.
	if secrets, err := config.ReadDotEnv(paths.Env); err == nil {
		e.redactor = redact.New(secrets)
		if e.logRedact != nil {
			e.logRedact.SetRedactor(e.redactor)
		}
	}
	return nil
}

// store opens the profile's state.db.
func (e *environment) store() (*store.DB, error) {
	if e.db != nil {
		return e.db, nil
	}
	if err := e.home(); err != nil {
		return nil, err
	}
	db, err := store.Open(e.paths.StateDB)
	if err != nil {
		return nil, err
	}
	e.db = db
	return db, nil
}

// registry opens the plugin registry; plugins granted exec run their commands through the
// configured sandbox, opened only when one does.
func (e *environment) registry() (*registry.Registry, error) {
	if e.reg != nil {
		return e.reg, nil
	}
	db, err := e.store()
	if err != nil {
		return nil, err
	}
	engine, err := wasm.NewEngine(e.paths.Cache, e.logger)
	if err != nil {
		return nil, err
	}
	e.executor = backend.NewPluginExecutor(func(ctx context.Context) (sandbox.Backend, error) {
		return e.sandbox(ctx, "")
	}, e.passthrough(), time.Duration(e.cfg.Terminal.Timeout))
	e.activity = activity.NewRecorder(db, e.cfg.Plugins.ActivityPerPlugin, 0, e.logger)
	e.reg = registry.New(db, engine, e.paths, e.cfg).WithExecutor(e.executor).WithActivity(e.activity)
	return e.reg, nil
}

// classifyRules are the user's deny rules and home, for the command classifier.
func (e *environment) classifyRules() (classify.Rules, error) {
	if err := e.home(); err != nil {
		return classify.Rules{}, err
	}
	home, _ := os.UserHomeDir()
	return classify.Rules{Deny: e.cfg.Terminal.Deny, Home: home}, nil
}

// passthrough is the environment commands get: terminal.env_passthrough, nothing else.
func (e *environment) passthrough() map[string]string {
	return backend.PassthroughEnv(e.cfg.Terminal.EnvPassthrough)
}

// sandbox opens a backend: name, or terminal.backend when empty. Dangerous commands on the local
// backend are asked about on the terminal, and denied when there is none (or CI is set).
func (e *environment) sandbox(ctx context.Context, name string) (sandbox.Backend, error) {
	e.sandboxMu.Lock()
	defer e.sandboxMu.Unlock()
	rules, err := e.classifyRules()
	if err != nil {
		return nil, err
	}
	db, err := e.store()
	if err != nil {
		return nil, err
	}
	t := e.cfg.Terminal
	if name == "" {
		name = t.Backend
	}
	if b, ok := e.backends[name]; ok {
		return b, nil
	}
	var prompter approval.Prompter = approval.NoPrompt{Reason: "no terminal to ask on"}
	if approval.Interactive(os.Stdin, os.Stderr) {
		prompter = &approval.TerminalPrompter{In: os.Stdin, Out: os.Stderr, Timeout: time.Duration(t.ApprovalTimeout)}
	}
	workspace := e.cfg.Workspace
	if workspace == "" {
		if workspace, err = os.Getwd(); err != nil {
			return nil, fmt.Errorf("find workspace: %w", err)
		}
	}
	profile := e.profile
	if profile == "" {
		profile = "default"
	}
	dockerCfg := docker.DefaultConfig()
	dockerCfg.Image, dockerCfg.CPUs, dockerCfg.MemoryBytes, dockerCfg.Network = t.Docker.Image, t.Docker.CPUs, t.Docker.MemoryMB<<20, t.Docker.Network
	dockerCfg.Workspace, dockerCfg.Home, dockerCfg.Profile, dockerCfg.Task = workspace, e.paths.Home, profile, "cli"
	dockerCfg.Timeout, dockerCfg.OutputLimit = time.Duration(t.Timeout), t.OutputLimit
	b, err := backend.Open(ctx, backend.Options{
		Name:     name,
		Local:    local.Config{Timeout: time.Duration(t.Timeout), OutputLimit: t.OutputLimit, Workdir: workspace},
		Docker:   dockerCfg,
		Gate:     e.approvalGate(rules, prompter, db),
		Progress: e.progress(),
		Rules:    rules,
	})
	if err != nil {
		return nil, err
	}
	if e.backends == nil {
		e.backends = map[string]sandbox.Backend{}
	}
	e.backends[name] = b
	return b, nil
}

func (e *environment) approvalGate(rules classify.Rules, p approval.Prompter, db *store.DB) *approval.Gate {
	if e.gate == nil {
		e.gate = approval.NewGate(rules, p, db)
	}
	return e.gate
}

// agent builds the agent (newAgent) and the session to run in: a new CLI session, or resume
// (which must be a CLI session).
func (e *environment) agent(ctx context.Context, model, resume string) (*agent.Agent, store.Session, error) {
	if err := e.home(); err != nil { // loads e.cfg
		return nil, store.Session{}, err
	}
	if model == "" {
		model = e.cfg.Model.Name
	}
	a, err := e.newAgent(ctx, model)
	if err != nil {
		return nil, store.Session{}, err
	}
	profile := e.profile
	if profile == "" {
		profile = "default"
	}
	var session store.Session
	if resume != "" {
		session, err = e.db.GetSession(ctx, resume, store.SessionFilter{Source: "cli"})
		if err != nil {
			return nil, store.Session{}, notFoundSession(resume, sourceFilter("cli"), err, "")
		}
	} else if session, err = e.db.CreateSession(ctx, "cli", profile, model, ""); err != nil {
		return nil, store.Session{}, err
	}
	return a, session, nil
}

// newAgent builds the agent over every enabled plugin tool (skills' tools among them), the
// terminal tool and the skill readers (skills_list, skill_view), talking to model. Every command (CLI or server) gets its agent here.
func (e *environment) newAgent(ctx context.Context, model string) (*agent.Agent, error) {
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	key, err := e.apiKey()
	if err != nil {
		return nil, err
	}
	if _, err := config.ReadDotEnv(e.paths.Env); err != nil {
		return nil, err
	}
	// The plugin tools follow the lock: a plugin disabled, removed or updated meanwhile (in
	// another terminal, while `hermes api` or `hermes gateway run` serves) is offered as it is
	// now from the next model request on.
	lockVersion, err := reg.Refresh(ctx)
	if err != nil {
		return nil, err
	}
	tools, err := agent.PluginTools(reg, ctx)
	if err != nil {
		return nil, err
	}
	terminal, err := e.sandbox(ctx, "")
	if err != nil {
		return nil, err
	}
	others := []agent.Tool{agent.TerminalTool(terminal, e.passthrough(), time.Duration(e.cfg.Terminal.Timeout))}
	library, err := e.skills()
	if err != nil {
		return nil, err
	}
	others = append(others, agent.SkillTools(library)...)
	reload := agent.PluginReload(reg, lockVersion, others)
	return agent.New(agent.Config{
		BaseURL: e.cfg.Model.BaseURL, APIKey: key, Model: model,
		MaxIterations: e.cfg.Agent.MaxIterations, MaxParallel: e.cfg.Agent.MaxParallel, ToolResultLimit: e.cfg.Agent.ToolResultLimit,
		Allow: e.cfg.Agent.Tools, Deny: e.cfg.Agent.DenyTools,
		Redact: e.redactor.String,
		Reload: reload,
	}, append(tools, others...), e.db)
}

// apiKey is the model provider's key: model.api_key_env from the environment, else from .env.
func (e *environment) apiKey() (string, error) {
	if err := e.home(); err != nil {
		return "", err
	}
	name := e.cfg.Model.APIKeyEnv
	if name == "" {
		return "", nil
	}
	if v, ok := os.LookupEnv(name); ok {
		return v, nil
	}
	secrets, err := config.ReadDotEnv(e.paths.Env)
	if err != nil {
		return "", err
	}
	return secrets[name], nil
}

// progress is where long operations report progress: the terminal, else nowhere.
func (e *environment) progress() io.Writer {
	if term.IsTerminal(int(os.Stderr.Fd())) {
		return os.Stderr
	}
	return nil
}

func (e *environment) close() error {
	if e.reg != nil {
		_ = e.reg.Close(context.Background())
	}
	if e.activity != nil {
		_ = e.activity.Close() // after the plugins, so their last uses are written
	}
	for _, b := range e.backends {
		_ = b.Close()
	}
	if e.db != nil {
		return e.db.Close()
	}
	return nil
}

func stdioIsTerminal() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

func (e *environment) printf(format string, args ...any) { fmt.Fprintf(e.Out, format, args...) }
