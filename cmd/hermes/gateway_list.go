package main

import (
	"context"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/gateway"
)

func newGatewayListCmd(env *environment) *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the users allowed on each platform: from PLATFORM_ALLOWED_USERS and granted by pairing or allow",
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("gateway list takes no arguments")
			}
			return runGatewayList(c.Context, env)
		},
	}
}

func runGatewayList(ctx context.Context, env *environment) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	writeRow(tw, "PLATFORM", "USER", "VIA", "SINCE")
	for _, p := range gatewayPlatforms {
		list, err := env.setting(gatewayEnv(p, "ALLOWED_USERS"))
		if err != nil {
			return err
		}
		for _, u := range gateway.ParseAllowed(list) {
			writeRow(tw, p, u, gatewayEnv(p, "ALLOWED_USERS"), "")
		}
	}
	grants, err := db.GatewayGrants(ctx)
	if err != nil {
		return err
	}
	for _, g := range grants {
		writeRow(tw, g.Platform, g.UserID, g.Via, g.AddedAt.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}
