package main

import (
	"context"

	"github.com/urfave/cli/v2"
)

func newGatewayAllowCmd(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "allow",
		Usage:     "let a user talk to the agent on a platform (besides PLATFORM_ALLOWED_USERS)",
		ArgsUsage: "PLATFORM USER_ID",
		Action: func(c *cli.Context) error {
			platform, user, err := gatewayUserArgs(c, "allow")
			if err != nil {
				return err
			}
			return runGatewayAllow(c.Context, env, platform, user)
		},
	}
}

// gatewayUserArgs reads PLATFORM USER_ID.
func gatewayUserArgs(c *cli.Context, cmd string) (string, string, error) {
	if c.Args().Len() != 2 || c.Args().Get(1) == "" {
		return "", "", usagef("gateway %s takes a platform and a user id: hermes gateway %s telegram 123456", cmd, cmd)
	}
	platform, err := gatewayPlatform(cmd, c.Args().First())
	return platform, c.Args().Get(1), err
}

func runGatewayAllow(ctx context.Context, env *environment, platform, user string) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	if err := db.AllowGatewayUser(ctx, platform, user); err != nil {
		return err
	}
	env.printf("Allowed %s user %s.\n", platform, user)
	return nil
}
