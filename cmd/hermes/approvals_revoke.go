package main

import (
	"context"
	"strconv"

	"github.com/urfave/cli/v2"
)

type approvalsRevokeOptions struct {
	ID  int64
	All bool
}

func newApprovalsRevokeCmd(env *environment) *cli.Command {
	opts := &approvalsRevokeOptions{}
	return &cli.Command{
		Name:      "revoke",
		Usage:     "revoke one standing approval, or all of them",
		ArgsUsage: "ID | --all",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "revoke every approval", Destination: &opts.All}},
		Action: func(c *cli.Context) error {
			args, err := positional(c, map[string]*bool{"all": &opts.All})
			if err != nil {
				return err
			}
			switch {
			case opts.All && len(args) == 0:
			case !opts.All && len(args) == 1:
				if opts.ID, err = strconv.ParseInt(args[0], 10, 64); err != nil {
					return usagef("approvals revoke: %q is not an approval ID (see: hermes approvals list)", args[0])
				}
			default:
				return usagef("approvals revoke takes one ID or --all (see: hermes approvals list)")
			}
			return runApprovalsRevoke(c.Context, env, opts)
		},
	}
}

func runApprovalsRevoke(ctx context.Context, env *environment, opts *approvalsRevokeOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	if opts.All {
		n, err := db.RevokeAllApprovals(ctx)
		if err != nil {
			return err
		}
		env.printf("Revoked %d approvals.\n", n)
		return nil
	}
	if err := db.RevokeApproval(ctx, opts.ID); err != nil {
		return notFoundApproval(opts.ID, err)
	}
	env.printf("Revoked approval %d.\n", opts.ID)
	return nil
}
