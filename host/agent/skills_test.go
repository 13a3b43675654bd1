package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/skills"
)

type skillList []skills.Skill

func (l skillList) List(context.Context) ([]skills.Skill, error) { return l, nil }

func TestSkillTools(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "references"), 0o755)
	os.WriteFile(filepath.Join(dir, "SKILL.md"), []byte("---\nname: pdf-tools\ndescription: Work with PDF files\nmetadata:\n  hermes:\n    tags: [pdf]\n    category: documents\n---\n# PDF\nUse the terminal.\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "references", "api.md"), []byte("the API"), 0o644)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("sk-do-not-read"), 0o600)
	os.Symlink(secret, filepath.Join(dir, "references", "link.md"))

	tools := SkillTools(skillList{{Name: "pdf-tools", Dir: dir}})
	list, view := tools[0], tools[1]
	ctx := context.Background()

	out, err := list.Call(ctx, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Skills []skillSummary }
	json.Unmarshal(out, &got)
	if len(got.Skills) != 1 || got.Skills[0].Description != "Work with PDF files" || got.Skills[0].Category != "documents" ||
		!strings.Contains(strings.Join(got.Skills[0].Files, ","), "references/api.md") {
		t.Fatalf("skills_list = %s", out)
	}

	out, err = view.Call(ctx, []byte(`{"name":"pdf-tools"}`))
	if err != nil || !strings.Contains(string(out), "Use the terminal.") {
		t.Fatalf("skill_view = %s, %v", out, err)
	}
	out, err = view.Call(ctx, []byte(`{"name":"pdf-tools","file":"references/api.md"}`))
	if err != nil || !strings.Contains(string(out), "the API") {
		t.Fatalf("skill_view file = %s, %v", out, err)
	}
	for _, escape := range []string{"../../../etc/passwd", "/etc/passwd", "references/link.md", "references/../../x"} {
		out, err := view.Call(ctx, []byte(`{"name":"pdf-tools","file":"`+escape+`"}`))
		if err == nil || strings.Contains(string(out), "sk-do-not-read") || abi.CodeOf(err) != abi.CodeNotFound {
			t.Errorf("skill_view %q = %s, %v; want not found", escape, out, err)
		}
	}
	if _, err := view.Call(ctx, []byte(`{"name":"nope"}`)); abi.CodeOf(err) != abi.CodeNotFound {
		t.Errorf("unknown skill: %v", err)
	}
}
