package main

import (
	"context"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/skills/evolve"
)

type skillsCandidatesOptions struct {
	Name string
	JSON bool
}

func newSkillsCandidatesCmd(env *environment) *cli.Command {
	opts := &skillsCandidatesOptions{}
	return &cli.Command{
		Name:      "candidates",
		Usage:     "list a skill's staged variants: scores, tokens, time, gates, the Pareto front; and the ones a gate rejected",
		ArgsUsage: "NAME [--json]",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, map[string]*bool{"json": &opts.JSON}, "skills candidates takes one skill name (see: hermes skills list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runSkillsCandidates(c.Context, env, opts)
		},
	}
}

// candidateView is one staged candidate as listed.
type candidateView struct {
	evolve.Staged
	Stale bool `json:"stale"` // measured against another version than the installed one
}

func runSkillsCandidates(ctx context.Context, env *environment, opts *skillsCandidatesOptions) error {
	m, err := env.skills()
	if err != nil {
		return err
	}
	d, err := m.Inspect(ctx, opts.Name)
	if err != nil {
		return skillError(err)
	}
	s, err := env.staging()
	if err != nil {
		return err
	}
	staged, err := s.List(opts.Name)
	if err != nil {
		return err
	}
	rejected, err := s.ListRejected(opts.Name)
	if err != nil {
		return err
	}
	views := make([]candidateView, len(staged))
	for i, st := range staged {
		views[i] = candidateView{Staged: st, Stale: st.BaseSHA256 != d.Skill.ContentSHA256}
	}
	if opts.JSON {
		if rejected == nil {
			rejected = []evolve.Rejected{}
		}
		return writeJSON(env.Out, map[string]any{"skill": opts.Name, "installed_sha256": d.Skill.ContentSHA256, "candidates": views, "rejected": rejected})
	}
	if len(staged)+len(rejected) == 0 {
		env.printf("%s has no staged candidates (make some: hermes skills evolve %s).\n", opts.Name, opts.Name)
		return nil
	}
	env.printf("%s %s, installed sha256 %s. * marks the Pareto front over (pass rate, tokens, time).\n", opts.Name, orNone(d.Skill.Version), short(d.Skill.ContentSHA256))
	if len(staged) > 0 {
		tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
		writeRow(tw, "  ", "CANDIDATE", "PASSED", "INSTALLED", "TOKENS", "TIME", "BYTES", "GATES")
		for _, v := range views {
			mark := " "
			if v.OnFront {
				mark = "*"
			}
			gates := "passed: " + strings.Join(v.Gates, ", ")
			if v.Stale {
				gates += " (measured against another version: evolve again)"
			}
			writeRow(tw, "  "+mark, v.ID, passed(v.Score), passed(v.Baseline), itoa(v.Score.Tokens), v.Score.Wall.Round(time.Millisecond).String(), itoa(v.Bytes), gates)
		}
		tw.Flush()
	}
	if len(rejected) > 0 {
		env.printf("Rejected by a gate (never staged, nothing of them can be accepted):\n")
		for _, r := range rejected {
			env.printf("     %s  %s\n", r.ID, r.Gate.Error())
		}
	}
	return nil
}

func passed(s evolve.Score) string {
	n := 0
	for _, p := range s.Passed {
		if p {
			n++
		}
	}
	return itoa(n) + "/" + itoa(len(s.Passed))
}
