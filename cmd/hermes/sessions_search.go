package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/store"
)

type sessionsSearchOptions struct {
	Query  string
	Source string
	All    bool
	JSON   bool
}

func newSessionsSearchCmd(env *environment) *cli.Command {
	opts := &sessionsSearchOptions{}
	return &cli.Command{
		Name:      "search",
		Usage:     "full-text search of your messages, best matches first",
		ArgsUsage: `"WORDS"`,
		Description: "Every word must occur (stemmed; case and accents ignored); a trailing * makes a word a prefix.\n" +
			"When more than " + strconv.Itoa(store.SearchWindow) + " messages match, the best matches are taken from the most recent " + strconv.Itoa(store.SearchWindow) + " of them.",
		Flags: append(sourceFlags(&opts.Source, &opts.All),
			&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}),
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, map[string]*bool{"all": &opts.All, "json": &opts.JSON}, map[string]*string{"source": &opts.Source})
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return usagef(`sessions search takes words to look for, e.g. hermes sessions search "docker pids"`)
			}
			opts.Query = strings.Join(args, " ")
			return runSessionsSearch(c.Context, env, opts)
		},
	}
}

func runSessionsSearch(ctx context.Context, env *environment, opts *sessionsSearchOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	hits, err := db.Search(ctx, opts.Query, store.SessionFilter{Source: opts.Source, AllSources: opts.All, Limit: 20})
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, hits)
	}
	if len(hits) == 0 {
		env.printf("No matches.\n")
		return nil
	}
	for _, h := range hits {
		env.printf("%s  %-9s %s\n", h.SessionID, h.Role, strings.ReplaceAll(h.Snippet, "\n", " "))
	}
	return nil
}
