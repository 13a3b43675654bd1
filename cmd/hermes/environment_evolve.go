package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/skills/evolve"
	"github.com/hermes-agent/hermes/sandbox/backend"
	"github.com/hermes-agent/hermes/sandbox/docker"
)

// staging is the profile's staging area of evolved skills, skills-staging/ in the home.
func (e *environment) staging() (evolve.Staging, error) {
	if err := e.home(); err != nil {
		return evolve.Staging{}, err
	}
	return evolve.Staging{Root: filepath.Join(e.paths.Home, "skills-staging")}, nil
}

// evolveModel is one of evolve.optimizer.* and evolve.eval.*, each field left empty taking
// model.*'s value; the key is read from the environment, else from .env.
func (e *environment) evolveModel(m config.Model) (evolve.Model, error) {
	if err := e.home(); err != nil {
		return evolve.Model{}, err
	}
	def := e.cfg.Model
	if m.BaseURL == "" {
		m.BaseURL = def.BaseURL
	}
	if m.Name == "" {
		m.Name = def.Name
	}
	if m.APIKeyEnv == "" {
		m.APIKeyEnv = def.APIKeyEnv
	}
	key, err := e.secret(m.APIKeyEnv)
	if err != nil {
		return evolve.Model{}, err
	}
	return evolve.Model{BaseURL: m.BaseURL, APIKey: key, Name: m.Name}, nil
}

// secret is the variable name from the environment, else from .env ("" for no name).
func (e *environment) secret(name string) (string, error) {
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

// skillPlugins are the plugins installed as the tools of skill.
func (e *environment) skillPlugins(ctx context.Context, skill string) ([]registry.Info, error) {
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	infos, err := reg.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []registry.Info
	for _, info := range infos {
		if strings.HasPrefix(info.Source, "skill:"+skill+":") {
			out = append(out, info)
		}
	}
	return out, nil
}

// evolveTools are the tools of an evaluation run of skill: the skill's own WebAssembly tools
// and, unless noShell, the terminal on a docker container of its own (task "evolve", an empty
// workspace, dangerous commands denied), which close removes with its workspace.
func (e *environment) evolveTools(ctx context.Context, skill string, noShell bool) (tools []agent.Tool, close func(), err error) {
	infos, err := e.skillPlugins(ctx, skill)
	if err != nil {
		return nil, nil, err
	}
	var prefixes []string
	for _, info := range infos {
		prefixes = append(prefixes, agent.ToolName(info.Name)+"__")
	}
	all, err := agent.PluginTools(e.reg, ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range all {
		for _, p := range prefixes {
			if strings.HasPrefix(t.Name, p) {
				tools = append(tools, t)
			}
		}
	}
	close = func() {}
	if noShell {
		return tools, close, nil
	}
	rules, err := e.classifyRules()
	if err != nil {
		return nil, nil, err
	}
	workspace, err := os.MkdirTemp(e.paths.Cache, "evolve-workspace-")
	if err != nil {
		return nil, nil, fmt.Errorf("create the evaluation workspace: %w", err)
	}
	t := e.cfg.Terminal
	profile := e.profile
	if profile == "" {
		profile = "default"
	}
	cfg := docker.DefaultConfig()
	cfg.Image, cfg.CPUs, cfg.MemoryBytes, cfg.Network = t.Docker.Image, t.Docker.CPUs, t.Docker.MemoryMB<<20, t.Docker.Network
	cfg.Workspace, cfg.Home, cfg.Profile, cfg.Task = workspace, e.paths.Home, profile, "evolve"
	cfg.Timeout, cfg.OutputLimit, cfg.Progress = time.Duration(t.Timeout), t.OutputLimit, e.progress()
	b, err := docker.New(ctx, cfg)
	if err != nil {
		_ = os.RemoveAll(workspace)
		if errors.Is(err, docker.ErrDaemonUnavailable) {
			return nil, nil, &abi.Error{Code: abi.CodeDenied, Message: "evaluation runs use the shell on the docker backend only, and Docker does not answer; start Docker, or evaluate without a shell: --no-shell", Err: err}
		}
		return nil, nil, err
	}
	// No terminal.env_passthrough: a model's text runs here unattended.
	shell, err := evolve.ShellTool(backend.Denying(b, rules), rules, nil)
	if err != nil {
		_ = b.Close()
		_ = os.RemoveAll(workspace)
		return nil, nil, err
	}
	close = func() {
		rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Remove(rctx); err != nil {
			e.logger.Warn("skills evolve: could not remove the evaluation container", "err", err)
		}
		_ = b.Close()
		_ = os.RemoveAll(workspace)
	}
	return append(tools, shell), close, nil
}

// candidateError gives the staging area's errors their exit codes: 5 for no such candidate, 3
// for a candidate a gate refuses.
func candidateError(err error) error {
	var ge *evolve.GateError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, evolve.ErrNoCandidate):
		return &abi.Error{Code: abi.CodeNotFound, Message: err.Error(), Err: err}
	case errors.As(err, &ge):
		return &deniedCommand{err}
	}
	return skillError(err)
}
