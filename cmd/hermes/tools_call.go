package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/activity"
)

type toolsCallOptions struct {
	Name string
	Args string // JSON object, or "-" for standard input
}

// maxArgsBytes bounds arguments read from standard input.
const maxArgsBytes = 16 << 20

func newToolsCallCmd(env *environment) *cli.Command {
	opts := &toolsCallOptions{}
	return &cli.Command{
		Name:      "call",
		Usage:     "call a tool with JSON arguments and print its JSON result",
		ArgsUsage: "PLUGIN.TOOL [JSON|-]",
		Action: func(c *cli.Context) error {
			args, err := positional(c, nil)
			if err != nil {
				return err
			}
			if len(args) < 1 || len(args) > 2 {
				return usagef(`tools call takes a tool name and JSON arguments, e.g. hermes tools call files.read '{"path":"README.md"}' ('-' reads them from stdin)`)
			}
			opts.Name = args[0]
			if len(args) == 2 {
				opts.Args = args[1]
			}
			return runToolsCall(c.Context, env, opts)
		},
	}
}

func runToolsCall(ctx context.Context, env *environment, opts *toolsCallOptions) error {
	args := []byte(opts.Args)
	if opts.Args == "-" {
		var err error
		if args, err = io.ReadAll(io.LimitReader(env.In, maxArgsBytes+1)); err != nil {
			return usagef("read arguments from stdin: %v", err)
		}
		if len(args) > maxArgsBytes {
			return usagef("arguments on stdin are larger than %d bytes", maxArgsBytes)
		}
	}
	if len(bytes.TrimSpace(args)) == 0 {
		args = []byte("{}")
	}
	if !json.Valid(args) {
		return usagef(`arguments are not valid JSON; pass an object like '{"path":"README.md"}'`)
	}
	reg, err := env.registry()
	if err != nil {
		return err
	}
	ctx, notices := activity.WithNotices(ctx)
	out, err := reg.Call(ctx, opts.Name, args)
	// What the host saw beyond the plugin's own result: a path outside every file grant reaches
	// a plugin as "Bad file number"; this says what happened.
	for _, l := range notices.Take() {
		fmt.Fprintln(env.Err, l)
	}
	if err != nil {
		return err
	}
	if env.IsTerm() {
		var buf bytes.Buffer
		if json.Indent(&buf, out, "", "  ") == nil {
			out = buf.Bytes()
		}
	}
	env.Out.Write(out)
	env.Out.Write([]byte("\n"))
	return nil
}
