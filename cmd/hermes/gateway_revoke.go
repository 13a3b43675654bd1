package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/store"
)

func newGatewayRevokeCmd(env *environment) *cli.Command {
	return &cli.Command{
		Name:      "revoke",
		Usage:     "take back a user's access granted by pairing or allow",
		ArgsUsage: "PLATFORM USER_ID",
		Action: func(c *cli.Context) error {
			platform, user, err := gatewayUserArgs(c, "revoke")
			if err != nil {
				return err
			}
			return runGatewayRevoke(c.Context, env, platform, user)
		},
	}
}

func runGatewayRevoke(ctx context.Context, env *environment, platform, user string) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	if err := db.RevokeGatewayUser(ctx, platform, user); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &abi.Error{Code: abi.CodeNotFound, Message: fmt.Sprintf("no grant for %s user %s (see: hermes gateway list; users in %s are removed there)", platform, user, gatewayEnv(platform, "ALLOWED_USERS")), Err: err}
		}
		return err
	}
	env.printf("Revoked %s user %s.\n", platform, user)
	return nil
}
