package main

import (
	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/install/signing"
)

type pluginsSignOptions struct {
	Target string
	Key    string
}

func newPluginsSignCmd(env *environment) *cli.Command {
	opts := &pluginsSignOptions{}
	return &cli.Command{
		Name:      "sign",
		Usage:     "sign a NAME-VERSION.tar.gz (writes NAME-VERSION.tar.gz.sig) or a plugin directory (writes plugin.sig)",
		ArgsUsage: "NAME-VERSION.tar.gz|DIR --key KEYFILE",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "key", Usage: "private key `FILE` from hermes keys generate", Destination: &opts.Key}},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, nil, map[string]*string{"key": &opts.Key})
			if err != nil {
				return err
			}
			if len(args) != 1 || opts.Key == "" {
				return usagef("usage: hermes plugins sign NAME-VERSION.tar.gz --key KEYFILE")
			}
			opts.Target = args[0]
			key, err := signing.ReadPrivateKeyFile(opts.Key)
			if err != nil {
				return usagef("%v", err)
			}
			path, err := install.Sign(opts.Target, key)
			if err != nil {
				return err
			}
			env.printf("%s\n", path)
			return nil
		},
	}
}
