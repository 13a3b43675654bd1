package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/agent"
)

type runOptions struct {
	Prompt string
	Model  string
	Resume string
	JSON   bool
}

func newRunCmd(env *environment) *cli.Command {
	opts := &runOptions{}
	return &cli.Command{
		Name:      "run",
		Usage:     "one agent turn: send a prompt, let the agent use its tools, print the final answer",
		ArgsUsage: `"PROMPT"`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "model name (default: model.name)", Destination: &opts.Model},
			&cli.StringFlag{Name: "resume", Usage: "continue session `ID`", Destination: &opts.Resume},
			&cli.BoolFlag{Name: "json", Usage: "print the whole transcript as JSON", Destination: &opts.JSON},
		},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, map[string]*bool{"json": &opts.JSON}, `run takes one prompt, e.g. hermes run "summarise README.md"`)
			if err != nil {
				return err
			}
			opts.Prompt = args[0]
			return runRun(c.Context, env, opts)
		},
	}
}

func runRun(ctx context.Context, env *environment, opts *runOptions) error {
	a, session, err := env.agent(ctx, opts.Model, opts.Resume)
	if err != nil {
		return err
	}
	onEvent := func(ev agent.Event) {
		switch ev.Kind {
		case agent.EventToolStart:
			fmt.Fprintf(env.Err, "  → %s %s\n", agent.DisplayName(ev.Tool), firstSentence(ev.Args))
		case agent.EventRetry:
			fmt.Fprintf(env.Err, "  … %s\n", ev.Text)
		case agent.EventToolEnd:
			printNotices(env.Err, ev)
		}
	}
	if session.Title == "" {
		_ = env.db.SetSessionTitle(ctx, session.ID, env.redactor.String(firstSentence(opts.Prompt)))
	}
	final, err := a.Run(ctx, session, opts.Prompt, onEvent)
	if opts.JSON {
		msgs, merr := env.db.Messages(context.WithoutCancel(ctx), session.ID, sourceFilter("cli"))
		if merr != nil {
			return merr
		}
		if werr := writeJSON(env.Out, map[string]any{"session": session.ID, "final": final, "messages": msgs}); werr != nil {
			return werr
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("%w (session %s is saved; continue with: hermes run --resume %s \"...\")", err, session.ID, session.ID)
	}
	env.printf("%s\n", final)
	return nil
}

// printNotices shows, under a tool call of chat or run, what the host told about it beyond its
// result (a path outside the plugin's file grants), one indented line each.
func printNotices(w io.Writer, ev agent.Event) {
	for _, n := range ev.Notices {
		fmt.Fprintf(w, "  %s\n", n)
	}
}
