package skills

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Manifest is what SKILL.md's front matter says about a skill.
type Manifest struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Version     string   `json:"version,omitempty"`
	Author      string   `json:"author,omitempty"`
	License     string   `json:"license,omitempty"`
	Homepage    string   `json:"homepage,omitempty"`
	Platforms   []string `json:"platforms,omitempty"` // linux, macos, windows; empty means all
	RequiredEnv []EnvVar `json:"required_environment_variables,omitempty"`
	Tags        []string `json:"tags,omitempty"`     // metadata.hermes.tags
	Category    string   `json:"category,omitempty"` // metadata.hermes.category
	// Ignored lists front-matter keys hermes does not use (other agents' settings, typos):
	// they are accepted, and shown, so a misspelt key is noticed.
	Ignored []string `json:"ignored,omitempty"`
	// Derived says where name and description came from when SKILL.md has no front matter
	// (see [ParseSkillMDFor]); empty when the front matter gave them.
	Derived string `json:"derived,omitempty"`
}

// EnvVar is one entry of required_environment_variables: a bare name, or a mapping with name,
// prompt, help and required_for.
type EnvVar struct {
	Name        string `json:"name"`
	Prompt      string `json:"prompt,omitempty"`
	Help        string `json:"help,omitempty"`
	RequiredFor string `json:"required_for,omitempty"`
}

// EnvNames returns the names of the required environment variables.
func (m Manifest) EnvNames() []string {
	names := make([]string, len(m.RequiredEnv))
	for i, e := range m.RequiredEnv {
		names[i] = e.Name
	}
	return names
}

// Supports reports whether the skill is meant for platform (linux, macos or windows).
func (m Manifest) Supports(platform string) bool {
	return len(m.Platforms) == 0 || slices.Contains(m.Platforms, platform)
}

// Limits on SKILL.md.
const (
	MaxSkillMDBytes   = 1 << 20
	maxDescription    = 1024
	maxNameLen        = 64
	knownPlatformList = "linux, macos, windows"
)

var (
	nameRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+(?:-[a-z0-9]+)*$`) })
	versionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$`) })
	envNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })
	yamlLine  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\bline (\d+)\b`) })
	platforms = map[string]bool{"linux": true, "macos": true, "windows": true}
	envKeys   = map[string]bool{"name": true, "prompt": true, "help": true, "required_for": true}
)

// ParseSkillMDFor is [ParseSkillMD] for a SKILL.md in a directory named dir, which also
// accepts a SKILL.md without front matter, as several published skills are (they start with a
// "# Title" line): the name is then taken from dir (lower-cased, other characters turned into
// hyphens) and the description from the first paragraph of text, and Derived says so.
func ParseSkillMDFor(data []byte, dir string) (Manifest, error) {
	text := strings.TrimPrefix(strings.ReplaceAll(string(data), "\r\n", "\n"), "\ufeff")
	if len(data) > MaxSkillMDBytes || strings.HasPrefix(text, "---\n") || strings.TrimSpace(text) == "" {
		return ParseSkillMD(data)
	}
	m := Manifest{Name: slug(dir), Description: firstParagraph(text)}
	switch {
	case m.Name == "":
		return Manifest{}, invalidf("SKILL.md has no front matter and the directory name %q does not make a skill name; add front matter with name: and description:", dir)
	case m.Description == "":
		return Manifest{}, invalidf("SKILL.md has no front matter and no paragraph of text to describe the skill; add front matter with name: and description:")
	}
	m.Derived = fmt.Sprintf("SKILL.md has no front matter: the name %s is taken from the directory and the description from the first paragraph", m.Name)
	return m, nil
}

// slug makes a skill name of a directory name: "My_Skill" is my-skill.
func slug(dir string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(dir) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
		} else {
			hyphen = true
		}
	}
	if b.Len() > maxNameLen {
		return strings.TrimRight(b.String()[:maxNameLen], "-")
	}
	return b.String()
}

// firstParagraph is the first paragraph of markdown text that is not a heading, a code block,
// an HTML comment or a list, its lines joined, clipped to the description limit.
func firstParagraph(text string) string {
	var para []string
	fence, comment := "", false
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			continue
		case comment:
			comment = !strings.Contains(t, "-->")
			continue
		case strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"):
			fence = t[:3]
			continue
		case strings.HasPrefix(t, "<!--"):
			comment = !strings.Contains(t, "-->")
			continue
		}
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "|") || strings.HasPrefix(t, "- ") ||
			strings.HasPrefix(t, "* ") || strings.HasPrefix(t, "<") || strings.HasPrefix(t, "![") {
			if len(para) > 0 {
				break
			}
			continue
		}
		para = append(para, t)
	}
	d := strings.Join(para, " ")
	if len(d) > maxDescription {
		d = strings.TrimSpace(d[:strings.LastIndexByte(d[:maxDescription-4], ' ')+1]) + "…"
	}
	return d
}

// ParseSkillMD reads SKILL.md's front matter: the YAML between a first line "---" and the next
// "---" (or "..."). name and description are required; name is lowercase letters, digits and
// hyphens (it names the skill's directory); known keys must have the right type. Errors name the
// line in SKILL.md and what to change.
func ParseSkillMD(data []byte) (Manifest, error) {
	if len(data) > MaxSkillMDBytes {
		return Manifest{}, invalidf("SKILL.md is larger than %d MiB; move long material to references/", MaxSkillMDBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if !strings.HasPrefix(text, "---\n") {
		return Manifest{}, invalidf("SKILL.md has no front matter: start it with a line ---, then name: and description:, then a line ---")
	}
	rest := text[len("---\n"):]
	var yamlText string
	for off := 0; ; {
		end := strings.IndexByte(rest[off:], '\n')
		line := rest[off:]
		if end >= 0 {
			line = rest[off : off+end]
		}
		if t := strings.TrimRight(line, " \t"); t == "---" || t == "..." {
			yamlText = rest[:off]
			break
		}
		if end < 0 {
			return Manifest{}, invalidf("SKILL.md front matter is not closed: end it with a line ---")
		}
		off += end + 1
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(yamlText), &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		// yaml counts lines from the front matter; SKILL.md has the --- line before it.
		msg = yamlLine().ReplaceAllStringFunc(msg, func(s string) string {
			n, _ := strconv.Atoi(strings.TrimPrefix(s, "line "))
			return "line " + strconv.Itoa(n+1)
		})
		return Manifest{}, invalidf("SKILL.md front matter is not valid YAML: %s", msg)
	}
	if len(doc.Content) == 0 {
		return Manifest{}, invalidf("SKILL.md front matter is empty: add name: and description:")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return Manifest{}, lineErr(root, "front matter must be keys and values (name: …, description: …)")
	}
	var m Manifest
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if seen[key] {
			return Manifest{}, lineErr(k, "%s: given twice; keep one", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "name":
			m.Name, err = str(v, key)
		case "description":
			m.Description, err = str(v, key)
		case "version":
			m.Version, err = scalar(v, key)
		case "author":
			m.Author, err = str(v, key)
		case "license":
			m.License, err = str(v, key)
		case "homepage":
			m.Homepage, err = str(v, key)
		case "compatibility":
			_, err = str(v, key)
		case "allowed-tools", "allowed_tools":
			if v.Kind != yaml.SequenceNode {
				_, err = str(v, key)
			}
		case "platforms":
			m.Platforms, err = strList(v, key)
		case "required_environment_variables":
			m.RequiredEnv, err = envVars(v)
		case "metadata":
			err = metadata(v, &m)
		default:
			m.Ignored = append(m.Ignored, key)
		}
		if err != nil {
			return Manifest{}, err
		}
	}
	return m, m.validate(root)
}

func (m Manifest) validate(root *yaml.Node) error {
	switch {
	case m.Name == "":
		return lineErr(root, "name: missing; add e.g. name: pdf-tools")
	case len(m.Name) > maxNameLen || !nameRE().MatchString(m.Name):
		return lineErr(find(root, "name"), "name: %q must be lowercase letters, digits and single hyphens, at most %d characters (e.g. pdf-tools)", m.Name, maxNameLen)
	case strings.TrimSpace(m.Description) == "":
		return lineErr(root, "description: missing; say in a sentence what the skill does and when to use it")
	case len(m.Description) > maxDescription:
		return lineErr(find(root, "description"), "description: %d characters, at most %d; move detail into the body", len(m.Description), maxDescription)
	case m.Version != "" && !versionRE().MatchString(m.Version):
		return lineErr(find(root, "version"), "version: %q must be letters, digits and . + _ - (e.g. 1.2.0)", m.Version)
	}
	for _, p := range m.Platforms {
		if !platforms[p] {
			return lineErr(find(root, "platforms"), "platforms: %q is not one of %s", p, knownPlatformList)
		}
	}
	return nil
}

// lineErr reports a problem at n's line in SKILL.md (front matter starts on line 2).
func lineErr(n *yaml.Node, format string, args ...any) error {
	line := 0
	if n != nil {
		line = n.Line + 1
	}
	return invalidf("SKILL.md line %d: %s", line, fmt.Sprintf(format, args...))
}

func find(root *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == key {
			return root.Content[i+1]
		}
	}
	return root
}

// str accepts a text value.
func str(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" && n.Tag != "!!null" {
		return "", lineErr(n, "%s: must be text", key)
	}
	return n.Value, nil
}

// scalar accepts any single value as text (version: 1.0 is a number to YAML).
func scalar(n *yaml.Node, key string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", lineErr(n, "%s: must be a single value such as 1.2.0", key)
	}
	return n.Value, nil
}

// strList accepts a list of text, or one text value.
func strList(n *yaml.Node, key string) ([]string, error) {
	if n.Kind == yaml.ScalarNode {
		s, err := str(n, key)
		if err != nil || s == "" {
			return nil, err
		}
		return []string{s}, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, lineErr(n, "%s: must be a list, e.g. [a, b]", key)
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		s, err := str(item, key)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func envVars(n *yaml.Node) ([]EnvVar, error) {
	const key = "required_environment_variables"
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, lineErr(n, "%s: must be a list of names, or of mappings with name:", key)
	}
	var out []EnvVar
	for i, item := range n.Content {
		var e EnvVar
		switch item.Kind {
		case yaml.ScalarNode:
			e.Name = item.Value
		case yaml.MappingNode:
			for j := 0; j+1 < len(item.Content); j += 2 {
				k, v := item.Content[j], item.Content[j+1]
				if !envKeys[k.Value] {
					return nil, lineErr(k, "%s[%d]: unknown key %q (known: name, prompt, help, required_for)", key, i, k.Value)
				}
				s, err := str(v, key+"."+k.Value)
				if err != nil {
					return nil, err
				}
				switch k.Value {
				case "name":
					e.Name = s
				case "prompt":
					e.Prompt = s
				case "help":
					e.Help = s
				case "required_for":
					e.RequiredFor = s
				}
			}
		default:
			return nil, lineErr(item, "%s[%d]: must be a name or a mapping with name:", key, i)
		}
		if !envNameRE().MatchString(e.Name) {
			return nil, lineErr(item, "%s[%d]: %q is not an environment variable name", key, i, e.Name)
		}
		out = append(out, e)
	}
	return out, nil
}

// metadata reads metadata.hermes; other agents' metadata is theirs and left alone.
func metadata(n *yaml.Node, m *Manifest) error {
	if n.Kind != yaml.MappingNode {
		return lineErr(n, "metadata: must be keys and values")
	}
	h := find(n, "hermes")
	if h == n {
		return nil
	}
	if h.Kind != yaml.MappingNode {
		return lineErr(h, "metadata.hermes: must be keys and values (tags:, category:)")
	}
	for i := 0; i+1 < len(h.Content); i += 2 {
		k, v := h.Content[i], h.Content[i+1]
		var err error
		switch k.Value {
		case "tags":
			m.Tags, err = strList(v, "metadata.hermes.tags")
		case "category":
			m.Category, err = str(v, "metadata.hermes.category")
		default:
			m.Ignored = append(m.Ignored, "metadata.hermes."+k.Value)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
