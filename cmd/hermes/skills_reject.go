package main

import (
	"context"

	"github.com/urfave/cli/v2"
)

type skillsRejectOptions struct {
	Name, Candidate string
}

func newSkillsRejectCmd(env *environment) *cli.Command {
	opts := &skillsRejectOptions{}
	return &cli.Command{
		Name:      "reject",
		Usage:     "remove a staged candidate (or the record of one a gate rejected) of a skill",
		ArgsUsage: "NAME CANDIDATE",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 2, nil, "skills reject takes a skill name and a candidate (see: hermes skills candidates NAME)")
			if err != nil {
				return err
			}
			opts.Name, opts.Candidate = args[0], args[1]
			return runSkillsReject(c.Context, env, opts)
		},
	}
}

func runSkillsReject(_ context.Context, env *environment, opts *skillsRejectOptions) error {
	s, err := env.staging()
	if err != nil {
		return err
	}
	if err := s.Remove(opts.Name, opts.Candidate); err != nil {
		return candidateError(err)
	}
	env.printf("Rejected candidate %s of %s; it is removed from the staging area.\n", opts.Candidate, opts.Name)
	return nil
}
