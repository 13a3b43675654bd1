package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"
)

type skillsRemoveOptions struct{ Name string }

func newSkillsRemoveCmd(env *environment) *cli.Command {
	opts := &skillsRemoveOptions{}
	return &cli.Command{
		Name:      "remove",
		Usage:     "uninstall a skill: its tools, its files, every kept version and its staged candidates",
		ArgsUsage: "NAME",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, nil, "skills remove takes one skill name (see: hermes skills list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runSkillsRemove(c.Context, env, opts)
		},
	}
}

func runSkillsRemove(ctx context.Context, env *environment, opts *skillsRemoveOptions) error {
	m, err := env.skills()
	if err != nil {
		return err
	}
	if err := m.Remove(ctx, opts.Name); err != nil {
		return skillError(err)
	}
	s, err := env.staging()
	if err != nil {
		return err
	}
	if err := s.RemoveSkill(opts.Name); err != nil {
		return fmt.Errorf("removed %s, but not its staged candidates: %w", opts.Name, err)
	}
	env.printf("Removed %s.\n", opts.Name)
	return nil
}
