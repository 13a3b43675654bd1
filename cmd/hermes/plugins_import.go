package main

import (
	"context"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
)

type pluginsImportOptions struct {
	Manifest, Out, Name, Version string
}

func newPluginsImportCmd(env *environment) *cli.Command {
	opts := &pluginsImportOptions{}
	return &cli.Command{
		Name:      "import",
		Usage:     "turn an Extism manifest (JSON) into a plugin directory: plugin.toml and the module, to read, sign or install",
		ArgsUsage: "MANIFEST.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the plugin into `DIR` (default: ./NAME)", Destination: &opts.Out},
			&cli.StringFlag{Name: "name", Usage: "the plugin's `NAME` (default: from the module's file name)", Destination: &opts.Name},
			&cli.StringFlag{Name: "version", Usage: "the plugin's `VERSION` (default: 0.0.0)", Destination: &opts.Version},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, nil, map[string]*string{"out": &opts.Out, "name": &opts.Name, "version": &opts.Version})
			if err != nil {
				return err
			}
			if len(args) != 1 || !install.IsExtismManifest(args[0]) {
				return usagef("plugins import takes one Extism manifest, a .json file")
			}
			opts.Manifest = args[0]
			return runPluginsImport(c.Context, env, opts)
		},
	}
}

func runPluginsImport(ctx context.Context, env *environment, opts *pluginsImportOptions) error {
	file, err := filepath.Abs(opts.Manifest)
	if err != nil {
		return usagef("%v", err)
	}
	p, err := install.ReadExtism(ctx, file, install.ExtismOptions{Name: opts.Name, Version: opts.Version})
	if err != nil {
		return err
	}
	out := opts.Out
	if out == "" {
		out = p.Manifest.Name
	}
	if err := p.WriteDir(out); err != nil {
		return err
	}
	env.printf("Wrote %s %s to %s (%s, %s). Review it, then: hermes plugins install %s\n",
		p.Manifest.Name, p.Manifest.Version, out, "plugin.toml", p.WasmName, out)
	return nil
}
