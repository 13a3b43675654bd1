package install

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/store"
)

// SkillTools installs the WebAssembly tools a skill ships (host/skills calls it once the skill
// passed its scan), through the same verification, review and lock as any plugin: a skill is
// no way around a signature or a permission prompt. Each tool's source is recorded as
// skill:<skill>:<dir>, which is how the skill's tools are found again.
//
// A new version of a skill updates its tools in place, and only once all of them are in does
// host/skills remove those it no longer ships (RemoveToolsExcept); when one is refused half-way,
// the snapshot taken before (SnapshotTools) puts back the tools exactly as they were installed.
type SkillTools struct {
	In      *Installer
	Options Options
	// Consent shows the plan to the user and returns nil to go on (see the CLI's review);
	// nil installs without asking.
	Consent func(*Plan) error
}

// InstallTool installs the tool plugin in dir for skill, or updates the skill's tool of that
// name in place (to whatever version the skill ships: the skill's version decides). A plugin of
// that name installed otherwise is not replaced.
func (s SkillTools) InstallTool(ctx context.Context, skill, dir string) error {
	src := Source{Kind: FromDir, Path: dir, Skill: skill}
	f, err := s.In.Fetch(ctx, src)
	if err != nil {
		return err
	}
	var plan *Plan
	if cur, err := s.In.reg.Get(ctx, f.Manifest.Name); err == nil {
		if !isToolOf(cur.Source, skill) {
			return fmt.Errorf("skill %s ships a tool named %s, but a plugin of that name is already installed from %s; not replacing it", skill, f.Manifest.Name, cur.Source)
		}
		plan, err = s.In.planUpdateFrom(ctx, cur, src, s.Options, true)
		if errors.Is(err, ErrUpToDate) {
			return nil
		}
		if err != nil {
			return err
		}
	} else if plan, err = s.In.Prepare(ctx, src, s.Options); err != nil {
		return err
	}
	if s.Consent != nil {
		if err := s.Consent(plan); err != nil {
			return err
		}
	}
	_, err = s.In.Apply(ctx, plan)
	return err
}

func isToolOf(source, skill string) bool { return strings.HasPrefix(source, prefixSkill+skill+":") }

// records are the lock entries of the plugins installed as tools of skill.
func (s SkillTools) records(ctx context.Context, skill string) ([]store.PluginRecord, error) {
	infos, err := s.In.reg.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.PluginRecord
	for _, info := range infos {
		if isToolOf(info.Source, skill) {
			rec, err := s.In.reg.Record(ctx, info.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, rec)
		}
	}
	return out, nil
}

// RemoveTools removes every plugin installed as a tool of skill.
func (s SkillTools) RemoveTools(ctx context.Context, skill string) error {
	return s.RemoveToolsExcept(ctx, skill, nil)
}

// RemoveToolsExcept removes the plugins installed as tools of skill but those the tool
// directories keep hold (named by their plugin.toml). A directory that cannot be read removes
// nothing.
func (s SkillTools) RemoveToolsExcept(ctx context.Context, skill string, keep []string) error {
	var names []string
	for _, dir := range keep {
		data, err := os.ReadFile(filepath.Join(dir, manifest.File))
		if err != nil {
			return fmt.Errorf("tools of skill %s: %w", skill, err)
		}
		m, err := manifest.Parse(data)
		if err != nil {
			return fmt.Errorf("tools of skill %s: %s: %w", skill, dir, err)
		}
		names = append(names, m.Name)
	}
	recs, err := s.records(ctx, skill)
	if err != nil {
		return err
	}
	var errs []error
	for _, rec := range recs {
		if !slices.Contains(names, rec.Name) {
			errs = append(errs, s.In.reg.Remove(ctx, rec.Name))
		}
	}
	return errors.Join(errs...)
}

// SnapshotTools records how the tools of skill are installed now. The returned restore puts
// them back so: a tool updated since returns to its recorded version, with the grants,
// signature (or its absence, as the user allowed then) and enabled state it had, from its kept
// files, without being verified or asked about again; a tool installed since is removed.
func (s SkillTools) SnapshotTools(ctx context.Context, skill string) (restore func(context.Context) error, err error) {
	was, err := s.records(ctx, skill)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		now, err := s.records(ctx, skill)
		if err != nil {
			return err
		}
		var errs []error
		for _, rec := range now {
			if !slices.ContainsFunc(was, func(w store.PluginRecord) bool { return w.Name == rec.Name }) {
				errs = append(errs, s.In.reg.Remove(ctx, rec.Name))
			}
		}
		for _, w := range was {
			i := slices.IndexFunc(now, func(r store.PluginRecord) bool { return r.Name == w.Name })
			if i >= 0 && now[i].Dir == w.Dir && now[i].WasmSHA256 == w.WasmSHA256 && now[i].Enabled == w.Enabled {
				continue
			}
			if _, err := s.In.reg.Restore(ctx, w, fmt.Sprintf("back to %s: a new version of skill %s was not installed", w.Version, skill)); err != nil {
				errs = append(errs, err)
				continue
			}
			if !w.Enabled {
				errs = append(errs, s.In.reg.SetEnabled(ctx, w.Name, false))
			}
		}
		return errors.Join(errs...)
	}, nil
}
