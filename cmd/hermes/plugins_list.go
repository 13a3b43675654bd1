package main

import (
	"context"
	"encoding/json"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

type pluginsListOptions struct{ JSON bool }

func newPluginsListCmd(env *environment) *cli.Command {
	opts := &pluginsListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "list added plugins",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			if _, err := exactArgs(c, 0, map[string]*bool{"json": &opts.JSON}, "plugins list takes no arguments"); err != nil {
				return err
			}
			return runPluginsList(c.Context, env, opts)
		},
	}
}

func runPluginsList(ctx context.Context, env *environment, opts *pluginsListOptions) error {
	reg, err := env.registry()
	if err != nil {
		return err
	}
	infos, err := reg.List(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, infos)
	}
	if len(infos) == 0 {
		env.printf("No plugins added. Add one with: hermes plugins add DIR\n")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	tw.Write([]byte("NAME\tVERSION\tTOOLS\tGRANTED\tSTATUS\n"))
	for _, p := range infos {
		status := "enabled"
		if !p.Enabled {
			status = "disabled"
		}
		writeRow(tw, p.Name, p.Version, itoa(len(p.Tools)), grantSummary(p.Granted), status)
	}
	return tw.Flush()
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
