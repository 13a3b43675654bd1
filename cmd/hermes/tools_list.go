package main

import (
	"context"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

type toolsListOptions struct{ JSON bool }

func newToolsListCmd(env *environment) *cli.Command {
	opts := &toolsListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "list every tool of every enabled plugin",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON (name, description, parameters schema)", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			if _, err := exactArgs(c, 0, map[string]*bool{"json": &opts.JSON}, "tools list takes no arguments"); err != nil {
				return err
			}
			return runToolsList(c.Context, env, opts)
		},
	}
}

func runToolsList(ctx context.Context, env *environment, opts *toolsListOptions) error {
	reg, err := env.registry()
	if err != nil {
		return err
	}
	tools, err := reg.Tools(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, tools)
	}
	if len(tools) == 0 {
		env.printf("No tools: no plugins installed. Install one with: hermes plugins install DIR\n")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	for _, t := range tools {
		writeRow(tw, t.Name, firstSentence(t.Description))
	}
	return tw.Flush()
}

func writeRow(tw *tabwriter.Writer, cells ...string) {
	tw.Write([]byte(strings.Join(cells, "\t") + "\n"))
}

func itoa(n int) string { return strconv.Itoa(n) }
