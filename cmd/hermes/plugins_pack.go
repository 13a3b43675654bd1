package main

import (
	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
)

type pluginsPackOptions struct {
	Dir string
	Out string
}

func newPluginsPackCmd(env *environment) *cli.Command {
	opts := &pluginsPackOptions{}
	return &cli.Command{
		Name:      "pack",
		Usage:     "pack a plugin directory into a reproducible NAME-VERSION.tar.gz",
		ArgsUsage: "DIR",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "out", Value: ".", Usage: "write the archive into `DIR`", Destination: &opts.Out}},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, nil, map[string]*string{"out": &opts.Out})
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usagef("plugins pack takes one plugin directory")
			}
			opts.Dir = args[0]
			path, err := install.PackTo(opts.Dir, opts.Out)
			if err != nil {
				return err
			}
			env.printf("%s\n", path)
			return nil
		},
	}
}
