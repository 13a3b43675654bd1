package main

import (
	"context"
	"strconv"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

type approvalsListOptions struct{ JSON bool }

func newApprovalsListCmd(env *environment) *cli.Command {
	opts := &approvalsListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: `list the commands you approved "always", with when and for what`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			return runApprovalsList(c.Context, env, opts)
		},
	}
}

func runApprovalsList(ctx context.Context, env *environment, opts *approvalsListOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	list, err := db.ListApprovals(ctx)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(env.Out, list)
	}
	if len(list) == 0 {
		env.printf("No standing approvals. Answer [a]lways at an approval prompt to add one.\n")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	writeRow(tw, "ID", "APPROVED", "LAST USED", "USES", "COMMAND", "FLAGGED FOR")
	for _, a := range list {
		last := "never"
		if !a.LastUsed.IsZero() {
			last = a.LastUsed.Local().Format("2006-01-02 15:04")
		}
		writeRow(tw, strconv.FormatInt(a.ID, 10), a.CreatedAt.Local().Format("2006-01-02 15:04"), last, strconv.FormatInt(a.Uses, 10), a.Shape, a.Reason)
	}
	return tw.Flush()
}
