package install

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// SkillTools installs the WebAssembly tools a skill ships (host/skills calls it once the skill
// passed its scan), through the same verification, review and lock as any plugin: a skill is
// no way around a signature or a permission prompt. Each tool's source is recorded as
// skill:<skill>:<dir>, which is how RemoveTools finds them.
type SkillTools struct {
	In      *Installer
	Options Options
	// Consent shows the plan to the user and returns nil to go on (see the CLI's review);
	// nil installs without asking.
	Consent func(*Plan) error
}

// InstallTool installs or updates the tool plugin in dir for skill.
func (s SkillTools) InstallTool(ctx context.Context, skill, dir string) error {
	src := Source{Kind: FromDir, Path: dir, Skill: skill}
	f, err := s.In.Fetch(ctx, src)
	if err != nil {
		return err
	}
	var plan *Plan
	if cur, err := s.In.reg.Get(ctx, f.Manifest.Name); err == nil {
		if !strings.HasPrefix(cur.Source, prefixSkill+skill+":") {
			return fmt.Errorf("skill %s ships a tool named %s, but a plugin of that name is already installed from %s; not replacing it", skill, f.Manifest.Name, cur.Source)
		}
		plan, err = s.In.planUpdateFrom(ctx, cur, src, s.Options)
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

// RemoveTools removes every plugin installed as a tool of skill.
func (s SkillTools) RemoveTools(ctx context.Context, skill string) error {
	infos, err := s.In.reg.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, info := range infos {
		if strings.HasPrefix(info.Source, prefixSkill+skill+":") {
			errs = append(errs, s.In.reg.Remove(ctx, info.Name))
		}
	}
	return errors.Join(errs...)
}
