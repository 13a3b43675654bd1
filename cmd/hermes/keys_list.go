package main

import (
	"context"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/install/signing"
)

type keysListOptions struct{ JSON bool }

func newKeysListCmd(env *environment) *cli.Command {
	opts := &keysListOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "list the keys you trust to sign plugins",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			if _, err := exactArgs(c, 0, map[string]*bool{"json": &opts.JSON}, "keys list takes no arguments"); err != nil {
				return err
			}
			return runKeysList(c.Context, env, opts)
		},
	}
}

type trustedKeyView struct {
	Name        string `json:"name"`
	PublicKey   string `json:"public_key"`
	Fingerprint string `json:"fingerprint"`
	AddedAt     string `json:"added_at"`
}

func runKeysList(ctx context.Context, env *environment, opts *keysListOptions) error {
	db, err := env.store()
	if err != nil {
		return err
	}
	keys, err := db.TrustedKeys(ctx)
	if err != nil {
		return err
	}
	views := make([]trustedKeyView, 0, len(keys))
	for _, k := range keys {
		v := trustedKeyView{Name: k.Name, PublicKey: k.PublicKey, AddedAt: k.AddedAt.Format("2006-01-02T15:04:05Z")}
		if pub, err := signing.ParsePublicKey(k.PublicKey); err == nil {
			v.Fingerprint = signing.Fingerprint(pub)
		}
		views = append(views, v)
	}
	if opts.JSON {
		return writeJSON(env.Out, views)
	}
	if len(views) == 0 {
		env.printf("No trusted keys. Trust a plugin author's key with: hermes keys trust ed25519:… --name NAME\n")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	writeRow(tw, "NAME", "FINGERPRINT", "ADDED", "PUBLIC KEY")
	for _, v := range views {
		writeRow(tw, v.Name, v.Fingerprint, v.AddedAt, v.PublicKey)
	}
	return tw.Flush()
}
