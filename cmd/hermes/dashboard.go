package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hermes-agent/hermes/host/dashboard"
	"github.com/hermes-agent/hermes/host/doctor"
	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/sandbox/docker"
)

type dashboardOptions struct {
	Host, TLSCert, TLSKey string
	Port                  int
}

func newDashboardCmd(env *environment) *cli.Command {
	opts := &dashboardOptions{}
	return &cli.Command{
		Name:  "dashboard",
		Usage: "serve a web page on this machine to see and manage plugins, activity, sessions, keys and approvals",
		Description: "Listens on 127.0.0.1:9119 and prints a one-time login link: open it in your browser. Anything but a\n" +
			"loopback address needs --tls-cert, --tls-key and DASHBOARD_PASSWORD or DASHBOARD_TOKEN (environment or .env;\n" +
			"a token is a random secret of 32 characters or more), typed on the login page.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Usage: "listen on `ADDRESS`", Value: "127.0.0.1", Destination: &opts.Host},
			&cli.IntFlag{Name: "port", Usage: "listen on `PORT` (0 picks a free one)", Value: 9119, Destination: &opts.Port},
			&cli.StringFlag{Name: "tls-cert", Usage: "serve HTTPS with this certificate `FILE`", Destination: &opts.TLSCert},
			&cli.StringFlag{Name: "tls-key", Usage: "and this key `FILE`", Destination: &opts.TLSKey},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("dashboard takes no arguments (see: hermes dashboard --help)")
			}
			return runDashboard(c.Context, env, opts)
		},
	}
}

func runDashboard(ctx context.Context, env *environment, opts *dashboardOptions) error {
	if opts.Port < 0 || opts.Port > 65535 {
		return usagef("--port %d: use 1-65535, or 0 for a free one", opts.Port)
	}
	if (opts.TLSCert == "") != (opts.TLSKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	password, err := env.setting("DASHBOARD_PASSWORD")
	if err != nil {
		return err
	}
	token, err := env.setting("DASHBOARD_TOKEN")
	if err != nil {
		return err
	}
	if err := dashboard.CheckToken(token); err != nil {
		return usagef("%v", err)
	}
	tls := opts.TLSCert != ""
	if err := dashboard.CheckBind(opts.Host, tls, password != "" || token != ""); err != nil {
		return usagef("%v", err)
	}
	db, err := env.store()
	if err != nil {
		return err
	}
	reg, err := env.registry()
	if err != nil {
		return err
	}
	in, err := env.installer()
	if err != nil {
		return err
	}
	// Skills restored from the dashboard bring their tools only when that grants nothing new;
	// no Confirm, so a skill its policy would ask about is refused (the CLI asks).
	sk := skills.New(db, env.paths.Skills, filepath.Join(env.paths.Cache, "quarantine")).WithLogger(env.logger).
		WithTools(install.SkillTools{In: in, Consent: dashboard.NoNewGrants})
	ln, err := net.Listen("tcp", net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port)))
	if err != nil {
		return fmt.Errorf("dashboard: listen on %s:%d: %w (another dashboard on that port? choose one with --port)", opts.Host, opts.Port, err)
	}
	version := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		version = bi.Main.Version
	}
	srv, err := dashboard.New(dashboard.Options{
		Addr: ln.Addr().String(), Name: opts.Host, TLS: tls, Password: password, Token: token,
		Plugins: reg, Store: db, Keys: dashboard.DotEnv(env.paths.Env), Installer: in, Skills: sk, Logger: env.logger,
		ActivityPerPlugin: env.cfg.Plugins.ActivityPerPlugin,
		Status: dashboard.Status{
			Version: version, Profile: env.profileName(), Home: env.paths.Home, Backend: env.cfg.Terminal.Backend,
			BaseURL: env.cfg.Model.BaseURL, Model: env.cfg.Model.Name, Docker: docker.Ping,
			Doctor: func(ctx context.Context) []doctor.Check {
				key, _ := env.apiKey()
				return doctor.Run(ctx, doctor.Options{Paths: env.paths, Config: env.cfg, Registry: reg, APIKey: key, DockerPing: docker.Ping})
			},
		},
	})
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	fmt.Fprintf(env.Err, "hermes: dashboard on %s; open this link once to log in (Ctrl-C stops):\n", ln.Addr())
	fmt.Fprintln(env.Out, srv.LoginURL())
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- hs.ServeTLS(ln, opts.TLSCert, opts.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("dashboard: %w", err)
		}
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}
	fmt.Fprintln(env.Err, "hermes: dashboard stopped")
	return nil
}
