package main

import (
	"context"
	"strconv"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/store"
)

type sessionsListOptions struct {
	Source string
	All    bool
	JSON   bool
}

func newSessionsListCmd(env *environment) *cli.Command {
	opts := &sessionsListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "list sessions, newest first (CLI sessions unless --source or --all)",
		Flags: append(sourceFlags(&opts.Source, &opts.All),
			&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}),
		Action: func(c *cli.Context) error { return runSessionsList(c.Context, env, opts) },
	}
}

// sourceFlags are --source and --all of the sessions commands that read more than the CLI's
// sessions: one source's sessions (cli by default), or every source's.
func sourceFlags(source *string, all *bool) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "source", Value: "cli", Usage: "the sessions of one source: cli, api, telegram, discord, slack", Destination: source},
		&cli.BoolFlag{Name: "all", Usage: "every source", Destination: all},
	}
}

// sourceFilter keeps a command to one source's sessions.
func sourceFilter(source string) store.SessionFilter { return store.SessionFilter{Source: source} }

func runSessionsList(ctx context.Context, env *environment, opts *sessionsListOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	list, err := db.ListSessions(ctx, store.SessionFilter{Source: opts.Source, AllSources: opts.All})
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, list)
	}
	if len(list) == 0 {
		env.printf("No sessions. Start one with: hermes chat\n")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	writeRow(tw, "ID", "SOURCE", "UPDATED", "MESSAGES", "TITLE")
	for _, s := range list {
		writeRow(tw, s.ID, s.Source, s.UpdatedAt.Local().Format("2006-01-02 15:04"), strconv.Itoa(s.Messages), s.Title)
	}
	return tw.Flush()
}
