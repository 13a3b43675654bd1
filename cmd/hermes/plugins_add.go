package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/registry"
)

type pluginsAddOptions struct {
	Dir string
	Yes bool
}

func newPluginsAddCmd(env *environment) *cli.Command {
	opts := &pluginsAddOptions{}
	return &cli.Command{
		Name:      "add",
		Usage:     "verify a plugin directory, show what it asks for, and add it if you agree",
		ArgsUsage: "DIR",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "grant what the plugin asks without asking (still prints it)", Destination: &opts.Yes},
		},
		Action: func(c *cli.Context) error {
			args, err := exactArgs(c, 1, map[string]*bool{"yes": &opts.Yes, "y": &opts.Yes}, "plugins add takes one plugin directory (e.g. hermes plugins add ./plugins/files)")
			if err != nil {
				return err
			}
			opts.Dir = args[0]
			return runPluginsAdd(c.Context, env, opts)
		},
	}
}

func runPluginsAdd(ctx context.Context, env *environment, opts *pluginsAddOptions) error {
	reg, err := env.registry()
	if err != nil {
		return err
	}
	cand, err := reg.Inspect(ctx, opts.Dir)
	if err != nil {
		return err
	}
	printCandidate(env.Out, cand)
	if !opts.Yes {
		if !env.IsTerm() {
			return usagef("not adding %s: no terminal to ask on; review the list above and re-run with --yes to grant it", cand.Manifest.Name)
		}
		if !confirm(env.In, env.Out, fmt.Sprintf("Grant this and add %s %s? [y/N] ", cand.Manifest.Name, cand.Manifest.Version)) {
			return &abi.Error{Code: abi.CodeDenied, Plugin: cand.Manifest.Name, Message: "not added: you declined"}
		}
	}
	rec, err := reg.Add(ctx, cand)
	if err != nil {
		return err
	}
	env.printf("Added %s %s (%d tools). Granted: %s.\n", rec.Name, rec.Version, len(cand.Tools), grantSummary(cand.Manifest.Capabilities))
	return nil
}

func printCandidate(w io.Writer, c *registry.Candidate) {
	m := c.Manifest
	fmt.Fprintf(w, "Plugin:  %s %s\n", m.Name, m.Version)
	fmt.Fprintf(w, "         %s\n", m.Description)
	fmt.Fprintf(w, "Module:  %s (sha256 %s)\n", m.Wasm, c.Digest)
	fmt.Fprintf(w, "Tools:\n")
	for _, t := range c.Tools {
		fmt.Fprintf(w, "  %-24s %s\n", m.Name+"."+t.Name, firstSentence(t.Description))
	}
	fmt.Fprintf(w, "It asks for:\n")
	lines := m.Capabilities.Describe()
	if len(lines) == 0 {
		lines = []string{"nothing: no files, no network, no secrets"}
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  - %s\n", l)
	}
	fmt.Fprintf(w, "Limits:  %s\n", limitsSummary(c.Limits))
	for _, note := range c.Capped {
		fmt.Fprintf(w, "  note: %s\n", note)
	}
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

func limitsSummary(l abi.Limits) string {
	return fmt.Sprintf("memory %d MiB, %s per call, output %s, HTTP responses %s",
		l.MemoryPages/16, l.Timeout, humanBytes(l.OutputBytes), humanBytes(l.HTTPResponseBytes))
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func firstSentence(s string) string {
	if i := strings.IndexAny(s, "\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
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
