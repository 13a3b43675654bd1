package main

import (
	"context"
	"strings"

	"github.com/urfave/cli/v2"
)

type skillsInspectOptions struct {
	Name string
	JSON bool
}

func newSkillsInspectCmd(env *environment) *cli.Command {
	opts := &skillsInspectOptions{}
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show an installed skill: its front matter, lock, findings, tools, kept versions and history",
		ArgsUsage: "NAME",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, map[string]*bool{"json": &opts.JSON}, "skills inspect takes one skill name (see: hermes skills list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runSkillsInspect(c.Context, env, opts)
		},
	}
}

func runSkillsInspect(ctx context.Context, env *environment, opts *skillsInspectOptions) error {
	m, err := env.skills()
	if err != nil {
		return err
	}
	d, err := m.Inspect(ctx, opts.Name)
	if err != nil {
		return skillError(err)
	}
	if opts.JSON {
		return writeJSON(env.Out, d)
	}
	s := d.Skill
	env.printf("Skill:    %s %s\n", s.Name, orNone(s.Version))
	if man := d.Manifest; man != nil {
		env.printf("          %s\n", man.Description)
		if len(man.Platforms) > 0 {
			env.printf("Platforms: %s\n", strings.Join(man.Platforms, ", "))
		}
		if len(man.RequiredEnv) > 0 {
			env.printf("Needs:    %s\n", strings.Join(man.EnvNames(), ", "))
		}
		if man.Category != "" {
			env.printf("Category: %s\n", man.Category)
		}
		if len(man.Tags) > 0 {
			env.printf("Tags:     %s\n", strings.Join(man.Tags, ", "))
		}
	} else {
		env.printf("SKILL.md: cannot be read: %s\n", d.ManifestError)
	}
	env.printf("Source:   %s\nTrust:    %s\nDir:      %s\nSHA-256:  %s\n", s.Source, s.Trust, s.Dir, s.ContentSHA256)
	env.printf("Scan:     %s (scanner %s, %d findings)\n", s.Verdict, s.ScannerVersion, len(s.Findings))
	printFindings(env.Out, s.Findings)
	for _, t := range d.Tools {
		env.printf("Tool:     %s\n", t)
	}
	env.printf("Versions:\n")
	for _, v := range d.Versions {
		mark := " "
		if v.Active {
			mark = "*"
		}
		note := ""
		if !v.Present {
			note = " (files missing)"
		}
		env.printf("  %s %-12s %s  %s  %s%s\n", mark, orNone(v.Version), short(v.ContentSHA256), v.Trust, v.InstalledAt.Format("2006-01-02 15:04"), note)
	}
	env.printf("History:\n")
	for _, h := range d.History {
		env.printf("  %s  %-14s %s\n", h.Time.Format("2006-01-02 15:04:05"), h.Event, h.Detail)
	}
	return nil
}
