package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/skills/evolve"
)

type skillsDiffOptions struct {
	Name, Candidate string
}

func newSkillsDiffCmd(env *environment) *cli.Command {
	opts := &skillsDiffOptions{}
	return &cli.Command{
		Name:      "diff",
		Usage:     "show a staged candidate as a unified diff against the installed version of the skill",
		ArgsUsage: "NAME CANDIDATE",
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 2, nil, "skills diff takes a skill name and a candidate (see: hermes skills candidates NAME)")
			if err != nil {
				return err
			}
			opts.Name, opts.Candidate = args[0], args[1]
			return runSkillsDiff(c.Context, env, opts)
		},
	}
}

func runSkillsDiff(ctx context.Context, env *environment, opts *skillsDiffOptions) error {
	diff, st, stale, err := candidateDiff(ctx, env, opts.Name, opts.Candidate)
	if err != nil {
		return err
	}
	if stale {
		fmt.Fprintf(env.Err, "hermes: candidate %s was measured against another version of %s than the installed one; its scores do not apply to this diff\n", st.ID, opts.Name)
	}
	if diff == "" {
		env.printf("candidate %s is the installed version of %s, unchanged.\n", st.ID, opts.Name)
		return nil
	}
	_, err = fmt.Fprint(env.Out, diff)
	return err
}

// candidateDiff is the unified diff of a staged candidate's SKILL.md against the installed one.
func candidateDiff(ctx context.Context, env *environment, skill, id string) (string, evolve.Staged, bool, error) {
	m, err := env.skills()
	if err != nil {
		return "", evolve.Staged{}, false, err
	}
	d, err := m.Inspect(ctx, skill)
	if err != nil {
		return "", evolve.Staged{}, false, skillError(err)
	}
	s, err := env.staging()
	if err != nil {
		return "", evolve.Staged{}, false, err
	}
	st, err := s.Get(skill, id)
	if err != nil {
		return "", st, false, candidateError(err)
	}
	installed, err := os.ReadFile(filepath.Join(d.Skill.Dir, "SKILL.md"))
	if err != nil {
		return "", st, false, fmt.Errorf("read the installed SKILL.md of %s: %w", skill, err)
	}
	cand, err := os.ReadFile(filepath.Join(st.SkillDir(), "SKILL.md"))
	if err != nil {
		return "", st, false, fmt.Errorf("read candidate %s: %w; remove it with: hermes skills reject %s %s", id, err, skill, id)
	}
	return evolve.Diff("a/SKILL.md", "b/SKILL.md", string(installed), string(cand)), st, st.BaseSHA256 != d.Skill.ContentSHA256, nil
}
