package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/skills"
)

// SkillLibrary is the installed skills the model may read (*skills.Manager).
type SkillLibrary interface {
	List(ctx context.Context) ([]skills.Skill, error)
}

// maxSkillFileBytes bounds what skill_view returns of one file: a SKILL.md or a reference is
// instructions, not data.
const maxSkillFileBytes = 64 << 10

var skillViewParams = json.RawMessage(`{
  "type": "object",
  "properties": {
    "name": {"type": "string", "description": "The skill's name, from skills_list."},
    "file": {"type": "string", "description": "A file inside the skill, e.g. references/api.md (default: SKILL.md)."}
  },
  "required": ["name"],
  "additionalProperties": false
}`)

// SkillTools are "skills_list" (name, description, category, tags and files of every installed
// skill) and "skill_view" (a skill's SKILL.md or one of its files), so the model loads a
// skill's instructions only when it needs them. Files are read inside the skill's installed
// directory only (os.Root: no "..", no symlink out). The WebAssembly tools a skill ships are
// plugins (see PluginTools), not these.
func SkillTools(lib SkillLibrary) []Tool {
	return []Tool{
		{
			Name:        "skills_list",
			Description: "List the installed skills: instructions for particular tasks. Read one with skill_view before doing such a task.",
			Parameters:  json.RawMessage(`{"type":"object","properties":{},"additionalProperties":false}`),
			Call: func(ctx context.Context, _ []byte) ([]byte, error) {
				return listSkills(ctx, lib)
			},
		},
		{
			Name:        "skill_view",
			Description: "Read an installed skill's SKILL.md (its instructions), or one of its files such as references/… or templates/….",
			Parameters:  skillViewParams,
			Call: func(ctx context.Context, args []byte) ([]byte, error) {
				var a struct{ Name, File string }
				if err := json.Unmarshal(args, &a); err != nil {
					return nil, &abi.Error{Code: abi.CodeInvalidArgs, Message: "arguments: " + err.Error()}
				}
				return viewSkill(ctx, lib, a.Name, a.File)
			},
		},
	}
}

type skillSummary struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Category    string   `json:"category,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	Files       []string `json:"files"`
}

func listSkills(ctx context.Context, lib SkillLibrary) ([]byte, error) {
	installed, err := lib.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]skillSummary, 0, len(installed))
	for _, s := range installed {
		sum := skillSummary{Name: s.Name, Files: []string{}}
		if data, err := readSkillFile(s.Dir, "SKILL.md"); err == nil {
			if m, err := skills.ParseSkillMDFor(data, s.Name); err == nil {
				sum.Description, sum.Category, sum.Tags = m.Description, m.Category, m.Tags
			}
		}
		_ = fs.WalkDir(os.DirFS(s.Dir), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && len(sum.Files) < 100 {
				sum.Files = append(sum.Files, p)
			}
			return nil
		})
		out = append(out, sum)
	}
	return json.Marshal(map[string]any{"skills": out})
}

func viewSkill(ctx context.Context, lib SkillLibrary, name, file string) ([]byte, error) {
	installed, err := lib.List(ctx)
	if err != nil {
		return nil, err
	}
	if file == "" {
		file = "SKILL.md"
	}
	for _, s := range installed {
		if s.Name != name {
			continue
		}
		data, err := readSkillFile(s.Dir, file)
		if err != nil {
			return nil, &abi.Error{Code: abi.CodeNotFound, Message: fmt.Sprintf("skill %s: %s: %v (see skills_list for its files)", name, file, err)}
		}
		return json.Marshal(map[string]any{"name": name, "file": file, "content": string(data)})
	}
	return nil, &abi.Error{Code: abi.CodeNotFound, Message: fmt.Sprintf("no installed skill named %q (see skills_list)", name)}
}

// readSkillFile reads file inside dir without leaving it, at most maxSkillFileBytes.
func readSkillFile(dir, file string) ([]byte, error) {
	clean := path.Clean(strings.TrimPrefix(file, "/"))
	if !fs.ValidPath(clean) {
		return nil, errors.New("not a path inside the skill")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(clean)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSkillFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSkillFileBytes {
		data = append(data[:maxSkillFileBytes], "\n[… cut at 64 KiB]"...)
	}
	return data, nil
}
