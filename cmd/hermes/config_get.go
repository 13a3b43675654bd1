package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/config"
)

type configGetOptions struct{ Key string }

func newConfigGetCmd(env *environment) *cli.Command {
	opts := &configGetOptions{}
	return &cli.Command{
		Name:      "get",
		Usage:     "print one setting (secrets are shown masked)",
		ArgsUsage: "KEY",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, nil, "config get takes one key (see: hermes config list)")
			if err != nil {
				return err
			}
			opts.Key = args[0]
			return runConfigGet(c.Context, env, opts)
		},
	}
}

func runConfigGet(_ context.Context, env *environment, opts *configGetOptions) error {
	if err := env.home(); err != nil {
		return err
	}
	if config.InDotEnv(opts.Key) {
		secrets, err := config.ReadDotEnv(env.paths.Env)
		if err != nil {
			return err
		}
		v, ok := secrets[opts.Key]
		if !ok {
			return usagef("%s is not set in %s (set it with: hermes config set %s VALUE)", opts.Key, env.paths.Env, opts.Key)
		}
		if config.IsSecretKey(opts.Key) {
			v = mask(v)
		}
		env.printf("%s\n", v)
		return nil
	}
	v, err := env.cfg.Get(opts.Key)
	if err != nil {
		return usagef("%v", err)
	}
	env.printf("%s\n", v)
	return nil
}

// mask shows only enough of a secret to recognise it.
func mask(v string) string {
	if len(v) <= 8 {
		return "********"
	}
	return v[:4] + "…" + v[len(v)-2:]
}
