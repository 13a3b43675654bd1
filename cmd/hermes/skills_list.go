package main

import (
	"context"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

type skillsListOptions struct{ JSON bool }

func newSkillsListCmd(env *environment) *cli.Command {
	opts := &skillsListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "list installed skills with their trust level and scan verdict",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			if _, err := exactArgs(c, 0, map[string]*bool{"json": &opts.JSON}, "skills list takes no arguments"); err != nil {
				return err
			}
			return runSkillsList(c.Context, env, opts)
		},
	}
}

func runSkillsList(ctx context.Context, env *environment, opts *skillsListOptions) error {
	m, err := env.skills()
	if err != nil {
		return err
	}
	list, err := m.List(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, list)
	}
	if len(list) == 0 {
		env.printf("No skills installed. Install one with: hermes skills install DIR\n")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	writeRow(tw, "NAME", "VERSION", "TRUST", "VERDICT", "FINDINGS", "SOURCE")
	for _, s := range list {
		writeRow(tw, s.Name, orNone(s.Version), string(s.Trust), s.Verdict.String(), itoa(len(s.Findings)), s.Source)
	}
	return tw.Flush()
}
