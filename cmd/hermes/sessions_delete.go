package main

import (
	"context"

	"github.com/urfave/cli/v2"
)

type sessionsDeleteOptions struct{ ID string }

func newSessionsDeleteCmd(env *environment) *cli.Command {
	opts := &sessionsDeleteOptions{}
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a session and its messages",
		ArgsUsage: "ID",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, nil, "sessions delete takes one session ID (see: hermes sessions list)")
			if err != nil {
				return err
			}
			opts.ID = args[0]
			return runSessionsDelete(c.Context, env, opts)
		},
	}
}

func runSessionsDelete(ctx context.Context, env *environment, opts *sessionsDeleteOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	if err := db.DeleteSession(ctx, opts.ID, sourceFilter("cli")); err != nil {
		return notFoundSession(opts.ID, sourceFilter("cli"), err, "")
	}
	env.printf("Deleted session %s.\n", opts.ID)
	return nil
}
