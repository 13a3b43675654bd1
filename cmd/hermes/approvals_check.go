package main

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/sandbox/classify"
)

type approvalsCheckOptions struct {
	JSON    bool
	Command string
}

func newApprovalsCheckCmd(env *environment) *cli.Command {
	opts := &approvalsCheckOptions{}
	return &cli.Command{
		Name:      "check",
		Usage:     "classify a command without running it: safe, dangerous or hardline, with the reasons (the exit code tells the class)",
		ArgsUsage: "-- 'COMMAND'",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("approvals check takes a command, e.g. hermes approvals check -- 'rm -rf build'")
			}
			opts.Command = strings.Join(c.Args().Slice(), " ")
			return runApprovalsCheck(c.Context, env, opts)
		},
	}
}

func runApprovalsCheck(ctx context.Context, env *environment, opts *approvalsCheckOptions) error {
	rules, err := env.classifyRules()
	if err != nil {
		return err
	}
	v := classify.Classify(opts.Command, rules)
	if opts.JSON {
		type finding struct {
			Class    string `json:"class"`
			Category string `json:"category"`
			Reason   string `json:"reason"`
			Command  string `json:"command"`
		}
		out := struct {
			Class    string    `json:"class"`
			Shape    string    `json:"shape"`
			Findings []finding `json:"findings"`
		}{Class: v.Class.String(), Shape: v.Shape, Findings: []finding{}}
		for _, f := range v.Findings {
			out.Findings = append(out.Findings, finding{f.Class.String(), f.Category, f.Reason, f.Command})
		}
		if err := writeJSON(env.Out, out); err != nil {
			return err
		}
	} else {
		env.printf("%s\n", v.Class)
		for _, f := range v.Findings {
			env.printf("  - %s: %s (%s) in: %s\n", f.Class, f.Reason, f.Category, f.Command)
		}
	}
	return classExit(v.Class)
}
