package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
)

type pluginsUpdateOptions struct {
	Name           string
	From           string
	Yes            bool
	AllowUnsigned  bool
	AllowDowngrade bool
	Version        string // for a plugin from an Extism manifest
}

func newPluginsUpdateCmd(env *environment) *cli.Command {
	opts := &pluginsUpdateOptions{}
	bools := map[string]*bool{"yes": &opts.Yes, "y": &opts.Yes, "allow-unsigned": &opts.AllowUnsigned, "allow-downgrade": &opts.AllowDowngrade}
	return &cli.Command{
		Name:      "update",
		Usage:     "fetch a plugin again from where it came from (or --from SOURCE), show what changes, and ask only for new permissions",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "from", Usage: "update from this `SOURCE` instead of the recorded one", Destination: &opts.From},
			&cli.StringFlag{Name: "version", Usage: "for a plugin from an Extism manifest (which has none): the new `VERSION`", Destination: &opts.Version},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "grant new permissions without asking (still prints them)", Destination: &opts.Yes},
			&cli.BoolFlag{Name: "allow-unsigned", Usage: "accept a version without a signature by a key you trusted", Destination: &opts.AllowUnsigned},
			&cli.BoolFlag{Name: "allow-downgrade", Usage: "accept a lower version", Destination: &opts.AllowDowngrade},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, bools, map[string]*string{"from": &opts.From, "version": &opts.Version})
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usagef("plugins update takes one plugin name (see: hermes plugins list)")
			}
			opts.Name = args[0]
			return runPluginsUpdate(c.Context, env, opts)
		},
	}
}

func runPluginsUpdate(ctx context.Context, env *environment, opts *pluginsUpdateOptions) error {
	in, err := env.installer()
	if err != nil {
		return err
	}
	plan, err := in.PlanUpdate(ctx, opts.Name, opts.From, install.Options{AllowUnsigned: opts.AllowUnsigned, AllowDowngrade: opts.AllowDowngrade, Version: opts.Version})
	if errors.Is(err, install.ErrUpToDate) {
		env.printf("%s is up to date.\n", opts.Name)
		return nil
	}
	if err != nil {
		return err
	}
	if err := review(env, plan, opts.Yes, "Grant this and update"); err != nil {
		return err
	}
	rec, err := in.Apply(ctx, plan)
	if err != nil {
		return err
	}
	env.printf("Updated %s %s -> %s.", rec.Name, plan.Current.Version, rec.Version)
	if len(plan.Removed) > 0 {
		env.printf(" Revoked %d permission(s) it no longer asks for.", len(plan.Removed))
	}
	env.printf("\n")
	return nil
}
