package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/skills"
)

type skillsResetOptions struct {
	Name          string
	Version       string // with Restore: which kept version (a version or a digest prefix)
	Restore       bool
	Yes           bool
	AllowUnsigned bool
}

func newSkillsResetCmd(env *environment) *cli.Command {
	opts := &skillsResetOptions{}
	bools := map[string]*bool{"restore": &opts.Restore, "yes": &opts.Yes, "y": &opts.Yes, "allow-unsigned": &opts.AllowUnsigned}
	return &cli.Command{
		Name:      "reset",
		Usage:     "accept the installed copy of a skill as it is now (after edits), or with --restore bring back the bundled or previous version",
		ArgsUsage: "NAME [--restore [VERSION]]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "restore", Usage: "bring back the version bundled with hermes, or else the newest earlier version kept, or VERSION (a version or a digest prefix, as hermes skills inspect lists them)", Destination: &opts.Restore},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "grant what the skill's tools ask without asking (still prints it)", Destination: &opts.Yes},
			&cli.BoolFlag{Name: "allow-unsigned", Usage: "reinstall the skill's tools without a signature by a key you trusted", Destination: &opts.AllowUnsigned},
		},
		Action: func(c *cli.Context) error {
			args, err := positional(c, bools)
			if err != nil {
				return err
			}
			switch {
			case len(args) == 2 && opts.Restore:
				opts.Version = args[1]
			case len(args) == 2:
				return usagef("skills reset NAME VERSION: a version is only given with --restore (hermes skills reset %s --restore %s)", args[0], args[1])
			case len(args) != 1:
				return usagef("skills reset takes one skill name (see: hermes skills list)")
			}
			opts.Name = args[0]
			return runSkillsReset(c.Context, env, opts)
		},
	}
}

func runSkillsReset(ctx context.Context, env *environment, opts *skillsResetOptions) error {
	m, err := env.skillsWith(install.Options{AllowUnsigned: opts.AllowUnsigned}, opts.Yes)
	if err != nil {
		return err
	}
	res, err := m.Reset(ctx, opts.Name, skills.ResetOptions{Restore: opts.Restore, Version: opts.Version, Confirm: env.skillConfirm()})
	if err != nil {
		return skillError(err)
	}
	s, p := res.Skill, res.Previous
	switch res.Action {
	case "unchanged":
		env.printf("%s %s is unchanged since it was installed; re-scanned: %s.\n", s.Name, orNone(s.Version), s.Verdict)
	case "accepted":
		env.printf("%s: the local changes are now the installed version %s (verdict %s, was %s %s).\n", s.Name, orNone(s.Version), s.Verdict, orNone(p.Version), short(p.ContentSHA256))
	case "restored":
		env.printf("%s: restored %s sha256 %s (verdict %s) in place of %s sha256 %s.\n", s.Name, orNone(s.Version), short(s.ContentSHA256), s.Verdict, orNone(p.Version), short(p.ContentSHA256))
	case "bundled":
		env.printf("%s: restored the version bundled with hermes, %s.\n", s.Name, orNone(s.Version))
	}
	printFindings(env.Out, s.Findings)
	printTools(env.Out, res.Tools)
	return nil
}
