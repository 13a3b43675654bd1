package main

import (
	"context"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

type pluginsAuditOptions struct {
	Name string
	JSON bool
}

func newPluginsAuditCmd(env *environment) *cli.Command {
	opts := &pluginsAuditOptions{}
	return &cli.Command{
		Name:      "audit",
		Usage:     "re-verify installed plugins (lock seal, digests, signatures, kept versions, registry tags); exits non-zero on any finding",
		ArgsUsage: "[NAME]",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			name, err := optionalArg(c, map[string]*bool{"json": &opts.JSON}, "plugins audit takes at most one plugin name")
			if err != nil {
				return err
			}
			opts.Name = name
			return runPluginsAudit(c.Context, env, opts)
		},
	}
}

func runPluginsAudit(ctx context.Context, env *environment, opts *pluginsAuditOptions) error {
	in, err := env.installer()
	if err != nil {
		return err
	}
	report, err := in.Audit(ctx, opts.Name)
	if err != nil {
		return err
	}
	if opts.JSON {
		if err := writeJSON(env.Out, report); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
		for _, f := range report.Findings {
			line := f.Problem
			if f.Fix != "" {
				line += " (fix: " + f.Fix + ")"
			}
			writeRow(tw, f.Severity, f.Plugin, line)
		}
		tw.Flush()
		env.printf("Audited %d plugin(s): ", len(report.Checked))
		if report.Failed() {
			env.printf("problems found.\n")
		} else {
			env.printf("no problems.\n")
		}
	}
	if report.Failed() {
		return errFindings
	}
	return nil
}
