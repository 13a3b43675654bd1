package evolve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/skills/scan"
)

// Staging is the staging area of a hermes home: <root>/<skill>/<candidate>/ holds a
// candidate's files (skill/), its diff against the version it was measured against
// (diff.patch), its scores (candidate.json) and its traces (traces.json). Each candidate is
// written to a temporary directory beside it and renamed into place, so a candidate is there
// whole or not at all.
type Staging struct{ Root string }

// Staged is what candidate.json records.
type Staged struct {
	Skill      string    `json:"skill"`
	ID         string    `json:"id"`
	BaseSHA256 string    `json:"base_sha256"` // content digest of the installed version it was measured against
	Baseline   Score     `json:"baseline"`
	Score      Score     `json:"score"`
	OnFront    bool      `json:"on_front"`
	Bytes      int       `json:"bytes"`
	Gates      []string  `json:"gates"` // the gates it passed, in order
	StagedAt   time.Time `json:"staged_at"`
	Dir        string    `json:"-"`
}

// Rejected is a variant a gate refused: only why is kept (in <root>/<skill>/rejected/<id>.json),
// never its text, so nothing of it can be accepted.
type Rejected struct {
	Skill    string    `json:"skill"`
	ID       string    `json:"id"`
	Gate     GateError `json:"gate"`
	StagedAt time.Time `json:"staged_at"`
}

// AllGates are the gates every staged candidate passed.
var AllGates = []string{GateSize, GateFrontMatter, GateScan, GateBudget}

var (
	idRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{8}-[0-9]{6}-c[0-9]+$`) })
	skillRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`) }) // as skills names them
)

func checkSkill(skill string) error {
	if !skillRE().MatchString(skill) || len(skill) > 64 {
		return fmt.Errorf("%q is not a skill name (see: hermes skills list)", skill)
	}
	return nil
}

// ErrNoCandidate: no such staged candidate.
var ErrNoCandidate = errors.New("no such candidate")

func (s Staging) dir(skill, id string) (string, error) {
	if err := checkSkill(skill); err != nil {
		return "", err
	}
	if !idRE().MatchString(id) {
		return "", fmt.Errorf("%w: %q is not a candidate id (see: hermes skills candidates %s)", ErrNoCandidate, id, skill)
	}
	return filepath.Join(s.Root, skill, id), nil
}

// Stage writes every variant of res that passed the gates, and returns them as staged; of the
// others it records why they were refused. ids are the run's start time and the variant's id,
// so runs never collide.
func (s Staging) Stage(skill, baseSHA string, installed []scan.File, res *Result, at time.Time) ([]Staged, error) {
	if err := checkSkill(skill); err != nil {
		return nil, err
	}
	run := s.freeRun(skill, at)
	if err := s.recordRejected(skill, res, run, at); err != nil {
		return nil, err
	}
	var out []Staged
	orig := string(skillFile(installed))
	for _, v := range res.Staged() {
		st := Staged{Skill: skill, ID: run + "-" + v.ID, BaseSHA256: baseSHA,
			Baseline: res.Baseline, Score: v.Score, OnFront: v.OnFront, Bytes: len(v.SkillMD), Gates: AllGates, StagedAt: at.UTC()}
		final, err := s.dir(skill, st.ID)
		if err != nil {
			return out, err
		}
		if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
			return out, fmt.Errorf("create staging directory: %w", err)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(final), ".staging-")
		if err != nil {
			return out, fmt.Errorf("create staging directory: %w", err)
		}
		err = writeCandidate(tmp, st, Candidate(installed, []byte(v.SkillMD)), Diff("a/SKILL.md", "b/SKILL.md", orig, v.SkillMD), v.Traces)
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err != nil {
			_ = os.RemoveAll(tmp)
			return out, fmt.Errorf("stage candidate %s of %s: %w", st.ID, skill, err)
		}
		st.Dir = final
		out = append(out, st)
	}
	return out, nil
}

// freeRun is the first second from at on that names no staged or rejected candidate of skill
// yet: the prefix of this run's ids.
func (s Staging) freeRun(skill string, at time.Time) string {
	var taken []string
	for _, dir := range []string{filepath.Join(s.Root, skill), filepath.Join(s.Root, skill, "rejected")} {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			taken = append(taken, e.Name())
		}
	}
	for {
		run := at.UTC().Format("20060102-150405")
		if !slices.ContainsFunc(taken, func(name string) bool { return strings.HasPrefix(name, run+"-") }) {
			return run
		}
		at = at.Add(time.Second)
	}
}

func (s Staging) recordRejected(skill string, res *Result, run string, at time.Time) error {
	for _, v := range res.Variants {
		if v.Gate == nil {
			continue
		}
		r := Rejected{Skill: skill, ID: run + "-" + v.ID, Gate: *v.Gate, StagedAt: at.UTC()}
		if _, err := s.dir(skill, r.ID); err != nil {
			return err
		}
		data, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			return err
		}
		dir := filepath.Join(s.Root, skill, "rejected")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create staging directory: %w", err)
		}
		if err := config.WriteFileAtomic(filepath.Join(dir, r.ID+".json"), data, 0o600); err != nil {
			return fmt.Errorf("record rejected candidate %s of %s: %w", r.ID, skill, err)
		}
	}
	return nil
}

// ListRejected returns the variants of skill that a gate refused, oldest first.
func (s Staging) ListRejected(skill string) ([]Rejected, error) {
	if err := checkSkill(skill); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.Root, skill, "rejected"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read staging area: %w", err)
	}
	var out []Rejected
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !idRE().MatchString(id) || !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(s.Root, skill, "rejected", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read staging area: %w", err)
		}
		var r Rejected
		if err := json.Unmarshal(data, &r); err != nil || r.ID != id {
			return nil, fmt.Errorf("rejected candidate %s of %s: its record is damaged; remove it with: hermes skills reject %s %s", id, skill, skill, id)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rejected) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func writeCandidate(dir string, st Staged, files []scan.File, diff string, traces []Trace) error {
	for _, f := range files {
		p := filepath.Join(dir, "skill", filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			return err
		}
	}
	meta, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tr, err := json.MarshalIndent(traces, "", "  ")
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{"candidate.json": meta, "diff.patch": []byte(diff), "traces.json": tr} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// List returns the staged candidates of skill, oldest first.
func (s Staging) List(skill string) ([]Staged, error) {
	if err := checkSkill(skill); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(s.Root, skill))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read staging area: %w", err)
	}
	var out []Staged
	for _, e := range entries {
		if !e.IsDir() || !idRE().MatchString(e.Name()) {
			continue
		}
		st, err := s.Get(skill, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Staged) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Get returns one staged candidate.
func (s Staging) Get(skill, id string) (Staged, error) {
	dir, err := s.dir(skill, id)
	if err != nil {
		return Staged{}, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "candidate.json"))
	if errors.Is(err, os.ErrNotExist) {
		return Staged{}, fmt.Errorf("%w: skill %s has no staged candidate %s (see: hermes skills candidates %s)", ErrNoCandidate, skill, id, skill)
	}
	if err != nil {
		return Staged{}, fmt.Errorf("read candidate %s: %w", id, err)
	}
	var st Staged
	if err := json.Unmarshal(data, &st); err != nil || st.ID != id || st.Skill != skill {
		return Staged{}, fmt.Errorf("candidate %s of %s: candidate.json is damaged; remove it with: hermes skills reject %s %s", id, skill, skill, id)
	}
	st.Dir = dir
	return st, nil
}

// SkillDir is where a staged candidate's files are.
func (st Staged) SkillDir() string { return filepath.Join(st.Dir, "skill") }

// Remove deletes a staged candidate, or the record of a rejected one.
func (s Staging) Remove(skill, id string) error {
	st, err := s.Get(skill, id)
	if errors.Is(err, ErrNoCandidate) && idRE().MatchString(id) {
		rec := filepath.Join(s.Root, skill, "rejected", id+".json")
		if rerr := os.Remove(rec); rerr == nil {
			return nil
		} else if !errors.Is(rerr, os.ErrNotExist) {
			return fmt.Errorf("remove candidate %s: %w", id, rerr)
		}
	}
	if err != nil {
		return err
	}
	// Renamed aside first, so a half-removed candidate is never listed.
	tmp := filepath.Join(filepath.Dir(st.Dir), ".removed-"+id)
	if err := os.Rename(st.Dir, tmp); err != nil {
		return fmt.Errorf("remove candidate %s: %w", id, err)
	}
	return os.RemoveAll(tmp)
}

// RemoveSkill deletes everything staged for skill (when the skill is removed).
func (s Staging) RemoveSkill(skill string) error {
	if err := checkSkill(skill); err != nil {
		return err
	}
	dir := filepath.Join(s.Root, skill)
	tmp, err := os.MkdirTemp(s.Root, ".removed-"+skill+"-")
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing was ever staged
	}
	if err != nil {
		return fmt.Errorf("remove the staged candidates of %s: %w", skill, err)
	}
	// Renamed aside first, so a half-removed staging area is never listed.
	if err := os.Rename(dir, filepath.Join(tmp, skill)); err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = os.Remove(tmp)
		return fmt.Errorf("remove the staged candidates of %s: %w", skill, err)
	}
	return os.RemoveAll(tmp)
}
