package main

import (
	"context"
	"sort"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/config"
)

type configListOptions struct{ JSON bool }

func newConfigListCmd(env *environment) *cli.Command {
	opts := &configListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "list every setting, and the secrets in .env masked",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			return runConfigList(c.Context, env, opts)
		},
	}
}

func runConfigList(_ context.Context, env *environment, opts *configListOptions) error {
	if err := env.home(); err != nil {
		return err
	}
	settings := env.cfg.Settings()
	secrets, err := config.ReadDotEnv(env.paths.Env)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		settings = append(settings, config.Setting{Key: name, Value: mask(secrets[name])})
	}
	if opts.JSON {
		return writeJSON(env.Out, settings)
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	for _, s := range settings {
		writeRow(tw, s.Key, s.Value)
	}
	return tw.Flush()
}
