// Package registrytest gives tests outside host/registry a real hermes home: its directories,
// a SQLite store, a registry over them compiling into the shared test compile cache, and a
// workspace beside it. (host/registry's own tests have their own: this package imports it.)
package registrytest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

// Options shape a Home; the zero value is a fresh home with default configuration.
type Options struct {
	DB        *store.DB            // share a store (nil: a new one in the home, closed at cleanup)
	Workspace string               // "" : a new directory beside the home
	Mutate    func(*config.Config) // adjusts the configuration before the registry is made
	Logger    *slog.Logger         // the engine's logger (nil: the default)
	Executor  wasm.Executor        // serves plugins' exec capability (nil: none)
	Plugins   []string             // fixture directories (see testplugins.Dir) to add, unsigned
}

// Home is a hermes home for one test.
type Home struct {
	Paths    config.Paths
	Config   config.Config
	DB       *store.DB
	Registry *registry.Registry
}

// New makes a Home; everything it opened is closed when the test ends.
func New(tb testing.TB, o Options) *Home {
	tb.Helper()
	root := tb.TempDir()
	paths := config.PathsAt(filepath.Join(root, "home"))
	if err := paths.Ensure(); err != nil {
		tb.Fatal(err)
	}
	cfg := config.Default()
	cfg.Workspace = o.Workspace
	if cfg.Workspace == "" {
		cfg.Workspace = filepath.Join(root, "workspace")
	}
	if err := os.MkdirAll(cfg.Workspace, 0o755); err != nil {
		tb.Fatal(err)
	}
	if o.Mutate != nil {
		o.Mutate(&cfg)
	}
	db := o.DB
	if db == nil {
		var err error
		if db, err = store.Open(paths.StateDB); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
	}
	// One compile cache for every test: compiling a Go plugin under -race takes seconds.
	engine, err := wasm.NewEngine(testplugins.CompileCacheDir(tb), o.Logger)
	if err != nil {
		tb.Fatal(err)
	}
	reg := registry.New(db, engine, paths, cfg)
	if o.Executor != nil {
		reg = reg.WithExecutor(o.Executor)
	}
	// Registered after the store's cleanup, so it runs first: plugins close before the store.
	tb.Cleanup(func() { reg.Close(context.Background()) })
	h := &Home{Paths: paths, Config: cfg, DB: db, Registry: reg}
	for _, p := range o.Plugins {
		h.Add(tb, p)
	}
	return h
}

// Add adds a fixture plugin (a directory relative to the repository, see testplugins.Dir)
// with every capability it declares, as `hermes plugins install --allow-unsigned --yes` would.
func (h *Home) Add(tb testing.TB, fixture string) {
	tb.Helper()
	ctx := context.Background()
	c, err := h.Registry.Inspect(ctx, testplugins.Dir(tb, fixture))
	if err != nil {
		tb.Fatalf("inspect %s: %v", fixture, err)
	}
	if _, err := h.Registry.Add(ctx, c); err != nil {
		tb.Fatalf("add %s: %v", fixture, err)
	}
}
