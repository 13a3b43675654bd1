package main

import (
	"context"

	"github.com/urfave/cli/v2"
)

type pluginsEnableOptions struct {
	Name   string
	Enable bool
}

func newPluginsEnableCmd(env *environment) *cli.Command {
	return newPluginsSwitchCmd(env, true, "enable", "offer a disabled plugin's tools again")
}

// newPluginsSwitchCmd builds `plugins enable` and `plugins disable`.
func newPluginsSwitchCmd(env *environment, enable bool, name, usage string) *cli.Command {
	opts := &pluginsEnableOptions{Enable: enable}
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "NAME",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, nil, "plugins "+name+" takes one plugin name (see: hermes plugins list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runPluginsEnable(c.Context, env, opts)
		},
	}
}

func runPluginsEnable(ctx context.Context, env *environment, opts *pluginsEnableOptions) error {
	reg, err := env.registry()
	if err != nil {
		return err
	}
	if err := reg.SetEnabled(ctx, opts.Name, opts.Enable); err != nil {
		return err
	}
	if opts.Enable {
		env.printf("Enabled %s.\n", opts.Name)
	} else {
		env.printf("Disabled %s: its tools are not offered and it does not load; its grants and data are kept.\n", opts.Name)
	}
	return nil
}
