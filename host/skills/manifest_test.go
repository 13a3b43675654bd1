package skills

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseSkillMD(t *testing.T) {
	t.Run("every field", func(t *testing.T) {
		m, err := ParseSkillMD([]byte("\xef\xbb\xbf---\r\nname: weather-brief\r\ndescription: Weather.\r\nversion: 2.0\r\n" +
			"author: A\nlicense: MIT\nhomepage: https://example.com\nplatforms: [linux, macos]\n" +
			"required_environment_variables:\n  - WEATHER_API_KEY\n  - name: OTHER_TOKEN\n    prompt: Other\n    help: See docs\n    required_for: uploads\n" +
			"metadata:\n  hermes:\n    tags: [weather, api]\n    category: productivity\n    config: []\n  openclaw:\n    emoji: x\n" +
			"allowed-tools: Read Bash\nrelated_skills: [x]\n---\n# Body\n"))
		if err != nil {
			t.Fatal(err)
		}
		want := Manifest{Name: "weather-brief", Description: "Weather.", Version: "2.0", Author: "A", License: "MIT",
			Homepage: "https://example.com", Platforms: []string{"linux", "macos"},
			RequiredEnv: []EnvVar{{Name: "WEATHER_API_KEY"}, {Name: "OTHER_TOKEN", Prompt: "Other", Help: "See docs", RequiredFor: "uploads"}},
			Tags:        []string{"weather", "api"}, Category: "productivity",
			Ignored: []string{"metadata.hermes.config", "related_skills"}}
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("got  %+v\nwant %+v", m, want)
		}
		if names := m.EnvNames(); !reflect.DeepEqual(names, []string{"WEATHER_API_KEY", "OTHER_TOKEN"}) {
			t.Errorf("EnvNames = %v", names)
		}
		if !m.Supports("linux") || m.Supports("windows") {
			t.Errorf("Supports wrong for %v", m.Platforms)
		}
	})
	t.Run("minimal", func(t *testing.T) {
		m, err := ParseSkillMD([]byte("---\nname: x\ndescription: y\n...\n"))
		if err != nil || m.Name != "x" || m.Version != "" || !m.Supports("windows") {
			t.Fatalf("%+v %v", m, err)
		}
	})

	errTests := []struct {
		name, input, want string
	}{
		{"no front matter", "# Title\n", "SKILL.md has no front matter: start it with a line ---, then name: and description:, then a line ---"},
		{"not closed", "---\nname: x\n", "SKILL.md front matter is not closed: end it with a line ---"},
		{"bad yaml", "---\nname: x\ndescription: a: b\n---\n", "SKILL.md front matter is not valid YAML: line 3: mapping values are not allowed in this context"},
		{"empty", "---\n---\n", "SKILL.md front matter is empty: add name: and description:"},
		{"not a mapping", "---\n- a\n---\n", "SKILL.md line 2: front matter must be keys and values (name: …, description: …)"},
		{"missing name", "---\ndescription: y\n---\n", "SKILL.md line 2: name: missing; add e.g. name: pdf-tools"},
		{"bad name", "---\nname: My Skill\ndescription: y\n---\n", `SKILL.md line 2: name: "My Skill" must be lowercase letters, digits and single hyphens, at most 64 characters (e.g. pdf-tools)`},
		{"path in name", "---\nname: ../x\ndescription: y\n---\n", `SKILL.md line 2: name: "../x" must be lowercase letters, digits and single hyphens, at most 64 characters (e.g. pdf-tools)`},
		{"name not text", "---\nname: [a]\ndescription: y\n---\n", "SKILL.md line 2: name: must be text"},
		{"missing description", "---\nname: x\n---\n", "SKILL.md line 2: description: missing; say in a sentence what the skill does and when to use it"},
		{"duplicate key", "---\nname: x\nname: y\ndescription: z\n---\n", "SKILL.md line 3: name: given twice; keep one"},
		{"bad version", "---\nname: x\ndescription: y\nversion: 1.0/../x\n---\n", `SKILL.md line 4: version: "1.0/../x" must be letters, digits and . + _ - (e.g. 1.2.0)`},
		{"bad platform", "---\nname: x\ndescription: y\nplatforms: [linux, osx]\n---\n", `SKILL.md line 4: platforms: "osx" is not one of linux, macos, windows`},
		{"bad env name", "---\nname: x\ndescription: y\nrequired_environment_variables: [\"A B\"]\n---\n", `SKILL.md line 4: required_environment_variables[0]: "A B" is not an environment variable name`},
		{"unknown env key", "---\nname: x\ndescription: y\nrequired_environment_variables:\n  - name: A\n    secret: true\n---\n", `SKILL.md line 6: required_environment_variables[0]: unknown key "secret" (known: name, prompt, help, required_for)`},
		{"env not a list", "---\nname: x\ndescription: y\nrequired_environment_variables: A\n---\n", "SKILL.md line 4: required_environment_variables: must be a list of names, or of mappings with name:"},
		{"tags not a list", "---\nname: x\ndescription: y\nmetadata:\n  hermes:\n    tags: {a: b}\n---\n", "SKILL.md line 6: metadata.hermes.tags: must be a list, e.g. [a, b]"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSkillMD([]byte(tt.input))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error = %v\nwant    %s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not match ErrInvalid")
			}
		})
	}
}

// TestParseSkillMDFor: a SKILL.md without front matter (several published skills start with
// "# Title") takes its name from the directory and its description from the first paragraph.
func TestParseSkillMDFor(t *testing.T) {
	long := strings.Repeat("word ", 300)
	tests := []struct {
		name, dir, md string
		want          Manifest
		wantErr       string
	}{
		{"title and paragraph", "session-search", "# Session search\n\nFinds earlier\nconversations.\n\nMore.\n",
			Manifest{Name: "session-search", Description: "Finds earlier conversations."}, ""},
		{"directory name made a skill name", "My_Skill v2", "\ufeff# T\r\n\r\n<!-- note -->\r\n```sh\r\nls\r\n```\r\n![logo](a.png)\r\nDoes things.\r\n",
			Manifest{Name: "my-skill-v2", Description: "Does things."}, ""},
		{"long paragraph clipped", "x", "# X\n\n" + long, Manifest{Name: "x"}, ""},
		{"no paragraph", "x", "# Only a title\n", Manifest{}, "no paragraph of text"},
		{"no usable directory name", "__", "# T\n\nText.\n", Manifest{}, "does not make a skill name"},
		{"front matter still parsed strictly", "x", "---\nname: Bad Name\ndescription: d\n---\n", Manifest{}, "must be lowercase letters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseSkillMDFor([]byte(tt.md), tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Name != tt.want.Name || !strings.Contains(m.Derived, "no front matter") || !strings.Contains(m.Derived, m.Name) {
				t.Fatalf("manifest %+v", m)
			}
			if tt.want.Description != "" && m.Description != tt.want.Description {
				t.Errorf("description %q, want %q", m.Description, tt.want.Description)
			}
			if len(m.Description) > maxDescription || m.Description == "" {
				t.Errorf("description of %d bytes", len(m.Description))
			}
		})
	}
}
