package install

import (
	"context"
	"fmt"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/store"
)

// Restore brings back a kept version of a plugin with the grants it had: the named version, or
// with version "" the most recent one that is not the current. It works offline: kept versions'
// files stay under plugins/<name>/.
func (in *Installer) Restore(ctx context.Context, name, version string) (restored store.PluginRecord, previous string, err error) {
	cur, err := in.reg.Record(ctx, name)
	if err != nil {
		return store.PluginRecord{}, "", err
	}
	kept, err := in.reg.Versions(ctx, name)
	if err != nil {
		return store.PluginRecord{}, "", err
	}
	var pick *store.PluginRecord
	var available []string
	for i := range kept {
		k := &kept[i]
		isCurrent := k.Version == cur.Version && k.WasmSHA256 == cur.WasmSHA256
		if !isCurrent {
			available = append(available, k.Version)
		}
		if pick == nil && !isCurrent && (version == "" || k.Version == version) {
			pick = k
		}
	}
	if pick == nil {
		what := "an earlier version"
		if version != "" {
			what = "version " + version
		}
		msg := fmt.Sprintf("no kept %s to restore (current is %s", what, cur.Version)
		if len(available) > 0 {
			msg += fmt.Sprintf("; kept: %v", available)
		}
		return store.PluginRecord{}, "", &abi.Error{Code: abi.CodeNotFound, Plugin: name, Message: msg + ")"}
	}
	rec, err := in.reg.Restore(ctx, *pick, fmt.Sprintf("%s -> %s", cur.Version, pick.Version))
	return rec, cur.Version, err
}
