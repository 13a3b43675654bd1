package main

import (
	"context"
	"errors"
	"os"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/sandbox/approval"
)

// What the servers (`hermes api`, `hermes mcp serve`) need from the environment. They run
// unattended: no one can answer an approval prompt, and for MCP standard input is the protocol,
// so nothing here may reach the terminal prompt environment.sandbox would otherwise set up.

// setting reads a server setting kept with the secrets (API_SERVER_KEY,
// API_SERVER_CORS_ORIGINS): the environment first, then the profile's .env. Unset is "".
func (e *environment) setting(name string) (string, error) {
	if err := e.home(); err != nil {
		return "", err
	}
	if v, ok := os.LookupEnv(name); ok {
		return v, nil
	}
	values, err := config.ReadDotEnv(e.paths.Env)
	if err != nil {
		return "", err
	}
	return values[name], nil
}

// useGate makes gate decide every command this process runs — the agent's terminal tool and
// plugins' exec alike — in place of the terminal prompt. It must come before any sandbox is
// opened, since an opened backend keeps the gate it was given.
func (e *environment) useGate(gate *approval.Gate) error {
	e.sandboxMu.Lock()
	defer e.sandboxMu.Unlock()
	if e.gate != nil || len(e.backends) > 0 {
		return errors.New("internal error: a sandbox was opened before the server's approval gate was set; report this as a bug")
	}
	e.gate = gate
	return nil
}

// profileName is the profile recorded on sessions.
func (e *environment) profileName() string {
	if e.profile == "" {
		return "default"
	}
	return e.profile
}

// serverAgent builds the agent a server runs: as the CLI's, with the configured model and no
// session (the server makes one per request).
func (e *environment) serverAgent(ctx context.Context) (*agent.Agent, error) {
	if err := e.home(); err != nil { // loads e.cfg
		return nil, err
	}
	return e.newAgent(ctx, e.cfg.Model.Name)
}
