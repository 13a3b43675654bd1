package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/registry"
)

type pluginsListOptions struct{ JSON bool }

func newPluginsListCmd(env *environment) *cli.Command {
	opts := &pluginsListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "list installed plugins, and plugin directories that were not installed (never loaded)",
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
	in, err := env.installer()
	if err != nil {
		return err
	}
	reg, _ := env.registry()
	infos, err := reg.List(ctx)
	if err != nil {
		return err
	}
	unverified, err := in.Unverified(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, struct {
			Plugins    []registry.Info `json:"plugins"`
			Unverified []string        `json:"unverified"`
		}{infos, append([]string{}, unverified...)})
	}
	if len(infos) == 0 && len(unverified) == 0 {
		env.printf("No plugins installed. Install one with: hermes plugins install DIR|FILE.tar.gz|oci://HOST/REPO:TAG\n")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	tw.Write([]byte("NAME\tVERSION\tTOOLS\tGRANTED\tSIGNER\tSTATUS\n"))
	for _, p := range infos {
		status := "enabled"
		if !p.Enabled {
			status = "disabled"
		}
		signer := p.Signer
		if p.Unsigned {
			signer = "UNSIGNED"
		}
		writeRow(tw, p.Name, p.Version, itoa(len(p.Tools)), grantSummary(p.Granted), signer, status)
	}
	for _, dir := range unverified {
		writeRow(tw, filepath.Base(dir), "-", "-", "-", "-", "UNVERIFIED, not loaded: "+dir)
	}
	return tw.Flush()
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
