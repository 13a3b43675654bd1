package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/apiserver"
)

type apiOptions struct {
	Host    string
	Port    int
	PortSet bool
}

func newAPICmd(env *environment) *cli.Command {
	opts := &apiOptions{}
	return &cli.Command{
		Name:  "api",
		Usage: "serve the agent over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/models, /health)",
		Description: "Listens on 127.0.0.1:8642 unless [api] in config.toml or the flags say otherwise. Anything but a\n" +
			"loopback address needs API_SERVER_KEY (environment or .env); every request then needs\n" +
			"Authorization: Bearer <key>. Browsers may call only from API_SERVER_CORS_ORIGINS. SIGTERM or\n" +
			"Ctrl-C lets runs in progress finish (api.shutdown_timeout), then stops.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "listen on `ADDRESS` (default: api.host, 127.0.0.1)", Destination: &opts.Host},
			&cli.IntFlag{Name: "port", Usage: "listen on `PORT` (api.port; 0 picks a free one)", DefaultText: "8642", Destination: &opts.Port},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("api takes no arguments (see: hermes api --help)")
			}
			opts.PortSet = c.IsSet("port")
			return runAPI(c.Context, env, opts)
		},
	}
}

func runAPI(ctx context.Context, env *environment, opts *apiOptions) error {
	if err := env.home(); err != nil {
		return err
	}
	cfg := env.cfg.API
	host, port := cfg.Host, cfg.Port
	if opts.Host != "" {
		host = opts.Host
	}
	if opts.PortSet {
		port = opts.Port
	}
	if port < 0 || port > 65535 {
		return usagef("--port %d: use 1-65535, or 0 for a free one", port)
	}
	key, err := env.setting("API_SERVER_KEY")
	if err != nil {
		return err
	}
	if err := apiserver.CheckBind(host, key != ""); err != nil {
		return usagef("%v", err)
	}
	originList, err := env.setting("API_SERVER_CORS_ORIGINS")
	if err != nil {
		return err
	}
	origins, anyOrigin, err := apiserver.ParseOrigins(originList)
	if err != nil {
		return usagef("%v", err)
	}
	if anyOrigin {
		origins = append(origins, "*")
	}
	policy, err := apiserver.ParsePolicy(cfg.DangerousCommands)
	if err != nil {
		return usagef("%v", err)
	}
	rules, err := env.classifyRules()
	if err != nil {
		return err
	}
	db, err := env.store()
	if err != nil {
		return err
	}
	if err := env.useGate(apiserver.Gate(policy, rules, db)); err != nil {
		return err
	}
	a, err := env.serverAgent(ctx)
	if err != nil {
		return err
	}
	srv, err := apiserver.New(apiserver.Config{
		APIKey: key, CORSOrigins: origins,
		MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: time.Duration(cfg.RequestTimeout),
		MaxConcurrentRuns: cfg.MaxConcurrentRuns, ShutdownTimeout: time.Duration(cfg.ShutdownTimeout),
		Model: env.cfg.Model.Name, Profile: env.profileName(),
		Redact: env.redactor.String, Logger: env.logger,
	}, a, db)
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w (another server on that port? choose one with --port)", addr, err)
	}
	auth := "no key: this machine only"
	if key != "" {
		auth = "bearer key required"
	}
	tools := fmt.Sprintf("%d tools", len(a.Tools()))
	if len(a.Tools()) == 1 {
		tools = "1 tool"
	}
	fmt.Fprintf(env.Err, "hermes: serving the agent on http://%s (model %s, %s, %s, dangerous commands: %s); Ctrl-C or SIGTERM stops\n",
		ln.Addr(), env.cfg.Model.Name, tools, auth, policy)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	fmt.Fprintln(env.Err, "hermes: API server stopped; every run is saved")
	return nil
}
