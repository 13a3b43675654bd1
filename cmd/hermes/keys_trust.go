package main

import (
	"context"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install/signing"
)

type keysTrustOptions struct {
	Key  string
	Name string
}

func newKeysTrustCmd(env *environment) *cli.Command {
	opts := &keysTrustOptions{}
	return &cli.Command{
		Name:      "trust",
		Usage:     "trust a plugin author's public key (ed25519:… or a file holding it) under a name",
		ArgsUsage: "PUBKEY --name NAME",
		Flags:     []cli.Flag{&cli.StringFlag{Name: "name", Usage: "who the key belongs to, e.g. acme", Destination: &opts.Name}},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, nil, map[string]*string{"name": &opts.Name})
			if err != nil {
				return err
			}
			if len(args) != 1 || opts.Name == "" {
				return usagef("usage: hermes keys trust PUBKEY --name NAME")
			}
			opts.Key = args[0]
			return runKeysTrust(c.Context, env, opts)
		},
	}
}

func runKeysTrust(ctx context.Context, env *environment, opts *keysTrustOptions) error {
	text := opts.Key
	if !strings.HasPrefix(text, signing.PublicKeyPrefix) {
		if data, err := os.ReadFile(text); err == nil {
			text = string(data)
		}
	}
	pub, err := signing.ParsePublicKey(strings.TrimSpace(text))
	if err != nil {
		return usagef("%v", err)
	}
	db, err := env.store()
	if err != nil {
		return err
	}
	if err := db.TrustKey(ctx, opts.Name, signing.FormatPublicKey(pub)); err != nil {
		return usagef("%v (see: hermes keys list)", err)
	}
	env.printf("Trusted %s: %s\nPlugins signed by it install without --allow-unsigned.\n", opts.Name, signing.Fingerprint(pub))
	return nil
}
