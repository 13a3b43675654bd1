package main

import (
	"context"
	"encoding/json"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/abi"
)

type pluginsResetOptions struct {
	Name    string
	Version string
	Restore bool
}

func newPluginsResetCmd(env *environment) *cli.Command {
	opts := &pluginsResetOptions{}
	return &cli.Command{
		Name:      "reset",
		Usage:     "roll a plugin back to the previous (or named) kept version and the grants it had; works offline",
		ArgsUsage: "NAME --restore [VERSION]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "restore", Usage: "restore a kept version", Destination: &opts.Restore},
		},
		Action: func(c *cli.Context) error {
			args, err := positional(c, map[string]*bool{"restore": &opts.Restore})
			if err != nil {
				return err
			}
			if len(args) < 1 || len(args) > 2 || !opts.Restore {
				return usagef("usage: hermes plugins reset NAME --restore [VERSION] (see kept versions with: hermes plugins info NAME)")
			}
			opts.Name = args[0]
			if len(args) == 2 {
				opts.Version = args[1]
			}
			return runPluginsReset(c.Context, env, opts)
		},
	}
}

func runPluginsReset(ctx context.Context, env *environment, opts *pluginsResetOptions) error {
	in, err := env.installer()
	if err != nil {
		return err
	}
	rec, previous, err := in.Restore(ctx, opts.Name, opts.Version)
	if err != nil {
		return err
	}
	var granted abi.Capabilities
	_ = json.Unmarshal(rec.Granted, &granted) // written by hermes from this type a moment ago
	env.printf("Restored %s %s (was %s) with the permissions it had. Granted: %s.\n", rec.Name, rec.Version, previous, grantSummary(granted))
	return nil
}
