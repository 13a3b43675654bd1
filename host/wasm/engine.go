// Package wasm runs plugins: it compiles a module once (through wazero's on-disk cache), links
// exactly the host functions a plugin was granted, keeps a pool of warm instances, and turns
// everything that can go wrong in a call into an *abi.Error with a code.
//
// It implements Extism's host ABI natively on wazero rather than through Extism's go-sdk: the
// SDK looks exported functions up and routes every memory access through a second wasm module on
// each call, which costs tens of microseconds; here a call is a pooled instance, a cached
// function and bounds-checked slices. The go-sdk remains the reference the conformance test
// compares against.
package wasm

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/tetratelabs/wazero"
)

// Engine compiles and runs plugins. One per process; safe for concurrent use.
type Engine struct {
	cacheDir string
	logger   *slog.Logger

	mu     sync.Mutex
	caches map[string]wazero.CompilationCache // by module digest
}

// NewEngine returns an engine whose compiled code is cached under cacheDir (created 0700; an
// existing directory is tightened to 0700, since whoever can write there chooses the machine
// code hermes runs). An empty cacheDir disables the disk cache.
func NewEngine(cacheDir string, logger *slog.Logger) (*Engine, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cacheDir != "" {
		if err := os.MkdirAll(cacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("create compile cache %s: %w", cacheDir, err)
		}
		if err := os.Chmod(cacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("secure compile cache %s: %w", cacheDir, err)
		}
	}
	return &Engine{cacheDir: cacheDir, logger: logger, caches: map[string]wazero.CompilationCache{}}, nil
}

// cache returns the compilation cache for one module version. Each version gets its own
// directory so that a damaged entry can be thrown away without touching the others.
func (e *Engine) cache(digest string) (wazero.CompilationCache, error) {
	if e.cacheDir == "" {
		return nil, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.caches[digest]; ok {
		return c, nil
	}
	dir := filepath.Join(e.cacheDir, digest)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create compile cache: %w", err)
	}
	c, err := wazero.NewCompilationCacheWithDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open compile cache %s: %w", dir, err)
	}
	e.caches[digest] = c
	return c, nil
}

// dropCache forgets and deletes a version's cache after its entry failed to load.
func (e *Engine) dropCache(digest string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.caches, digest)
	if e.cacheDir != "" {
		_ = os.RemoveAll(filepath.Join(e.cacheDir, digest))
	}
}
