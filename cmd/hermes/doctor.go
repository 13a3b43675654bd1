package main

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/doctor"
	"github.com/hermes-agent/hermes/sandbox/docker"
)

type doctorOptions struct{ JSON bool }

func newDoctorCmd(env *environment) *cli.Command {
	opts := &doctorOptions{}
	return &cli.Command{
		Name:  "doctor",
		Usage: "check home permissions, the model provider, Docker and the added plugins",
		Flags: []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON", Destination: &opts.JSON}},
		Action: func(c *cli.Context) error {
			return runDoctor(c.Context, env, opts)
		},
	}
}

// errUnhealthy makes doctor exit non-zero when a check failed; the checks said why.
var errUnhealthy = errors.New("some checks failed")

func runDoctor(ctx context.Context, env *environment, opts *doctorOptions) error {
	reg, err := env.registry()
	if err != nil {
		return err
	}
	key, _ := env.apiKey()
	checks := doctor.Run(ctx, doctor.Options{Paths: env.paths, Config: env.cfg, Registry: reg, APIKey: key, DockerPing: docker.Ping})
	failed := false
	for _, c := range checks {
		failed = failed || !c.OK
	}
	if opts.JSON {
		if err := writeJSON(env.Out, checks); err != nil {
			return err
		}
	} else {
		for _, c := range checks {
			mark := "ok  "
			if !c.OK {
				mark = "FAIL"
			}
			env.printf("%s %s: %s\n", mark, c.Name, c.Detail)
			if !c.OK && c.Fix != "" {
				env.printf("     fix: %s\n", c.Fix)
			}
		}
	}
	if failed {
		return errUnhealthy
	}
	return nil
}
