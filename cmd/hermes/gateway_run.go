package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/gateway"
	"github.com/hermes-agent/hermes/host/gateway/discord"
	"github.com/hermes-agent/hermes/host/gateway/slack"
	"github.com/hermes-agent/hermes/host/gateway/telegram"
	"github.com/hermes-agent/hermes/host/redact"
	"github.com/hermes-agent/hermes/sandbox/approval"
)

type gatewayRunOptions struct {
	Platforms string
	Backend   string
}

func newGatewayRunCmd(env *environment) *cli.Command {
	opts := &gatewayRunOptions{}
	return &cli.Command{
		Name:  "run",
		Usage: "connect the agent to the configured chat platforms and answer allowed users until stopped",
		Description: "Outbound connections only. Each platform needs its bot token (TELEGRAM_BOT_TOKEN, ...; Slack also\n" +
			"SLACK_APP_TOKEN for Socket Mode) and allows only\n" +
			"the users in PLATFORM_ALLOWED_USERS or paired (hermes gateway pair). Commands run in the docker\n" +
			"backend; --backend local needs gateway.allow_local_backend = true, and then every dangerous command is\n" +
			"asked in the chat. SIGTERM or Ctrl-C lets turns finish (30s), then stops; a second one cancels them now.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "platform", Usage: "connect only to `LIST` (telegram, discord, slack); default: every platform with a bot token", Destination: &opts.Platforms},
			&cli.StringFlag{Name: "backend", Value: "docker", Usage: "run commands in `BACKEND`: docker, or local (needs gateway.allow_local_backend)", Destination: &opts.Backend},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("gateway run takes no arguments (see: hermes gateway run --help)")
			}
			return runGatewayRun(c.Context, env, opts)
		},
	}
}

// gatewayBot is one platform to connect: its adapter settings.
type gatewayBot struct {
	platform, token, apiURL string
	appToken                string // Slack's app-level token (Socket Mode)
	allowed                 []string
}

func runGatewayRun(ctx context.Context, env *environment, opts *gatewayRunOptions) error {
	if err := env.home(); err != nil {
		return err
	}
	switch opts.Backend {
	case "docker":
	case "local":
		if !env.cfg.Gateway.AllowLocalBackend {
			return usagef("gateway run --backend local: refused, chat users' commands would run on this machine; to allow it (dangerous commands are then asked in the chat): hermes config set gateway.allow_local_backend true")
		}
	default:
		return usagef("gateway run --backend %q: use docker or local", opts.Backend)
	}
	bots, err := gatewayBots(env, opts.Platforms)
	if err != nil {
		return err
	}
	// The tokens are secrets even when they come from the environment rather than .env.
	secrets, err := config.ReadDotEnv(env.paths.Env)
	if err != nil {
		return err
	}
	secrets = maps.Clone(secrets)
	for _, b := range bots {
		secrets[gatewayEnv(b.platform, "BOT_TOKEN")] = b.token
		if b.appToken != "" {
			secrets[gatewayEnv(b.platform, "APP_TOKEN")] = b.appToken
		}
	}
	env.redactor = redact.New(secrets)
	if env.logRedact != nil {
		env.logRedact.SetRedactor(env.redactor)
	}

	env.cfg.Terminal.Backend = opts.Backend // the gateway's own choice; config.toml is not changed
	rules, err := env.classifyRules()
	if err != nil {
		return err
	}
	db, err := env.store()
	if err != nil {
		return err
	}
	if err := env.useGate(approval.NewGate(rules, gateway.Prompter{}, nil)); err != nil {
		return err
	}
	a, err := env.serverAgent(ctx)
	if err != nil {
		return err
	}
	var gateways []*gateway.Gateway
	for _, b := range bots {
		ad, err := newGatewayAdapter(b, env)
		if err != nil {
			return err
		}
		if len(b.allowed) == 0 {
			fmt.Fprintf(env.Err, "hermes: %s allows nobody yet: set %s or run hermes gateway pair %s\n", b.platform, gatewayEnv(b.platform, "ALLOWED_USERS"), b.platform)
		}
		g, err := gateway.New(gateway.Config{
			Allowed: b.allowed, Model: env.cfg.Model.Name, Profile: env.profileName(), Backend: opts.Backend,
			ApprovalTimeout: time.Duration(env.cfg.Terminal.ApprovalTimeout),
			Redact:          env.redactor.String, Logger: env.logger,
		}, ad, a, db)
		if err != nil {
			return err
		}
		gateways = append(gateways, g)
	}
	names := make([]string, len(bots))
	for i, b := range bots {
		names[i] = b.platform
	}
	fmt.Fprintf(env.Err, "hermes: gateway running on %s (model %s, backend %s); Ctrl-C or SIGTERM stops\n",
		strings.Join(names, ", "), env.cfg.Model.Name, opts.Backend)
	defer cancelTurnsOnSecondSignal(env, gateways)()
	errs := make([]error, len(gateways))
	var wg sync.WaitGroup
	for i, g := range gateways {
		wg.Go(func() { errs[i] = g.Run(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintln(env.Err, "hermes: gateway stopped; every turn is saved")
	return nil
}

// gatewayBots are the platforms to connect: those in list, or every one with a bot token.
func gatewayBots(env *environment, list string) ([]gatewayBot, error) {
	var want []string
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		name, err := gatewayPlatform("run --platform", p)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(gatewayRunnable, name) {
			return nil, usagef("gateway run --platform %s: not available in this build yet; use %s", name, strings.Join(gatewayRunnable, ", "))
		}
		want = append(want, name)
	}
	explicit := len(want) > 0
	if !explicit {
		want = gatewayRunnable
	}
	var bots []gatewayBot
	for _, p := range want {
		token, err := env.setting(gatewayEnv(p, "BOT_TOKEN"))
		if err != nil {
			return nil, err
		}
		if token == "" {
			if explicit {
				return nil, usagef("gateway run: %s is not set; set it with: hermes config set %s <token>", gatewayEnv(p, "BOT_TOKEN"), gatewayEnv(p, "BOT_TOKEN"))
			}
			continue
		}
		allowed, err := env.setting(gatewayEnv(p, "ALLOWED_USERS"))
		if err != nil {
			return nil, err
		}
		b := gatewayBot{platform: p, token: token, apiURL: gatewayAPIURL(env, p), allowed: gateway.ParseAllowed(allowed)}
		if p == "slack" {
			if b.appToken, err = env.setting("SLACK_APP_TOKEN"); err != nil {
				return nil, err
			}
			if b.appToken == "" {
				return nil, usagef("gateway run: SLACK_APP_TOKEN is not set (Socket Mode needs an app-level token with connections:write); set it with: hermes config set SLACK_APP_TOKEN <token>")
			}
		}
		bots = append(bots, b)
	}
	if len(bots) == 0 {
		return nil, usagef("gateway run: no platform configured; set a bot token, e.g.: hermes config set TELEGRAM_BOT_TOKEN <token>")
	}
	return bots, nil
}

// gatewayAPIURL is gateway.PLATFORM.api_url.
func gatewayAPIURL(env *environment, platform string) string {
	switch platform {
	case "discord":
		return env.cfg.Gateway.Discord.APIURL
	case "slack":
		return env.cfg.Gateway.Slack.APIURL
	}
	return env.cfg.Gateway.Telegram.APIURL
}

// newGatewayAdapter connects nothing yet: the gateway's Run does.
func newGatewayAdapter(b gatewayBot, env *environment) (gateway.Adapter, error) {
	switch b.platform {
	case "discord":
		return discord.New(b.token, b.apiURL, env.logger)
	case "slack":
		return slack.New(b.token, b.appToken, b.apiURL, env.logger)
	}
	return telegram.New(b.token, b.apiURL, env.logger)
}

// cancelTurnsOnSecondSignal: the first SIGTERM or Ctrl-C stops the gateway and lets running
// turns finish; a second one cancels them now (what was said is kept).
func cancelTurnsOnSecondSignal(env *environment, gateways []*gateway.Gateway) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-sigs:
			}
			if n == 2 {
				fmt.Fprintln(env.Err, "hermes: cancelling the running turns")
				for _, g := range gateways {
					g.CancelTurns()
				}
			}
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}
