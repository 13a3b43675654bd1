package registry

import (
	"context"
	"fmt"
	"maps"
	"reflect"

	"github.com/hermes-agent/hermes/store"
)

// A process that runs for long (`hermes api`, `hermes mcp serve`, `hermes gateway run`) keeps
// its plugins compiled. Another process may meanwhile disable, remove, update or restore one,
// untrust the key that signed it, or something may edit its lock entry or its files. The store
// keeps a change counter of the lock (store.DB.LockVersion, bumped by triggers in the writer's
// own transaction); Refresh reads it, one small query, and only when it moved checks the loaded
// plugins again.

// Refresh brings the registry up to date with the lock and returns the lock version it now
// reflects. When the version is the one last seen, that is all it does. Otherwise every loaded
// plugin is checked as a new process would check it before loading: its lock entry must be the
// one it was loaded from, match its seal and still be enabled, its signer must still be trusted
// and its module's SHA-256 must still be the pinned one. A plugin that fails is dropped: calls
// already running in it finish, and the next call loads it again from the lock — or is refused
// with the reason. Plugins being compiled meanwhile are compiled again.
//
// Call refreshes by itself. A caller that keeps something derived from the lock (a list of
// tools) compares the version returned with the one it derived it at.
func (r *Registry) Refresh(ctx context.Context) (int64, error) {
	v, err := r.store.LockVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("plugins: read the lock: %w", err)
	}
	if seen := r.lockSeen.Load(); v <= seen {
		return seen, nil
	}
	r.refreshMu.Lock()
	defer r.refreshMu.Unlock()
	if seen := r.lockSeen.Load(); v <= seen { // another Refresh did it meanwhile
		return seen, nil
	}
	if err := r.recheck(ctx); err != nil {
		return 0, err
	}
	r.lockSeen.Store(v)
	return v, nil
}

// recheck drops every loaded plugin that a new process would not load as it is.
func (r *Registry) recheck(ctx context.Context) error {
	recs, err := r.store.ListPlugins(ctx)
	if err != nil {
		return fmt.Errorf("plugins: read the lock: %w", err)
	}
	current := make(map[string]store.PluginRecord, len(recs))
	for _, rec := range recs {
		current[rec.Name] = rec
	}
	r.mu.Lock()
	for name := range r.inflight {
		r.gen[name]++ // it may have read the lock entry before the change: load it again
	}
	loaded := maps.Clone(r.loaded)
	r.mu.Unlock()
	for name, lp := range loaded {
		rec, ok := current[name]
		if ok && reflect.DeepEqual(rec, lp.rec) && rec.Enabled {
			if err := r.verifyFiles(rec); err == nil {
				if err := r.checkSigner(ctx, rec); err == nil {
					continue
				}
			}
		}
		r.drop(name, lp)
	}
	return nil
}

// drop unloads lp if it is still the loaded version of name. It is closed in the background:
// closing waits for the calls running in it, and the caller must not wait for them.
func (r *Registry) drop(name string, lp *loadedPlugin) {
	r.mu.Lock()
	if r.loaded[name] != lp {
		r.mu.Unlock()
		return
	}
	delete(r.loaded, name)
	r.gen[name]++
	r.closing.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.closing.Done()
		_ = lp.plugin.Close(context.Background())
	}()
}
