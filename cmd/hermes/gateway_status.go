package main

import (
	"context"
	"text/tabwriter"

	"github.com/urfave/cli/v2"
)

func newGatewayStatusCmd(env *environment) *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show which platforms are configured and connected, and how many messages from strangers were dropped",
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("gateway status takes no arguments")
			}
			return runGatewayStatus(c.Context, env)
		},
	}
}

func runGatewayStatus(ctx context.Context, env *environment) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	states, err := db.GatewayStates(ctx)
	if err != nil {
		return err
	}
	drops, err := db.GatewayDrops(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	writeRow(tw, "PLATFORM", "CONFIGURED", "CONNECTION", "DROPPED")
	for _, p := range gatewayPlatforms {
		configured := "yes"
		for _, name := range gatewayTokens(p) {
			token, err := env.setting(name)
			if err != nil {
				return err
			}
			if token == "" {
				configured = "no (" + name + " unset)"
				break
			}
		}
		connection := "never run"
		for _, s := range states {
			if s.Platform == p {
				connection = s.State + " since " + s.Since.Local().Format("2006-01-02 15:04:05")
			}
		}
		var dropped int64
		for _, d := range drops {
			if d.Platform == p {
				dropped += d.Count
			}
		}
		writeRow(tw, p, configured, connection, itoa(int(dropped)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(drops) > 0 {
		env.printf("\nDropped messages by user (hermes gateway allow PLATFORM USER_ID lets one in):\n")
		tw = tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
		writeRow(tw, "PLATFORM", "USER", "DROPPED", "LAST")
		for _, d := range drops {
			writeRow(tw, d.Platform, d.UserID, itoa(int(d.Count)), d.LastAt.Local().Format("2006-01-02 15:04:05"))
		}
		return tw.Flush()
	}
	return nil
}
