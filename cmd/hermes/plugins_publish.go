package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install/oci"
	"github.com/hermes-agent/hermes/host/install/signing"
)

type pluginsPublishOptions struct {
	Dir string
	Ref string
	Key string
}

func newPluginsPublishCmd(env *environment) *cli.Command {
	opts := &pluginsPublishOptions{}
	return &cli.Command{
		Name:      "publish",
		Usage:     "pack a plugin directory and push it to an OCI registry, signed with --key (or the directory's plugin.sig)",
		ArgsUsage: "DIR oci://HOST/REPO:TAG",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "key", Usage: "sign with this private key `FILE`", Destination: &opts.Key}},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, nil, map[string]*string{"key": &opts.Key})
			if err != nil {
				return err
			}
			if len(args) != 2 {
				return usagef("usage: hermes plugins publish DIR oci://HOST/REPO:TAG [--key KEYFILE]")
			}
			opts.Dir, opts.Ref = args[0], args[1]
			return runPluginsPublish(c.Context, env, opts)
		},
	}
}

func runPluginsPublish(ctx context.Context, env *environment, opts *pluginsPublishOptions) error {
	ref, err := oci.ParseReference(opts.Ref)
	if err != nil {
		return usagef("%v", err)
	}
	var key []byte
	if opts.Key != "" {
		k, err := signing.ReadPrivateKeyFile(opts.Key)
		if err != nil {
			return usagef("%v", err)
		}
		key = k
	}
	in, err := env.installer()
	if err != nil {
		return err
	}
	digest, err := in.Publish(ctx, opts.Dir, ref, key)
	if err != nil {
		return err
	}
	pinned := ref
	pinned.Digest = digest
	env.printf("Published %s\nInstall it with: hermes plugins install %s\n", pinned, pinned)
	return nil
}
