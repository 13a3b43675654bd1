package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/store"
)

type pluginsActivityOptions struct {
	Name  string
	JSON  bool
	Limit int
}

func newPluginsActivityCmd(env *environment) *cli.Command {
	opts := &pluginsActivityOptions{}
	return &cli.Command{
		Name:      "activity",
		Usage:     "show what a plugin did with its capabilities: requests, files, keys, commands, denials and limit hits",
		ArgsUsage: "NAME",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON},
			&cli.IntFlag{Name: "limit", Usage: "newest `N` uses", Value: 50, Destination: &opts.Limit},
		},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, map[string]*bool{"json": &opts.JSON}, "plugins activity takes one plugin name (see: hermes plugins list)")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			return runPluginsActivity(c.Context, env, opts)
		},
	}
}

func runPluginsActivity(ctx context.Context, env *environment, opts *pluginsActivityOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	if opts.Limit <= 0 {
		return usagef("--limit %d: give a positive number", opts.Limit)
	}
	events, err := db.ListActivity(ctx, store.ActivityFilter{Plugin: opts.Name, Limit: opts.Limit})
	if err != nil {
		return err
	}
	if opts.JSON {
		if events == nil {
			events = []store.Activity{}
		}
		return writeJSON(env.Out, events)
	}
	if len(events) == 0 {
		env.printf("No activity recorded for %s (its capability uses appear here after its tools are called).\n", opts.Name)
		return nil
	}
	// Oldest first, as a log reads.
	for i := len(events) - 1; i >= 0; i-- {
		a := events[i]
		where := a.Tool
		if a.Session != "" {
			where += " session " + a.Session
		}
		line := fmt.Sprintf("%s  %-7s %-5s %-6s %s", a.Time.Local().Format("2006-01-02 15:04:05"), a.Outcome, a.Kind, a.Op, a.Target)
		if where != "" {
			line += "  (" + where + ")"
		}
		if a.Detail != "" {
			line += ": " + a.Detail
		}
		env.printf("%s\n", line)
	}
	return nil
}
