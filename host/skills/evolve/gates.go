package evolve

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/host/skills/scan"
)

// MaxSkillBytes is the largest SKILL.md a candidate may have.
const MaxSkillBytes = 15 << 10

// GateTrust is the trust a candidate is judged with: the policy of a hub (community) install,
// whatever the installed skill's own trust is, since the text is a model's.
const GateTrust = skills.TrustCommunity

// Gate names, in the order they are checked.
const (
	GateSize        = "size"
	GateFrontMatter = "front-matter"
	GateScan        = "scan"
	GateBudget      = "budget"
)

// GateError is a candidate a gate refused. It is never staged.
type GateError struct {
	Gate     string         `json:"gate"`
	Reason   string         `json:"reason"`
	Findings []scan.Finding `json:"findings,omitempty"`
}

func (e *GateError) Error() string { return "gate " + e.Gate + ": " + e.Reason }

// Candidate builds the files of a variant: the installed files with SKILL.md replaced. Only
// SKILL.md is ever proposed, so tools, scripts and references cannot be added or changed.
func Candidate(installed []scan.File, skillMD []byte) []scan.File {
	out := slices.Clone(installed)
	for i := range out {
		if out[i].Path == "SKILL.md" {
			out[i].Data = skillMD
		}
	}
	return out
}

// CheckGates runs the gates that need no measurement on a proposed SKILL.md: at most
// MaxSkillBytes; a name and front matter (declared tools, environment, anything a capability
// hangs on) exactly as installed; and the skills scanner over the whole candidate, under the
// hub-install policy.
func CheckGates(installed []scan.File, skillMD []byte) error {
	if len(skillMD) > MaxSkillBytes {
		return &GateError{Gate: GateSize, Reason: fmt.Sprintf("SKILL.md is %d bytes, at most %d", len(skillMD), MaxSkillBytes)}
	}
	old := skills.FileData(installed, "SKILL.md")
	oldMan, err := skills.ParseSkillMD(old)
	if err != nil {
		return fmt.Errorf("read the installed SKILL.md: %w", err)
	}
	man, err := skills.ParseSkillMD(skillMD)
	if err != nil {
		return &GateError{Gate: GateFrontMatter, Reason: err.Error()}
	}
	if man.Name != oldMan.Name {
		return &GateError{Gate: GateFrontMatter, Reason: fmt.Sprintf("name changed from %s to %s", oldMan.Name, man.Name)}
	}
	if !bytes.Equal(frontMatter(skillMD), frontMatter(old)) {
		return &GateError{Gate: GateFrontMatter, Reason: "front matter changed (name, declared tools, environment and capabilities are fixed; only the body may evolve)"}
	}
	report := scan.Scan(Candidate(installed, skillMD), scan.Options{DeclaredEnv: oldMan.EnvNames()})
	if skills.Decide(GateTrust, report.Verdict) != skills.Allow {
		return &GateError{Gate: GateScan, Reason: scanReason(report), Findings: report.Findings}
	}
	return nil
}

func scanReason(r scan.Report) string {
	var parts []string
	for _, f := range r.Findings {
		if f.Severity >= scan.Caution && len(parts) < 3 {
			parts = append(parts, fmt.Sprintf("%s:%d %s (%s, %s)", f.File, f.Line, f.Reason, f.Category, f.Severity))
		}
	}
	return fmt.Sprintf("scanner verdict %s, which a %s install may not have: %s", r.Verdict, GateTrust, strings.Join(parts, "; "))
}

// frontMatter returns SKILL.md up to and including its closing --- line, line endings
// normalised; the body is what follows.
func frontMatter(md []byte) []byte {
	md, _ = splitSkill(md)
	return md
}

// splitSkill splits SKILL.md into its front matter (with both --- lines) and its body.
func splitSkill(md []byte) (front, body []byte) {
	text := bytes.ReplaceAll(bytes.TrimPrefix(md, []byte("\xef\xbb\xbf")), []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(text, []byte("---\n")) {
		return nil, text
	}
	off := 4
	for off < len(text) {
		end := bytes.IndexByte(text[off:], '\n')
		line := text[off:]
		if end >= 0 {
			line = text[off : off+end]
		}
		if t := bytes.TrimRight(line, " \t"); string(t) == "---" || string(t) == "..." {
			if end < 0 {
				return text, nil
			}
			return text[:off+end+1], text[off+end+1:]
		}
		if end < 0 {
			break
		}
		off += end + 1
	}
	return text, nil
}
