package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/agent"
)

type sessionsShowOptions struct {
	ID   string
	JSON bool
}

func newSessionsShowCmd(env *environment) *cli.Command {
	opts := &sessionsShowOptions{}
	return &cli.Command{
		Name:      "show",
		Usage:     "print a session's messages",
		ArgsUsage: "ID",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, map[string]*bool{"json": &opts.JSON}, "sessions show takes one session ID (see: hermes sessions list)")
			if err != nil {
				return err
			}
			opts.ID = args[0]
			return runSessionsShow(c.Context, env, opts)
		},
	}
}

func runSessionsShow(ctx context.Context, env *environment, opts *sessionsShowOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	if _, err := db.GetSession(ctx, opts.ID, sourceFilter("cli")); err != nil {
		return notFoundSession(opts.ID, err)
	}
	msgs, err := db.Messages(ctx, opts.ID, sourceFilter("cli"))
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, msgs)
	}
	for _, m := range msgs {
		switch {
		case m.Role == "tool":
			env.printf("[tool %s] %s\n", agent.DisplayName(m.Name), firstSentence(m.Content))
		case len(m.ToolCalls) > 0:
			if m.Content != "" {
				env.printf("[%s] %s\n", m.Role, m.Content)
			}
			for _, tc := range m.ToolCalls {
				env.printf("[%s → %s] %s\n", m.Role, agent.DisplayName(tc.Name), firstSentence(tc.Arguments))
			}
		default:
			env.printf("[%s] %s\n", m.Role, m.Content)
		}
	}
	return nil
}
