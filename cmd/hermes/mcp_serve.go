package main

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/mcpserver"
	"github.com/hermes-agent/hermes/sandbox/approval"
)

func newMCPServeCmd(env *environment) *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "offer every enabled plugin tool to an MCP client over stdio (the client starts this command)",
		Description: "Speaks the Model Context Protocol on standard input and output; logs go to standard error.\n" +
			"Tools follow the plugins: disabling, removing or updating one (in another terminal) shows in\n" +
			"the next tools/list, without a restart. The client can call tools, nothing else: grants stay with\n" +
			"`hermes plugins`, and dangerous commands a plugin runs are refused unless approved \"always\".",
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("mcp serve takes no arguments (see: hermes mcp serve --help)")
			}
			return runMCPServe(c.Context, env)
		},
	}
}

func runMCPServe(ctx context.Context, env *environment) error {
	rules, err := env.classifyRules()
	if err != nil {
		return err
	}
	db, err := env.store()
	if err != nil {
		return err
	}
	// Standard input belongs to the protocol, so no command may ever prompt on it; "always"
	// approvals hold, as for any hermes command without a terminal.
	gate := approval.NewGate(rules, approval.NoPrompt{Reason: "hermes mcp serve has no terminal to ask on"}, db)
	if err := env.useGate(gate); err != nil {
		return err
	}
	reg, err := env.registry()
	if err != nil {
		return err
	}
	srv, err := mcpserver.New(ctx, reg, mcpserver.Options{Version: buildVersion(), Redact: env.redactor.String, Logger: env.logger})
	if err != nil {
		return err
	}
	env.logger.Info("mcp serve: ready", "tools", len(srv.Tools()))
	// After the client closes its input, a call still running may take up to the plugins'
	// timeout ceiling: wait that long and a margin before giving up on its answer.
	drain := max(mcpserver.DefaultDrainTimeout, time.Duration(env.cfg.Plugins.Limits.Timeout)+30*time.Second)
	err = srv.Run(ctx, &mcpserver.StdioTransport{Reader: env.In, Writer: env.Out, DrainTimeout: drain})
	if ctx.Err() != nil {
		return nil // stopped by a signal: the normal end when the client does not close stdin first
	}
	return err
}

// buildVersion is the module version hermes was built at, for the MCP handshake.
func buildVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
