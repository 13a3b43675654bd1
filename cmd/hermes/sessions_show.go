package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/store"
)

type sessionsShowOptions struct {
	ID     string
	Source string
	All    bool
	JSON   bool
}

func newSessionsShowCmd(env *environment) *cli.Command {
	opts := &sessionsShowOptions{}
	return &cli.Command{
		Name:      "show",
		Usage:     "print a session's messages (a CLI session unless --source or --all)",
		ArgsUsage: "ID",
		Flags: append(sourceFlags(&opts.Source, &opts.All),
			&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}),
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, map[string]*bool{"all": &opts.All, "json": &opts.JSON}, map[string]*string{"source": &opts.Source})
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usagef("sessions show takes one session ID (see: hermes sessions list)")
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
	filter := store.SessionFilter{Source: opts.Source, AllSources: opts.All}
	if _, err := db.GetSession(ctx, opts.ID, filter); err != nil {
		more := ""
		if !opts.All {
			more = "a session of any source: hermes sessions show --all " + opts.ID
		}
		return notFoundSession(opts.ID, filter, err, more)
	}
	msgs, err := db.Messages(ctx, opts.ID, filter)
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
