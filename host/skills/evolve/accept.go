package evolve

import (
	"bytes"
	"context"
	"fmt"

	"github.com/hermes-agent/hermes/host/skills"
)

// Installer is the part of *skills.Manager accepting a candidate needs.
type Installer interface {
	Inspect(ctx context.Context, name string) (*skills.Details, error)
	InstallEvolved(ctx context.Context, dir, note string) (*skills.InstallResult, error)
}

var _ Installer = (*skills.Manager)(nil)

// Accept installs a staged candidate as a new kept version of skill, after checking again that
// it was measured against the installed version, that only SKILL.md differs from it, and that
// it passes the gates; then removes it from the staging area. The person's yes is the
// caller's to get.
func Accept(ctx context.Context, m Installer, s Staging, skill, id string) (*skills.InstallResult, Staged, error) {
	st, err := s.Get(skill, id)
	if err != nil {
		return nil, st, err
	}
	d, err := m.Inspect(ctx, skill)
	if err != nil {
		return nil, st, err
	}
	if d.Skill.ContentSHA256 != st.BaseSHA256 {
		return nil, st, fmt.Errorf("candidate %s of %s was measured against another version than the installed one; run hermes skills evolve %s again", id, skill, skill)
	}
	installed, err := skills.ReadDir(d.Skill.Dir)
	if err != nil {
		return nil, st, err
	}
	staged, err := skills.ReadDir(st.SkillDir())
	if err != nil {
		return nil, st, fmt.Errorf("read candidate %s: %w", id, err)
	}
	md := skills.FileData(staged, "SKILL.md")
	want := Candidate(installed, md)
	same := len(want) == len(staged)
	for i := 0; same && i < len(want); i++ {
		same = want[i].Path == staged[i].Path && bytes.Equal(want[i].Data, staged[i].Data)
	}
	if !same {
		return nil, st, fmt.Errorf("candidate %s of %s has files other than SKILL.md that differ from the installed version; reject it: hermes skills reject %s %s", id, skill, skill, id)
	}
	if err := CheckGates(installed, md); err != nil {
		return nil, st, fmt.Errorf("candidate %s of %s: %w", id, skill, err)
	}
	note := fmt.Sprintf("candidate %s accepted: %d/%d cases passed (installed %d/%d), %d tokens (installed %d)", id,
		count(st.Score.Passed), len(st.Score.Passed), count(st.Baseline.Passed), len(st.Baseline.Passed), st.Score.Tokens, st.Baseline.Tokens)
	res, err := m.InstallEvolved(ctx, st.SkillDir(), note)
	if err != nil {
		return nil, st, err
	}
	if err := s.Remove(skill, id); err != nil {
		return res, st, fmt.Errorf("installed, but could not remove the staged copy: %w", err)
	}
	return res, st, nil
}
