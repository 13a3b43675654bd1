package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/install"
)

type pluginsInstallOptions struct {
	Source        string
	Yes           bool
	AllowUnsigned bool
	Name, Version string // for an Extism manifest, which has neither
}

func newPluginsInstallCmd(env *environment) *cli.Command {
	opts := &pluginsInstallOptions{}
	bools := map[string]*bool{"yes": &opts.Yes, "y": &opts.Yes, "allow-unsigned": &opts.AllowUnsigned}
	return &cli.Command{
		Name:      "install",
		Aliases:   []string{"add"},
		Usage:     "verify a plugin (directory, .tar.gz, oci:// or an Extism manifest .json), show what it asks for, and install it if you agree",
		ArgsUsage: "DIR | NAME-VERSION.tar.gz | oci://HOST/REPO:TAG | oci://HOST/REPO@sha256:DIGEST | MANIFEST.json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "for an Extism manifest: the plugin's `NAME` (default: from the module's file name)", Destination: &opts.Name},
			&cli.StringFlag{Name: "version", Usage: "for an Extism manifest: the plugin's `VERSION` (default: 0.0.0)", Destination: &opts.Version},
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "grant what the plugin asks without asking (still prints it)", Destination: &opts.Yes},
			&cli.BoolFlag{Name: "allow-unsigned", Usage: "install without a signature by a key you trusted (marked unsigned everywhere)", Destination: &opts.AllowUnsigned},
		},
		Action: func(c *cli.Context) error {
			args, err := positionalWith(c, bools, map[string]*string{"name": &opts.Name, "version": &opts.Version})
			if err != nil {
				return err
			}
			if len(args) != 1 {
				return usagef("plugins install takes one source: a plugin directory, a NAME-VERSION.tar.gz, oci://HOST/REPO:TAG or an Extism manifest .json")
			}
			opts.Source = args[0]
			return runPluginsInstall(c.Context, env, opts)
		},
	}
}

func runPluginsInstall(ctx context.Context, env *environment, opts *pluginsInstallOptions) error {
	in, err := env.installer()
	if err != nil {
		return err
	}
	src, err := install.ParseSource(opts.Source, env.cfg.Workspace)
	if err != nil {
		return usagef("%v", err)
	}
	if src.Kind != install.FromExtism && (opts.Name != "" || opts.Version != "") {
		return usagef("--name and --version are for an Extism manifest; a plugin's plugin.toml names it")
	}
	src.Name, src.Version = opts.Name, opts.Version
	plan, err := in.Prepare(ctx, src, install.Options{AllowUnsigned: opts.AllowUnsigned})
	if err != nil {
		return err
	}
	if err := review(env, plan, opts.Yes, "Grant this and install"); err != nil {
		return err
	}
	rec, err := in.Apply(ctx, plan)
	if err != nil {
		return err
	}
	env.printf("Installed %s %s (%d tools). Granted: %s.\n", rec.Name, rec.Version, len(plan.Candidate.Tools), grantSummary(plan.Candidate.Manifest.Capabilities))
	return nil
}

// review prints a plan and, when it needs the user's consent, asks for it: y/N, default N.
// --yes answers yes and still prints; with no terminal and no --yes the answer is no.
func review(env *environment, plan *install.Plan, yes bool, question string) error {
	install.WriteReview(env.Out, plan)
	if yes || !plan.NeedsConsent() {
		return nil
	}
	name := plan.Name()
	if !env.IsTerm() {
		return usagef("not installing %s: no terminal to ask on; review the list above and re-run with --yes to grant it", name)
	}
	if !confirm(env.In, env.Out, fmt.Sprintf("%s %s %s? [y/N] ", question, name, plan.Candidate.Manifest.Version)) {
		return &abi.Error{Code: abi.CodeDenied, Plugin: name, Message: "not installed: you declined"}
	}
	return nil
}

func grantSummary(c abi.Capabilities) string {
	var names []string
	for _, name := range abi.AllCapabilities {
		if c.Has(name) {
			names = append(names, string(name))
		}
	}
	if len(names) == 0 {
		return "no capabilities"
	}
	return strings.Join(names, ", ")
}

// confirm asks a yes/no question. Only an explicit y or yes is yes: Enter, EOF and anything
// else are no.
func confirm(in io.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question)
	line, _ := bufio.NewReader(in).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}
