// Command hermes runs an AI agent's plugins as sandboxed WebAssembly modules.
//
// This package only wires the command line to host/, store/ and sandbox/: one file per
// subcommand, each with an options struct, a constructor that binds flags, and a run function
// that tests call without building the binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/store"
)

// Exit codes, chosen here and nowhere else.
const (
	ExitOK        = 0 // success
	ExitError     = 1 // a tool reported an error, or anything not listed below
	ExitUsage     = 2 // bad flags, arguments or input
	ExitDenied    = 3 // a capability, a limit or the sandbox refused; or the user declined
	ExitBadPlugin = 4 // a manifest or module cannot be used
	ExitNotFound  = 5 // no such plugin, tool or approval
	// hermes approvals check: the class of the command.
	ExitDangerous = 10 // needs approval before it runs on the host
	ExitHardline  = 11 // never runs
	// hermes exec exits with the command's own exit code, 124 when it timed out.
	ExitCanceled = 130
)

// commandExit carries the exit code of a command run by `hermes exec`; main exits with it and
// prints nothing more.
type commandExit struct {
	code     int
	timedOut bool
}

func (e *commandExit) Error() string {
	if e.timedOut {
		return fmt.Sprintf("command timed out (exit %d)", e.code)
	}
	return fmt.Sprintf("command exited with %d", e.code)
}

// deniedCommand is a command the sandbox refused to run.
type deniedCommand struct{ err error }

func (e *deniedCommand) Error() string { return e.err.Error() }
func (e *deniedCommand) Unwrap() error { return e.err }

// classified is the result of `hermes approvals check` for a command that is not safe.
type classified struct{ class classify.Class }

func (e *classified) Error() string { return "" }

func classExit(c classify.Class) error {
	if c == classify.Safe {
		return nil
	}
	return &classified{c}
}

// notFoundSession explains a session the filter does not find; more, when not empty, follows
// as a further hint.
func notFoundSession(id string, f store.SessionFilter, err error, more string) error {
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	msg := fmt.Sprintf("no session %s (see: hermes sessions list --all)", id)
	if !f.AllSources {
		list := "hermes sessions list"
		if f.Source != "cli" {
			list += " --source " + f.Source
		}
		msg = fmt.Sprintf("no %s session %s (see: %s)", sourceName(f.Source), id, list)
	}
	if more != "" {
		msg += "; " + more
	}
	return &abi.Error{Code: abi.CodeNotFound, Message: msg, Err: err}
}

// sourceName is how messages name a session source: "CLI", "API", "telegram".
func sourceName(source string) string {
	if source == "cli" || source == "api" {
		return strings.ToUpper(source)
	}
	return source
}

func notFoundApproval(id int64, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &abi.Error{Code: abi.CodeNotFound, Message: fmt.Sprintf("no approval with ID %d (see: hermes approvals list)", id), Err: err}
	}
	return err
}

// usageError marks errors the user fixes by changing the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var (
		ue *usageError
		ce *commandExit
		cl *classified
		dc *deniedCommand
	)
	switch {
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &cl):
		if cl.class == classify.Hardline {
			return ExitHardline
		}
		return ExitDangerous
	case errors.As(err, &dc):
		return ExitDenied
	}
	switch abi.CodeOf(err) {
	case abi.CodeDenied, abi.CodeLimitExceeded:
		return ExitDenied
	case abi.CodeBadPlugin:
		return ExitBadPlugin
	case abi.CodeNotFound:
		return ExitNotFound
	case abi.CodeInvalidArgs:
		return ExitUsage
	case abi.CodeCanceled:
		return ExitCanceled
	}
	if errors.Is(err, context.Canceled) {
		return ExitCanceled
	}
	return ExitError
}

// streams are the command's standard streams; tests replace them.
type streams struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	IsTerm func() bool // whether In and Out are an interactive terminal
}

// One-shot commands live for tens of milliseconds and allocate a few megabytes (a `tools call`
// about 15 MB loading its plugin): collecting garbage meanwhile is start-up cost and nothing else
// (measured: ~8 ms of CPU of a cold `tools call`, one collection plus its write barriers and
// assists). They start with the collector off, bounded by a soft memory limit of
// oneShotHeapLimit, so a command that allocates more still collects; after oneShotQuiet a command
// still running is doing real work (a plugin's call, a model's turn) and switches to GOGC
// oneShotGCPercent without a limit. Servers and chat sessions, which live for hours, keep Go's
// default. An explicit GOGC or GOMEMLIMIT always wins.
const (
	oneShotGCPercent = 400
	oneShotHeapLimit = 128 << 20
	oneShotQuiet     = time.Second
)

// longRunning are the commands that keep the default collector.
var longRunning = map[string]bool{"api": true, "chat": true, "dashboard": true, "mcp serve": true, "gateway run": true}

// setupGC chooses the collector for the command args name (see oneShotGCPercent).
func setupGC(args []string) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" || longRunning[commandPath(args)] {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(oneShotHeapLimit)
	time.AfterFunc(oneShotQuiet, func() {
		debug.SetGCPercent(oneShotGCPercent)
		debug.SetMemoryLimit(math.MaxInt64)
	})
}

func main() {
	setupGC(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	io := &streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, IsTerm: stdioIsTerminal}
	err := newApp(io).RunContext(ctx, os.Args)
	if err != nil && err.Error() != "" {
		var ce *commandExit
		if !errors.As(err, &ce) || ce.timedOut {
			fmt.Fprintln(os.Stderr, "hermes:", err)
		}
	}
	os.Exit(exitCode(err))
}

// commandPath is the command and subcommand named by args ("mcp serve"), the global flags
// skipped; just enough to choose the collector before the command line is parsed for real.
func commandPath(args []string) string {
	var words []string
	for i := 0; i < len(args) && len(words) < 2; i++ {
		a := args[i]
		switch {
		case a == "--profile" || a == "-profile" || a == "--log-level" || a == "-log-level":
			i++ // its value
		case strings.HasPrefix(a, "-"):
		default:
			words = append(words, a)
		}
	}
	if len(words) == 2 && !longRunning[words[0]+" "+words[1]] {
		words = words[:1]
	}
	return strings.Join(words, " ")
}

func newApp(s *streams) *cli.App {
	env := &environment{streams: s}
	app := &cli.App{
		Name:      "hermes",
		Usage:     "run an AI agent's plugins as sandboxed WebAssembly",
		Writer:    s.Out,
		ErrWriter: s.Err,
		Reader:    s.In,
		// The hidden --generate-bash-completion flag the bash and zsh scripts ask (completion.go).
		EnableBashCompletion: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "profile", Usage: "use ~/.hermes/profiles/`NAME` (or $HERMES_PROFILE)", Destination: &env.profile},
			&cli.StringFlag{Name: "log-level", Value: "warn", Usage: "debug, info, warn or error (plugin logs are info)", Destination: &env.logLevel},
		},
		Before: func(*cli.Context) error { return env.setupLogging() },
		After:  func(*cli.Context) error { return env.close() },
		Commands: []*cli.Command{
			{
				Name:  "plugins",
				Usage: "install, inspect, update, audit and remove plugins",
				Subcommands: []*cli.Command{
					newPluginsInstallCmd(env),
					newPluginsImportCmd(env),
					newPluginsListCmd(env),
					newPluginsInfoCmd(env),
					newPluginsActivityCmd(env),
					newPluginsUpdateCmd(env),
					newPluginsResetCmd(env),
					newPluginsEnableCmd(env),
					newPluginsDisableCmd(env),
					newPluginsRemoveCmd(env),
					newPluginsAuditCmd(env),
					newPluginsPackCmd(env),
					newPluginsSignCmd(env),
					newPluginsPublishCmd(env),
				},
			},
			{
				Name:  "keys",
				Usage: "make a signing key; trust, list and untrust plugin authors' keys",
				Subcommands: []*cli.Command{
					newKeysGenerateCmd(env),
					newKeysTrustCmd(env),
					newKeysListCmd(env),
					newKeysUntrustCmd(env),
				},
			},
			{
				Name:  "skills",
				Usage: "install (after a security scan), list, inspect, audit, evolve, reset and remove skills",
				Subcommands: []*cli.Command{
					newSkillsInstallCmd(env),
					newSkillsListCmd(env),
					newSkillsInspectCmd(env),
					newSkillsAuditCmd(env),
					newSkillsResetCmd(env),
					newSkillsRemoveCmd(env),
					newSkillsEvolveCmd(env),
					newSkillsCandidatesCmd(env),
					newSkillsDiffCmd(env),
					newSkillsAcceptCmd(env),
					newSkillsRejectCmd(env),
				},
			},
			newRunCmd(env),
			newChatCmd(env),
			newAPICmd(env),
			newDashboardCmd(env),
			{
				Name:        "mcp",
				Usage:       "serve plugin tools to Model Context Protocol clients",
				Subcommands: []*cli.Command{newMCPServeCmd(env)},
			},
			{
				Name:  "sessions",
				Usage: "list, show, search and delete conversations",
				Subcommands: []*cli.Command{
					newSessionsListCmd(env),
					newSessionsShowCmd(env),
					newSessionsSearchCmd(env),
					newSessionsDeleteCmd(env),
				},
			},
			newExecCmd(env),
			newDoctorCmd(env),
			{
				Name:  "config",
				Usage: "read and change settings (config.toml) and secrets (.env)",
				Subcommands: []*cli.Command{
					newConfigSetCmd(env),
					newConfigGetCmd(env),
					newConfigListCmd(env),
				},
			},
			{
				Name:  "approvals",
				Usage: "check how a command is classified; list and revoke standing approvals",
				Subcommands: []*cli.Command{
					newApprovalsCheckCmd(env),
					newApprovalsListCmd(env),
					newApprovalsRevokeCmd(env),
				},
			},
			{
				Name:  "gateway",
				Usage: "talk to the agent from Telegram, Discord and Slack: run the gateway, pair, allow and revoke users",
				Subcommands: []*cli.Command{
					newGatewayRunCmd(env),
					newGatewayStatusCmd(env),
					newGatewayPairCmd(env),
					newGatewayAllowCmd(env),
					newGatewayRevokeCmd(env),
					newGatewayListCmd(env),
				},
			},
			{
				Name:  "tools",
				Usage: "list and call the tools of added plugins",
				Subcommands: []*cli.Command{
					newToolsListCmd(env),
					newToolsCallCmd(env),
				},
			},
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main decides exit codes
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usagef("%v", err)
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(s.Err, "hermes: unknown command %q (see: hermes --help)\n", name)
			os.Exit(ExitUsage)
		},
	}
	app.Commands = append(app.Commands, newCompletionCmd(env, app))
	setUsageErrors(app.Commands)
	return app
}

// commandLine is the command line that names c's command, "hermes sessions search": urfave/cli's
// FullName is only the last name inside a subcommand's own context.
func commandLine(c *cli.Context) string {
	var names []string
	for _, ctx := range c.Lineage() {
		if ctx.Command != nil && ctx.Command.Name != "" {
			names = append([]string{ctx.Command.Name}, names...)
		}
	}
	if len(names) == 0 || names[0] != "hermes" { // the root's own context names the program
		names = append([]string{"hermes"}, names...)
	}
	return strings.Join(names, " ")
}

// setUsageErrors makes a bad flag on any subcommand a one-line usage error (exit 2) instead of
// urfave/cli's help dump.
func setUsageErrors(cmds []*cli.Command) {
	for _, cmd := range cmds {
		cmd.OnUsageError = func(c *cli.Context, err error, _ bool) error {
			return usagef("%v (see: %s --help)", err, commandLine(c))
		}
		setUsageErrors(cmd.Subcommands)
	}
}

// exactArgs returns a command's n positional arguments (its boolean flags may follow them), or
// msg as a usage error.
func exactArgs(c *cli.Context, n int, flags map[string]*bool, msg string) ([]string, error) {
	args, err := positional(c, flags)
	if err != nil {
		return nil, err
	}
	if len(args) != n {
		return nil, usagef("%s", msg)
	}
	return args, nil
}

// optionalArg returns a command's one optional positional argument ("" when absent; its boolean
// flags may follow it), or msg as a usage error when there are more.
func optionalArg(c *cli.Context, flags map[string]*bool, msg string) (string, error) {
	args, err := positional(c, flags)
	if err != nil {
		return "", err
	}
	switch len(args) {
	case 0:
		return "", nil
	case 1:
		return args[0], nil
	}
	return "", usagef("%s", msg)
}

// errFindings makes an audit command exit 1 after printing its findings: they are the
// message, so main prints nothing more.
var errFindings = errors.New("")

// positional returns a command's positional arguments, accepting its boolean flags after them
// too ("hermes plugins add ./dir --yes"), which urfave/cli alone does not. "-" alone is a
// positional argument (stdin).
func positional(c *cli.Context, flags map[string]*bool) ([]string, error) {
	return positionalWith(c, flags, nil)
}

// positionalWith is positional for commands that also take string flags after their
// arguments ("hermes plugins update weather --from ./dir", "--from=./dir").
func positionalWith(c *cli.Context, flags map[string]*bool, values map[string]*string) ([]string, error) {
	var out []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			return append(out, args[i+1:]...), nil
		}
		if len(arg) < 2 || arg[0] != '-' {
			out = append(out, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if dest, ok := values[name]; ok {
			if !hasValue {
				if i+1 == len(args) {
					return nil, usagef("flag needs an argument: %s (see: %s --help)", arg, commandLine(c))
				}
				i++
				value = args[i]
			}
			*dest = value
			continue
		}
		dest, ok := flags[name]
		if !ok || hasValue {
			return nil, usagef("flag provided but not defined: %s (see: %s --help)", arg, commandLine(c))
		}
		*dest = true
	}
	return out, nil
}
