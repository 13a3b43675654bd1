package main

import (
	"context"

	"github.com/urfave/cli/v2"
)

type pluginsRemoveOptions struct{ Name string }

func newPluginsRemoveCmd(env *environment) *cli.Command {
	opts := &pluginsRemoveOptions{}
	return &cli.Command{
		Name:      "remove",
		Usage:     "remove a plugin, its files, its grant and its data",
		ArgsUsage: "NAME",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, nil, "plugins remove takes one plugin name (see: hermes plugins list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runPluginsRemove(c.Context, env, opts)
		},
	}
}

func runPluginsRemove(ctx context.Context, env *environment, opts *pluginsRemoveOptions) error {
	reg, err := env.registry()
	if err != nil {
		return err
	}
	if err := reg.Remove(ctx, opts.Name); err != nil {
		return err
	}
	env.printf("Removed %s.\n", opts.Name)
	return nil
}
