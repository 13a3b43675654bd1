package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
)

type pluginsInfoOptions struct {
	Name string
	JSON bool
}

func newPluginsInfoCmd(env *environment) *cli.Command {
	opts := &pluginsInfoOptions{}
	return &cli.Command{
		Name:      "info",
		Usage:     "show a plugin's granted capabilities, limits and tools with their JSON Schemas",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, map[string]*bool{"json": &opts.JSON}, "plugins info takes one plugin name (see: hermes plugins list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runPluginsInfo(c.Context, env, opts)
		},
	}
}

func runPluginsInfo(ctx context.Context, env *environment, opts *pluginsInfoOptions) error {
	reg, err := env.registry()
	if err != nil {
		return err
	}
	info, err := reg.Get(ctx, opts.Name)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, info)
	}
	status := "enabled"
	if !info.Enabled {
		status = "disabled"
	}
	env.printf("Plugin:   %s %s (%s)\n", info.Name, info.Version, status)
	env.printf("          %s\n", info.Description)
	env.printf("Source:   %s\n", info.Source)
	env.printf("Signer:   %s\n", install.SignerLine(info.Signer, info.SignerKey))
	env.printf("Added:    %s, module sha256 %s\n", info.AddedAt, info.SHA256)
	env.printf("Module:   %s\n", info.Convention)
	env.printf("Granted:\n")
	lines := info.Granted.Describe()
	if len(lines) == 0 {
		lines = []string{"nothing: no files, no network, no secrets"}
	}
	for _, l := range lines {
		env.printf("  - %s\n", l)
	}
	for _, k := range slices.Sorted(maps.Keys(info.Config)) {
		env.printf("Setting:  %s = %q\n", k, info.Config[k])
	}
	env.printf("Limits:   %s\n", install.LimitsLine(info.Limits))
	if versions, err := reg.Versions(ctx, info.Name); err == nil && len(versions) > 1 {
		env.printf("Kept:     ")
		for i, v := range versions {
			if i > 0 {
				env.printf(", ")
			}
			env.printf("%s", v.Version)
		}
		env.printf(" (hermes plugins reset %s --restore [VERSION])\n", info.Name)
	}
	env.printf("Tools:\n")
	for _, t := range info.Tools {
		env.printf("  %s.%s\n    %s\n    parameters: %s\n", info.Name, t.Name, t.Description, compactJSON(t.Parameters))
	}
	return nil
}

func compactJSON(raw json.RawMessage) string {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}
