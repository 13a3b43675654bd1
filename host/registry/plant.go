package registry

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hermes-agent/hermes/host/wasm"
	"github.com/hermes-agent/hermes/store"
)

// PlantUnchecked installs the plugin in dir as an older hermes could have: its tools are what
// its describe export (or plugin.toml) says, recorded with none of today's checks on them (a
// parameters schema is not checked or compiled), and its lock entry is sealed like any other.
// It is for tests of what loading, listing and calling such an entry does; hermes itself never
// calls it.
func (r *Registry) PlantUnchecked(ctx context.Context, dir string) (store.PluginRecord, error) {
	files, m, err := ReadDir(dir)
	if err != nil {
		return store.PluginRecord{}, err
	}
	limits, _ := m.Limits.Within(r.cfg.Plugins.Limits)
	p, err := r.engine.Load(ctx, wasm.Spec{Name: m.Name, Wasm: files.Wasm, Granted: m.Capabilities, Config: m.Config, Limits: limits, Inert: true, MaxInstances: 1, StubUngranted: extismConvention(m)})
	if err != nil {
		return store.PluginRecord{}, fmt.Errorf("plant %s: %w", m.Name, err)
	}
	defer p.Close(context.Background())
	desc, err := r.toolsOf(ctx, m, p)
	if err != nil {
		return store.PluginRecord{}, fmt.Errorf("plant %s: %w", m.Name, err)
	}
	c := &Candidate{Manifest: m, Digest: sha256Hex(files.Wasm), Limits: limits, Tools: desc.Tools, manifest: files.Manifest, wasm: files.Wasm}
	if abs, err := filepath.Abs(dir); err == nil {
		c.Source = "dir:" + abs
	}
	return r.Install(ctx, c, "plugin.install", "planted without checks (a test)")
}
