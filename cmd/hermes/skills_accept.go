package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/skills/evolve"
)

type skillsAcceptOptions struct {
	Name, Candidate string
	Yes             bool
	AllowUnsigned   bool
}

func newSkillsAcceptCmd(env *environment) *cli.Command {
	opts := &skillsAcceptOptions{}
	return &cli.Command{
		Name:      "accept",
		Usage:     "install a staged candidate as a new kept version of the skill, after showing its diff and asking y/N (roll back with: hermes skills reset NAME --restore)",
		ArgsUsage: "NAME CANDIDATE [--yes] [--allow-unsigned]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "accept without asking (needed without a terminal)", Destination: &opts.Yes},
			&cli.BoolFlag{Name: "allow-unsigned", Usage: "reinstall the skill's tools, installed unsigned, with the new version", Destination: &opts.AllowUnsigned},
		},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 2, map[string]*bool{"yes": &opts.Yes, "y": &opts.Yes, "allow-unsigned": &opts.AllowUnsigned}, "skills accept takes a skill name and a candidate (see: hermes skills candidates NAME)")
			if err != nil {
				return err
			}
			opts.Name, opts.Candidate = args[0], args[1]
			return runSkillsAccept(c.Context, env, opts)
		},
	}
}

func runSkillsAccept(ctx context.Context, env *environment, opts *skillsAcceptOptions) error {
	diff, st, stale, err := candidateDiff(ctx, env, opts.Name, opts.Candidate)
	if err != nil {
		return err
	}
	if stale {
		return usagef("candidate %s of %s was measured against another version than the installed one; run hermes skills evolve %s again", st.ID, opts.Name, opts.Name)
	}
	// The skill's tools are reinstalled with the new version (their bytes unchanged): refuse
	// before anything changes rather than half-way.
	if !opts.AllowUnsigned {
		plugins, err := env.skillPlugins(ctx, opts.Name)
		if err != nil {
			return err
		}
		for _, p := range plugins {
			if p.Unsigned {
				return &deniedCommand{fmt.Errorf("the tool %s of %s is installed unsigned and is reinstalled with the new version; pass --allow-unsigned to accept %s %s", p.Name, opts.Name, opts.Name, st.ID)}
			}
		}
	}
	if !opts.Yes {
		if !env.IsTerm() {
			return usagef("skills accept asks before installing a candidate and there is no terminal to ask on; pass --yes to accept %s %s", opts.Name, st.ID)
		}
		fmt.Fprint(env.Out, diff)
		env.printf("Candidate %s: %s (installed: %s).\n", st.ID, scoreText(st.Score), scoreText(st.Baseline))
		if !confirm(env.In, env.Out, fmt.Sprintf("Install it as the new version of %s? [y/N] ", opts.Name)) {
			return &deniedCommand{fmt.Errorf("candidate %s of %s not accepted; it stays staged (remove it: hermes skills reject %s %s)", st.ID, opts.Name, opts.Name, st.ID)}
		}
	}
	m, err := env.skillsWith(install.Options{AllowUnsigned: opts.AllowUnsigned}, opts.Yes)
	if err != nil {
		return err
	}
	s, err := env.staging()
	if err != nil {
		return err
	}
	res, _, err := evolve.Accept(ctx, m, s, opts.Name, st.ID)
	if err != nil && res == nil {
		return candidateError(err)
	}
	sk := res.Skill
	env.printf("Accepted %s: %s %s is installed (sha256 %s, verdict %s); the previous version is kept: hermes skills reset %s --restore\n",
		st.ID, sk.Name, orNone(sk.Version), short(sk.ContentSHA256), sk.Verdict, opts.Name)
	printTools(env.Out, res.Tools)
	return candidateError(err)
}
