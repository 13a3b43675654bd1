// Package evolve proposes better versions of an installed skill and measures them: an
// optimizer model reads the skill, its evaluation cases and the traces of failing runs and
// proposes variants of SKILL.md; each variant is run by hermes' own agent loop on every case;
// gates (the skills scanner under the hub-install policy, a size limit, a fixed front matter,
// the token budget) decide which may be staged; Pareto selection over (pass rate, tokens, wall
// time), with no regression on a case the installed version passed, marks the front.
//
// Nothing here installs anything: a candidate is only measured and staged. The package is
// wired from the command line alone (cmd/hermes); the API server, the MCP server and the
// gateway do not import it.
package evolve

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/hermes-agent/hermes/host/skills/scan"
)

// Limits on evaluation cases.
const (
	MaxCases        = 100     // cases in one evolution
	maxCaseFile     = 1 << 20 // bytes of one evals/*.toml or --eval file
	maxPatternBytes = 1024    // of one must-match regular expression
	maxTaskBytes    = 16 << 10
)

// Case is one evaluation case: a task given to the agent with the skill, and checks on what it
// did. Every check given must hold for the case to pass.
type Case struct {
	Name     string   `toml:"name" json:"name"`
	Task     string   `toml:"task" json:"task"`
	Contains []string `toml:"contains" json:"contains,omitempty"`   // the answer contains each
	Matches  []string `toml:"matches" json:"matches,omitempty"`     // the answer matches each (RE2, at most 1 KiB)
	Calls    []string `toml:"calls" json:"calls,omitempty"`         // each tool is called at least once
	NotCalls []string `toml:"not_calls" json:"not_calls,omitempty"` // no such tool is called
	Rubric   string   `toml:"rubric" json:"rubric,omitempty"`       // a judge model says the answer meets it
	Source   string   `toml:"-" json:"source"`                      // file it came from, or "session …"

	matchRE []*regexp.Regexp
}

type caseFile struct {
	Case []Case `toml:"case"`
}

// ParseCases reads a case file: one or more [[case]] tables. Unknown keys are errors, so a
// misspelt check is not silently skipped.
func ParseCases(data []byte, source string) ([]Case, error) {
	if len(data) > maxCaseFile {
		return nil, fmt.Errorf("eval file %s is larger than %d KiB; split it", source, maxCaseFile>>10)
	}
	var f caseFile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		return nil, fmt.Errorf("eval file %s: %w", source, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("eval file %s: unknown key %s (known: name, task, contains, matches, calls, not_calls, rubric)", source, und[0])
	}
	if len(f.Case) == 0 {
		return nil, fmt.Errorf("eval file %s has no cases: add a [[case]] with task = \"…\" and a check", source)
	}
	for i := range f.Case {
		c := &f.Case[i]
		c.Source = source
		if c.Name == "" {
			c.Name = fmt.Sprintf("%s#%d", path.Base(source), i+1)
		}
		if err := c.compile(); err != nil {
			return nil, fmt.Errorf("eval file %s: case %s: %w", source, c.Name, err)
		}
	}
	return f.Case, nil
}

func (c *Case) compile() error {
	switch {
	case strings.TrimSpace(c.Task) == "":
		return errors.New(`task is missing: say what the agent is asked to do (task = "…")`)
	case len(c.Task) > maxTaskBytes:
		return fmt.Errorf("task is longer than %d KiB", maxTaskBytes>>10)
	case len(c.Contains)+len(c.Matches)+len(c.Calls)+len(c.NotCalls) == 0 && c.Rubric == "":
		return errors.New("no checks: add contains, matches, calls, not_calls or rubric")
	}
	c.matchRE = c.matchRE[:0]
	for _, p := range c.Matches {
		if len(p) > maxPatternBytes {
			return fmt.Errorf("matches: a pattern is longer than %d bytes", maxPatternBytes)
		}
		re, err := regexp.Compile(p)
		if err != nil {
			return fmt.Errorf("matches: %w", err)
		}
		c.matchRE = append(c.matchRE, re)
	}
	return nil
}

// SkillCases returns the cases a skill ships in evals/*.toml, in path order.
func SkillCases(files []scan.File) ([]Case, error) {
	var out []Case
	for _, f := range files {
		if dir, name := path.Split(f.Path); dir != "evals/" || path.Ext(name) != ".toml" {
			continue
		}
		cs, err := ParseCases(f.Data, f.Path)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// LoadCaseFile reads the cases of --eval FILE.
func LoadCaseFile(name string) ([]Case, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("read eval file: %w", err)
	}
	if fi.Size() > maxCaseFile {
		return nil, fmt.Errorf("eval file %s is larger than %d KiB; split it", name, maxCaseFile>>10)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read eval file: %w", err)
	}
	return ParseCases(data, name)
}

// CheckCases checks the set of cases of one evolution: at least one, at most MaxCases, names
// unique.
func CheckCases(cases []Case) error {
	if len(cases) == 0 {
		return errors.New("no evaluation cases: ship evals/*.toml in the skill, or give --eval FILE or --from-sessions")
	}
	if len(cases) > MaxCases {
		return fmt.Errorf("%d evaluation cases, at most %d", len(cases), MaxCases)
	}
	var seen []string
	for _, c := range cases {
		if slices.Contains(seen, c.Name) {
			return fmt.Errorf("two evaluation cases are named %q (%s); rename one", c.Name, c.Source)
		}
		seen = append(seen, c.Name)
	}
	return nil
}

// Outcome is what one run did, as the checks see it.
type Outcome struct {
	Answer string
	Calls  []string // tools called, in order (model-facing names)
}

// check applies the checks except the rubric; it returns why the case failed, "" if it did not.
func (c *Case) check(o Outcome) string {
	for _, s := range c.Contains {
		if !strings.Contains(o.Answer, s) {
			return fmt.Sprintf("answer does not contain %q", s)
		}
	}
	if len(c.matchRE) != len(c.Matches) {
		if err := c.compile(); err != nil {
			return err.Error()
		}
	}
	for i, re := range c.matchRE {
		if !re.MatchString(o.Answer) {
			return fmt.Sprintf("answer does not match %q", c.Matches[i])
		}
	}
	for _, t := range c.Calls {
		if !calledTool(o.Calls, t) {
			return fmt.Sprintf("tool %s was not called", t)
		}
	}
	for _, t := range c.NotCalls {
		if calledTool(o.Calls, t) {
			return fmt.Sprintf("tool %s was called", t)
		}
	}
	return ""
}

// calledTool matches a model-facing name ("files__read") or the plugin form ("files.read").
func calledTool(calls []string, tool string) bool {
	for _, c := range calls {
		if c == tool || strings.Replace(c, "__", ".", 1) == tool {
			return true
		}
	}
	return false
}
