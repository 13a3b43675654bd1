package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/host/skills/scan"
)

// skills opens the skill manager of the profile. Skills live in the home's skills/ directory
// and are quarantined under cache/quarantine/, on the same file system, so the final move is
// one rename. A skill's WebAssembly tools are installed like any plugin: signed by a trusted
// key (or allowed unsigned), shown, and asked for. hermes bundles no skills yet.
func (e *environment) skills() (*skills.Manager, error) {
	return e.skillsWith(install.Options{}, false)
}

// skillsWith is skills with the plugin-install options and --yes that the skill's tools get.
func (e *environment) skillsWith(opts install.Options, yes bool) (*skills.Manager, error) {
	db, err := e.store()
	if err != nil {
		return nil, err
	}
	in, err := e.installer()
	if err != nil {
		return nil, err
	}
	tools := install.SkillTools{In: in, Options: opts, Consent: func(p *install.Plan) error {
		return review(e, p, yes, "Grant this to the skill's tool")
	}}
	return skills.New(db, e.paths.Skills, filepath.Join(e.paths.Cache, "quarantine")).WithLogger(e.logger).WithTools(tools), nil
}

// skillConfirm asks on the terminal whether to accept a skill the policy says to ask about
// (an agent-created skill with dangerous findings); nil without a terminal, so the manager
// refuses.
func (e *environment) skillConfirm() func(context.Context, skills.Pending) (bool, error) {
	if !e.IsTerm() {
		return nil
	}
	return func(_ context.Context, p skills.Pending) (bool, error) {
		printFindings(e.Out, p.Report.Findings)
		q := fmt.Sprintf("%s %s has dangerous findings (listed above). Install it anyway? [y/N] ", p.Manifest.Name, p.Manifest.Version)
		return confirm(e.In, e.Out, q), nil
	}
}

// skillAccept is the informed override of a blocked install: at a terminal, each finding that
// blocks the skill is shown in full and must be accepted on its own — a dangerous one by
// typing "yes" — or the skill is refused. nil without a terminal, so the policy's refusal
// stands; the API, MCP server and gateway have no such callback at all.
func (e *environment) skillAccept() func(context.Context, skills.Pending, scan.Finding) (bool, error) {
	if !e.IsTerm() {
		return nil
	}
	first := true
	return func(_ context.Context, p skills.Pending, f scan.Finding) (bool, error) {
		if first {
			first = false
			e.printf("%s %s (trust %s) has findings its trust level does not allow:\n", p.Manifest.Name, orNone(p.Manifest.Version), p.Trust)
			printFindings(e.Out, p.Report.Findings)
			e.printf("Each can be accepted on its own after you have read it; any you do not accept refuses the skill.\n")
		}
		e.printf("\n%s:%d %s %s (%s)\n  %s\n  %s\n", f.File, f.Line, f.Severity, f.Category, f.Rule, f.Reason, f.Excerpt)
		if f.Severity >= scan.Dangerous {
			fmt.Fprint(e.Out, "Accept this dangerous finding? Type yes to accept it: ")
			line, _ := bufio.NewReader(e.In).ReadString('\n')
			return strings.TrimSpace(line) == "yes", nil
		}
		return confirm(e.In, e.Out, "Accept this finding? [y/N] "), nil
	}
}

// skillError gives the manager's errors their exit codes: 2 when there was no terminal to
// ask on, 3 when the policy or the user refused, 4 for a source or SKILL.md that cannot be
// used, 5 for a skill that is not installed or has nothing to restore.
func skillError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, skills.ErrNeedsConfirmation):
		return usagef("%v", err)
	case errors.Is(err, skills.ErrBlocked):
		return &deniedCommand{err}
	case errors.Is(err, skills.ErrNotInstalled), errors.Is(err, skills.ErrNothingToRestore):
		return &abi.Error{Code: abi.CodeNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, skills.ErrInvalid):
		return &abi.Error{Code: abi.CodeBadPlugin, Message: err.Error(), Err: err}
	}
	return err
}

// printFindings lists findings one per line: file:line category severity rule: reason, then
// the excerpt.
func printFindings(w io.Writer, findings []scan.Finding) {
	if len(findings) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range findings {
		writeRow(tw, "  "+fmt.Sprintf("%s:%d", f.File, f.Line), string(f.Category), f.Severity.String(), f.Rule+": "+f.Reason)
		if f.Excerpt != "" {
			writeRow(tw, "", "", "", "  "+clipText(f.Excerpt, 100))
		}
	}
	tw.Flush()
}

// printTools says what happened to a skill's tools.
func printTools(w io.Writer, tools []skills.ToolStatus) {
	for _, t := range tools {
		status := "installed"
		if !t.Installed {
			status = t.Note
		}
		fmt.Fprintf(w, "  tool %s: %s\n", t.Name, status)
	}
}

// short is the first 12 characters of a digest, as directory names show it.
func short(digest string) string { return digest[:min(12, len(digest))] }

func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
