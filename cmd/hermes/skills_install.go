package main

import (
	"context"
	"errors"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/skills"
)

type skillsInstallOptions struct {
	Source string
	Trust  string
	Force  bool
	JSON   bool
	SHA256 string
	// For the WebAssembly tools a skill ships, as for plugins.
	Yes           bool
	AllowUnsigned bool
}

func newSkillsInstallCmd(env *environment) *cli.Command {
	opts := &skillsInstallOptions{Trust: string(skills.TrustCommunity)}
	bools := map[string]*bool{"force": &opts.Force, "json": &opts.JSON, "yes": &opts.Yes, "y": &opts.Yes, "allow-unsigned": &opts.AllowUnsigned}
	return &cli.Command{
		Name:      "install",
		Usage:     "scan a skill (directory, .tar.gz or https:// URL of one) and install it if the policy for its trust level allows",
		ArgsUsage: "DIR | SKILL.tar.gz | https://HOST/SKILL.tar.gz",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "trust", Value: opts.Trust, Usage: "trusted, community or agent-created: how much you trust the source", Destination: &opts.Trust},
			&cli.BoolFlag{Name: "force", Usage: "install despite caution findings (never despite dangerous ones)", Destination: &opts.Force},
			&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON},
			&cli.StringFlag{Name: "sha256", Usage: "for a URL: the archive's SHA-256; other bytes are refused", Destination: &opts.SHA256},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "grant what the skill's tools ask without asking (still prints it)", Destination: &opts.Yes},
			&cli.BoolFlag{Name: "allow-unsigned", Usage: "install the skill's tools without a signature by a key you trusted", Destination: &opts.AllowUnsigned},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, bools, map[string]*string{"trust": &opts.Trust, "sha256": &opts.SHA256})
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usagef("skills install takes one source: a skill directory, a .tar.gz or an https:// URL of one (e.g. hermes skills install ./my-skill)")
			}
			opts.Source = args[0]
			return runSkillsInstall(c.Context, env, opts)
		},
	}
}

func runSkillsInstall(ctx context.Context, env *environment, opts *skillsInstallOptions) error {
	trust, err := skills.ParseTrust(opts.Trust)
	if err != nil {
		return usagef("--trust: %v", err)
	}
	m, err := env.skillsWith(install.Options{AllowUnsigned: opts.AllowUnsigned}, opts.Yes)
	if err != nil {
		return err
	}
	res, err := m.Install(ctx, opts.Source, skills.InstallOptions{Trust: trust, Force: opts.Force, SHA256: opts.SHA256, Confirm: env.skillConfirm(), Accept: env.skillAccept()})
	if err != nil {
		var blocked *skills.BlockedError
		if errors.As(err, &blocked) && !opts.JSON && !blocked.Declined {
			env.printf("Not installed: %s %s (trust %s), verdict %s:\n", blocked.Name, blocked.Version, blocked.Trust, blocked.Verdict)
			printFindings(env.Out, blocked.Findings)
		}
		return skillError(err)
	}
	if opts.JSON {
		return writeJSON(env.Out, res)
	}
	s := res.Skill
	env.printf("Installed %s %s (trust %s, verdict %s) in %s\n", s.Name, orNone(s.Version), s.Trust, s.Verdict, s.Dir)
	if res.Manifest.Derived != "" {
		env.printf("  note: %s\n", res.Manifest.Derived)
	}
	if res.Forced {
		env.printf("Caution findings accepted with --force:\n")
	}
	if len(res.Accepted) > 0 {
		env.printf("You accepted %d finding(s) one by one (recorded in the audit log). All findings:\n", len(res.Accepted))
	}
	printFindings(env.Out, s.Findings)
	printTools(env.Out, res.Tools)
	if len(res.Manifest.Ignored) > 0 {
		env.printf("  note: front-matter keys hermes does not use: %s\n", strings.Join(res.Manifest.Ignored, ", "))
	}
	return nil
}
