package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/gateway"
)

func newGatewayPairCmd(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "pair",
		Usage:     "print a one-time code (valid 10 minutes) to send the bot in a direct message",
		ArgsUsage: "PLATFORM",
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return usagef("gateway pair takes one platform: hermes gateway pair telegram")
			}
			platform, err := gatewayPlatform("pair", c.Args().First())
			if err != nil {
				return err
			}
			return runGatewayPair(c.Context, env, platform)
		},
	}
}

func runGatewayPair(ctx context.Context, env *environment, platform string) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	code := gateway.NewPairingCode()
	expires := time.Now().Add(gateway.PairingLifetime)
	if err := db.AddGatewayPairing(ctx, platform, code, expires); err != nil {
		return err
	}
	env.printf("%s\n", code)
	fmt.Fprintf(env.Err, "Send this code to the bot in a direct message on %s before %s; it works once.\n", platform, expires.Local().Format("15:04"))
	return nil
}
