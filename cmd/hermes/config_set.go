package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/config"
)

type configSetOptions struct{ Key, Value string }

func newConfigSetCmd(env *environment) *cli.Command {
	opts := &configSetOptions{}
	return &cli.Command{
		Name:      "set",
		Usage:     "set a setting in config.toml, or a secret (*_API_KEY, *_TOKEN, …) in .env",
		ArgsUsage: "KEY VALUE",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 2, nil, "config set takes a key and a value, e.g. hermes config set terminal.backend docker")
			if err != nil {
				return err
			}
			opts.Key, opts.Value = args[0], args[1]
			return runConfigSet(c.Context, env, opts)
		},
	}
}

func runConfigSet(_ context.Context, env *environment, opts *configSetOptions) error {
	if err := env.home(); err != nil {
		return err
	}
	if config.InDotEnv(opts.Key) {
		if err := config.SetDotEnv(env.paths.Env, opts.Key, opts.Value); err != nil {
			return err
		}
		env.printf("Saved %s to %s (mode 0600).\n", opts.Key, env.paths.Env)
		return nil
	}
	if err := config.SetTOML(env.paths.Config, opts.Key, opts.Value); err != nil {
		return usagef("%v", err)
	}
	env.printf("Set %s = %s in %s.\n", opts.Key, opts.Value, env.paths.Config)
	return nil
}
