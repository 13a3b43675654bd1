package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/store"
)

type keysUntrustOptions struct{ Name string }

func newKeysUntrustCmd(env *environment) *cli.Command {
	opts := &keysUntrustOptions{}
	return &cli.Command{
		Name:      "untrust",
		Usage:     "stop trusting a key; plugins it signed stop loading until it is trusted again",
		ArgsUsage: "NAME",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, nil, "keys untrust takes one key name (see: hermes keys list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runKeysUntrust(c.Context, env, opts)
		},
	}
}

func runKeysUntrust(ctx context.Context, env *environment, opts *keysUntrustOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	if err := db.UntrustKey(ctx, opts.Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &abi.Error{Code: abi.CodeNotFound, Message: fmt.Sprintf("no trusted key named %s (see: hermes keys list)", opts.Name), Err: err}
		}
		return err
	}
	env.printf("Untrusted %s. Plugins it signed no longer load (hermes plugins audit lists them); trust the key again to bring them back.\n", opts.Name)
	return nil
}
