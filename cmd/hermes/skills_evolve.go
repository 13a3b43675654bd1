package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/host/skills/evolve"
	"github.com/hermes-agent/hermes/host/skills/scan"
)

type skillsEvolveOptions struct {
	Name         string
	Iterations   int
	Candidates   int
	Eval         string
	FromSessions bool
	BudgetTokens int
	NoShell      bool
}

func newSkillsEvolveCmd(env *environment) *cli.Command {
	opts := &skillsEvolveOptions{}
	return &cli.Command{
		Name:      "evolve",
		Usage:     "propose better versions of a skill, measure them on its evaluation cases, and stage the ones that pass every gate (installs nothing)",
		ArgsUsage: "NAME [--iterations 5] [--candidates 4] [--eval FILE] [--from-sessions] [--budget-tokens N]",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "iterations", Value: 5, Usage: "rounds of proposals", Destination: &opts.Iterations},
			&cli.IntFlag{Name: "candidates", Value: 4, Usage: "variants proposed per round", Destination: &opts.Candidates},
			&cli.StringFlag{Name: "eval", Usage: "more evaluation cases from `FILE` ([[case]] tables, as in a skill's evals/*.toml)", Destination: &opts.Eval},
			&cli.BoolFlag{Name: "from-sessions", Usage: "also make cases of past turns in which the agent read the skill (redacted)", Destination: &opts.FromSessions},
			&cli.IntFlag{Name: "budget-tokens", Usage: "stop after about `N` tokens to and from the models (0: no budget)", Destination: &opts.BudgetTokens},
			&cli.BoolFlag{Name: "no-shell", Usage: "evaluate without the shell (which runs on the docker backend only)", Destination: &opts.NoShell},
		},
		Action: func(c *cli.Context) error {
			var iters, cands, budget string
			args, err := positionalWith(c, map[string]*bool{"from-sessions": &opts.FromSessions, "no-shell": &opts.NoShell},
				map[string]*string{"iterations": &iters, "candidates": &cands, "budget-tokens": &budget, "eval": &opts.Eval})
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usagef("skills evolve takes one skill name (see: hermes skills list)")
			}
			opts.Name = args[0]
			for flag, v := range map[string]struct {
				text string
				dest *int
			}{"iterations": {iters, &opts.Iterations}, "candidates": {cands, &opts.Candidates}, "budget-tokens": {budget, &opts.BudgetTokens}} {
				if v.text == "" {
					continue
				}
				n, err := strconv.Atoi(v.text)
				if err != nil {
					return usagef("--%s %q is not a number", flag, v.text)
				}
				*v.dest = n
			}
			return runSkillsEvolve(c.Context, env, opts)
		},
	}
}

// Bounds on the loop, so a typo cannot start hours of model calls.
const (
	maxEvolveIterations = 50
	maxEvolveCandidates = 20
)

func runSkillsEvolve(ctx context.Context, env *environment, opts *skillsEvolveOptions) error {
	switch {
	case opts.Iterations < 1 || opts.Iterations > maxEvolveIterations:
		return usagef("--iterations %d: give 1 to %d", opts.Iterations, maxEvolveIterations)
	case opts.Candidates < 1 || opts.Candidates > maxEvolveCandidates:
		return usagef("--candidates %d: give 1 to %d", opts.Candidates, maxEvolveCandidates)
	case opts.BudgetTokens < 0:
		return usagef("--budget-tokens %d: give a number of tokens, or 0 for no budget", opts.BudgetTokens)
	}
	m, err := env.skills()
	if err != nil {
		return err
	}
	d, err := m.Inspect(ctx, opts.Name)
	if err != nil {
		return skillError(err)
	}
	audit, err := m.Audit(ctx, opts.Name)
	if err != nil {
		return skillError(err)
	}
	if len(audit) == 1 && (audit[0].Modified || audit[0].Problem != "") {
		return usagef("the installed copy of %s differs from its lock; accept the edits with hermes skills reset %s, or bring back the installed version with hermes skills reset %s --restore, then evolve it", opts.Name, opts.Name, opts.Name)
	}
	installed, err := skills.ReadDir(d.Skill.Dir)
	if err != nil {
		return err
	}
	cases, err := evolveCases(ctx, env, opts, installed)
	if err != nil {
		return err
	}
	if err := evolve.CheckCases(cases); err != nil {
		return usagef("%v", err)
	}
	eval, err := env.evolveModel(env.cfg.Evolve.Eval)
	if err != nil {
		return err
	}
	optimizer, err := env.evolveModel(env.cfg.Evolve.Optimizer)
	if err != nil {
		return err
	}
	tools, closeTools, err := env.evolveTools(ctx, opts.Name, opts.NoShell)
	if err != nil {
		return err
	}
	defer closeTools()
	r := &evolve.Runner{Eval: eval, Tools: tools, Redact: env.redactor.String, Meter: evolve.NewMeter(opts.BudgetTokens)}
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.Name
	}
	env.printf("Evolving %s %s on %d cases (evaluation model %s, optimizer %s; tools: %s).\n", opts.Name, orNone(d.Skill.Version),
		len(cases), eval.Name, optimizer.Name, orNone(strings.Join(names, ", ")))
	start := time.Now()
	res, err := evolve.Evolve(ctx, r, installed, cases, evolve.Options{Iterations: opts.Iterations, Candidates: opts.Candidates,
		Optimizer: optimizer, Progress: func(line string) { env.printf("  %s\n", line) }})
	if res == nil {
		return err
	}
	// What was measured is staged even when the loop ended on an error.
	staged, serr := (mustStaging(env)).Stage(opts.Name, d.Skill.ContentSHA256, installed, res, start)
	printEvolved(env, opts.Name, res, staged, time.Since(start))
	if err != nil {
		return fmt.Errorf("skills evolve %s stopped: %w", opts.Name, err)
	}
	return serr
}

func mustStaging(env *environment) evolve.Staging {
	s, _ := env.staging() // the home was read by env.skills()
	return s
}

// evolveCases are the skill's own cases, then --eval FILE's, then (opt-in) past sessions'.
func evolveCases(ctx context.Context, env *environment, opts *skillsEvolveOptions, installed []scan.File) ([]evolve.Case, error) {
	cases, err := evolve.SkillCases(installed)
	if err != nil {
		return nil, &usageError{fmt.Sprintf("%v; fix the skill's evals/ and reinstall it", err)}
	}
	if opts.Eval != "" {
		more, err := evolve.LoadCaseFile(opts.Eval)
		if err != nil {
			return nil, usagef("%v", err)
		}
		cases = append(cases, more...)
	}
	if opts.FromSessions {
		db, err := env.store()
		if err != nil {
			return nil, err
		}
		more, err := evolve.SessionCases(ctx, db, opts.Name, env.redactor.String)
		if err != nil {
			return nil, err
		}
		env.printf("%d cases from past sessions in which the agent read %s.\n", len(more), opts.Name)
		cases = append(cases, more...)
	}
	return cases, nil
}

func printEvolved(env *environment, skill string, res *evolve.Result, staged []evolve.Staged, took time.Duration) {
	if res.Stopped != "" {
		env.printf("Stopped early: %s; what was measured is kept below.\n", res.Stopped)
	}
	rejected := len(res.Variants) - len(res.Staged())
	env.printf("%d variants in %s, %d tokens: %d staged, %d rejected by a gate.\n", len(res.Variants), took.Round(time.Millisecond), res.Tokens, len(staged), rejected)
	if len(staged) == 0 {
		return
	}
	env.printf("Staged (* on the Pareto front; installed: %s):\n", scoreText(res.Baseline))
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	best := ""
	for _, st := range staged {
		mark := " "
		if st.OnFront {
			mark = "*"
			if best == "" {
				best = st.ID
			}
		}
		writeRow(tw, "  "+mark+" "+st.ID, scoreText(st.Score))
	}
	tw.Flush()
	if best == "" {
		env.printf("None is on the front: none does better than the installed version without failing a case it passes.\n")
		return
	}
	env.printf("Review: hermes skills diff %s %s\nInstall: hermes skills accept %s %s\n", skill, best, skill, best)
}

// scoreText is "2/3 cases passed, 412 tokens, 1.2s".
func scoreText(s evolve.Score) string {
	n := 0
	for _, p := range s.Passed {
		if p {
			n++
		}
	}
	return fmt.Sprintf("%d/%d passed, %d tokens, %s", n, len(s.Passed), s.Tokens, s.Wall.Round(time.Millisecond))
}
