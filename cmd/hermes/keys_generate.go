package main

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/install/signing"
)

type keysGenerateOptions struct{ Out string }

func newKeysGenerateCmd(env *environment) *cli.Command {
	opts := &keysGenerateOptions{}
	return &cli.Command{
		Name:  "generate",
		Usage: "make an ed25519 key pair for signing plugins; prints the public key to give your users",
		Flags: []cli.Flag{&cli.StringFlag{Name: "out", Usage: "write the private key to `FILE` (default: signing.key in the home's keys/)", Destination: &opts.Out}},
		Action: func(c *cli.Context) error {
			if _, err := positionalWith(c, nil, map[string]*string{"out": &opts.Out}); err != nil {
				return err
			}
			return runKeysGenerate(env, opts)
		},
	}
}

func runKeysGenerate(env *environment, opts *keysGenerateOptions) error {
	if opts.Out == "" {
		if err := env.home(); err != nil {
			return err
		}
		opts.Out = filepath.Join(env.paths.Home, "keys", "signing.key")
	}
	// Never overwrite a key: whatever it signed could no longer be re-signed or trusted.
	if _, err := os.Stat(opts.Out); err == nil {
		return usagef("%s already exists; not replacing a signing key (give another --out FILE)", opts.Out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	key, err := signing.GenerateKey()
	if err != nil {
		return err
	}
	pem, err := signing.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(opts.Out), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(opts.Out), err)
	}
	if err := config.WriteFileAtomic(opts.Out, pem, 0o600); err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	env.printf("Private key: %s (keep it secret; mode 0600)\n", opts.Out)
	env.printf("Public key:  %s\n", signing.FormatPublicKey(pub))
	env.printf("Fingerprint: %s\n", signing.Fingerprint(pub))
	env.printf("Users trust it with: hermes keys trust %s --name YOUR-NAME\n", signing.FormatPublicKey(pub))
	return nil
}
