package registry

import (
	"context"

	"github.com/hermes-agent/hermes/store"
)

// PlantUnchecked installs the plugin in dir as an older hermes could have: it is inspected as
// Inspect does, but its tools are recorded as its describe export (or plugin.toml) says, with
// none of today's checks on their parameters schemas (not checked or compiled), and its lock
// entry is sealed like any other. It is for tests of what loading, listing and calling such an
// entry does; hermes itself never calls it.
func (r *Registry) PlantUnchecked(ctx context.Context, dir string) (store.PluginRecord, error) {
	c, err := r.inspectDir(ctx, dir, false)
	if err != nil {
		return store.PluginRecord{}, err
	}
	return r.Install(ctx, c, "plugin.install", "planted without checks (a test)")
}
