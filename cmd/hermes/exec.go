package main

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/approval"
)

type execOptions struct {
	Backend string
	Timeout time.Duration
	Command string
}

func newExecCmd(env *environment) *cli.Command {
	opts := &execOptions{}
	return &cli.Command{
		Name:      "exec",
		Usage:     "run a shell command through the configured sandbox, as the agent would",
		ArgsUsage: "-- 'COMMAND'",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "backend", Usage: "docker or local (default: terminal.backend)", Destination: &opts.Backend},
			&cli.DurationFlag{Name: "timeout", Usage: "kill the command's processes after this long, exit 124 (default: terminal.timeout)", Destination: &opts.Timeout},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usagef("exec takes a command, e.g. hermes exec -- 'make test && ls build'")
			}
			opts.Command = strings.Join(c.Args().Slice(), " ")
			return runExec(c.Context, env, opts)
		},
	}
}

func runExec(ctx context.Context, env *environment, opts *execOptions) error {
	backend, err := env.sandbox(ctx, opts.Backend)
	if err != nil {
		return err
	}
	res, err := backend.Run(ctx, sandbox.Request{Command: opts.Command, Timeout: opts.Timeout, Env: env.passthrough(), Origin: "you"})
	var denied *approval.DeniedError
	if errors.As(err, &denied) {
		return &deniedCommand{denied}
	}
	if err != nil {
		return err
	}
	env.Out.Write([]byte(res.Output))
	if res.Output != "" && !strings.HasSuffix(res.Output, "\n") {
		env.Out.Write([]byte("\n"))
	}
	if res.ExitCode != 0 {
		return &commandExit{code: res.ExitCode, timedOut: res.TimedOut}
	}
	return nil
}
