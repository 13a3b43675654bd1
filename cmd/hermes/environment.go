package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

// environment opens what a subcommand needs, lazily, so that `hermes --help` touches nothing.
type environment struct {
	*streams
	profile  string
	logLevel string
	logger   *slog.Logger

	paths config.Paths
	cfg   config.Config
	db    *store.DB
	reg   *registry.Registry
}

func (e *environment) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToLower(e.logLevel))); err != nil {
		return usagef("--log-level %q: use debug, info, warn or error", e.logLevel)
	}
	e.logger = slog.New(slog.NewTextHandler(e.Err, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(e.logger)
	return nil
}

// registry opens the home, its database and the plugin engine.
func (e *environment) registry() (*registry.Registry, error) {
	if e.reg != nil {
		return e.reg, nil
	}
	paths, err := config.ResolvePaths(e.profile)
	if err != nil {
		return nil, err
	}
	if err := paths.Ensure(); err != nil {
		return nil, err
	}
	cfg, err := config.Load(paths.Config)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(paths.StateDB)
	if err != nil {
		return nil, err
	}
	engine, err := wasm.NewEngine(paths.Cache, e.logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	e.paths, e.cfg, e.db = paths, cfg, db
	e.reg = registry.New(db, engine, paths, cfg)
	return e.reg, nil
}

func (e *environment) close() error {
	if e.reg != nil {
		_ = e.reg.Close(context.Background())
	}
	if e.db != nil {
		return e.db.Close()
	}
	return nil
}

func stdioIsTerminal() bool {
	return term.IsTerminal(int(os.Stdin.Fd())) && term.IsTerminal(int(os.Stdout.Fd()))
}

func (e *environment) printf(format string, args ...any) { fmt.Fprintf(e.Out, format, args...) }
