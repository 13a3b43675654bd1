package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/skills/scan"
)

type skillsAuditOptions struct {
	Name string
	JSON bool
}

func newSkillsAuditCmd(env *environment) *cli.Command {
	opts := &skillsAuditOptions{}
	return &cli.Command{
		Name:      "audit",
		Usage:     "re-scan installed skills with this hermes' scanner and check their files against the lock; exits 1 on any finding at or above caution",
		ArgsUsage: "[NAME]",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			name, err := optionalArg(c, map[string]*bool{"json": &opts.JSON}, "skills audit takes at most one skill name")
			if err != nil {
				return err
			}
			opts.Name = name
			return runSkillsAudit(c.Context, env, opts)
		},
	}
}

func runSkillsAudit(ctx context.Context, env *environment, opts *skillsAuditOptions) error {
	m, err := env.skills()
	if err != nil {
		return err
	}
	results, err := m.Audit(ctx, opts.Name)
	if err != nil {
		return skillError(err)
	}
	flagged := 0
	for _, r := range results {
		if r.Flagged() {
			flagged++
		}
	}
	if opts.JSON {
		if err := writeJSON(env.Out, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			s := r.Skill
			line := s.Name + " " + orNone(s.Version) + ": " + r.Report.Verdict.String()
			if r.PreviousVerdict != r.Report.Verdict || r.PreviousScanner != r.Report.ScannerVersion {
				line += " (was " + r.PreviousVerdict.String() + " with scanner " + orNone(r.PreviousScanner) + ")"
			}
			if r.Report.Verdict > scan.Safe {
				line += "; policy for " + string(s.Trust) + ": " + string(r.Decision)
			}
			env.printf("%s\n", line)
			if r.Modified {
				env.printf("  files differ from the lock (sha256 %s); bring the installed copy back with: hermes skills reset %s --restore, or accept the changes with: hermes skills reset %s\n", s.ContentSHA256, s.Name, s.Name)
			}
			if r.Problem != "" {
				env.printf("  %s\n", r.Problem)
			}
			printFindings(env.Out, r.Report.Findings)
		}
		switch {
		case len(results) == 0:
			env.printf("No skills installed.\n")
		case flagged > 0:
			env.printf("Audited %d skill(s): %d need attention.\n", len(results), flagged)
		default:
			env.printf("Audited %d skill(s): no findings.\n", len(results))
		}
	}
	if flagged > 0 {
		return errFindings
	}
	return nil
}
