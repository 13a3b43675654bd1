package evolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/hermes-agent/hermes/host/skills/scan"
)

// Options of one evolution.
type Options struct {
	Iterations int // rounds of proposals (default 5)
	Candidates int // variants proposed per round (default 4)
	Optimizer  Model
	// Progress, if not nil, is told what happens, one line at a time.
	Progress func(string)
}

// Variant is one proposed SKILL.md and what became of it.
type Variant struct {
	ID      string     `json:"id"` // c1, c2, … in order of proposal
	SkillMD string     `json:"-"`
	Gate    *GateError `json:"gate,omitempty"` // set: refused, never staged
	Score   Score      `json:"score"`
	Traces  []Trace    `json:"-"`
	OnFront bool       `json:"on_front"`
}

// Result is an evolution's outcome: the installed version's score and every variant.
type Result struct {
	Baseline       Score     `json:"baseline"`
	BaselineTraces []Trace   `json:"-"`
	Variants       []Variant `json:"variants"`
	Tokens         int       `json:"tokens"`
	Stopped        string    `json:"stopped,omitempty"` // why it ended early ("token budget spent")
}

// Staged returns the variants that passed every gate.
func (r *Result) Staged() []Variant {
	var out []Variant
	for _, v := range r.Variants {
		if v.Gate == nil {
			out = append(out, v)
		}
	}
	return out
}

// Evolve measures the installed skill (files, as read by skills.ReadDir) on cases, then asks
// the optimizer for variants, gates and measures each, and marks the Pareto front. It installs
// nothing. When the runner's budget runs out it stops and returns what it measured; a variant
// whose measurement the budget cut short fails the budget gate.
func Evolve(ctx context.Context, r *Runner, installed []scan.File, cases []Case, opts Options) (*Result, error) {
	if err := CheckCases(cases); err != nil {
		return nil, err
	}
	if opts.Iterations <= 0 {
		opts.Iterations = 5
	}
	if opts.Candidates <= 0 {
		opts.Candidates = 4
	}
	say := func(format string, args ...any) {
		if opts.Progress != nil {
			opts.Progress(fmt.Sprintf(format, args...))
		}
	}
	orig := string(skillFile(installed))
	res := &Result{}
	var err error
	defer func() { res.Tokens = r.Meter.Tokens() }()
	if res.Baseline, res.BaselineTraces, err = r.Evaluate(ctx, orig, cases); err != nil {
		return nil, err
	}
	say("installed version: %d/%d cases passed, %d tokens", count(res.Baseline.Passed), len(cases), res.Baseline.Tokens)
	if !res.Baseline.Complete {
		res.Stopped = ErrBudget.Error() + " while measuring the installed version"
		return res, nil
	}
	parent, parentTraces := orig, res.BaselineTraces
	for it := 0; it < opts.Iterations; it++ {
		for k := 0; k < opts.Candidates; k++ {
			if r.Meter.Exhausted() {
				res.Stopped = ErrBudget.Error()
				return res, nil
			}
			var n atomic.Int64
			text, err := r.propose(ctx, opts.Optimizer, parent, cases, parentTraces, &n)
			if errors.Is(err, ErrBudget) {
				res.Stopped = ErrBudget.Error()
				return res, nil
			}
			if err != nil {
				return res, fmt.Errorf("optimizer: %w", err)
			}
			v := Variant{ID: fmt.Sprintf("c%d", len(res.Variants)+1), SkillMD: text}
			if err := CheckGates(installed, []byte(text)); err != nil {
				var ge *GateError
				if !errors.As(err, &ge) {
					return res, err
				}
				v.Gate = ge
				say("%s rejected: %s", v.ID, ge.Error())
				res.Variants = append(res.Variants, v)
				continue
			}
			if v.Score, v.Traces, err = r.Evaluate(ctx, text, cases); err != nil {
				return res, err
			}
			if !v.Score.Complete {
				v.Gate = &GateError{Gate: GateBudget, Reason: fmt.Sprintf("the token budget ran out after %d of %d cases", len(v.Score.Passed), len(cases))}
				say("%s rejected: %s", v.ID, v.Gate.Error())
			} else {
				say("%s: %d/%d cases passed, %d tokens", v.ID, count(v.Score.Passed), len(cases), v.Score.Tokens)
			}
			res.Variants = append(res.Variants, v)
		}
		res.markFront()
		// The next round improves on the front member with the best pass rate.
		best := -1
		for i, v := range res.Variants {
			if v.OnFront && (best < 0 || v.Score.PassRate() > res.Variants[best].Score.PassRate()) {
				best = i
			}
		}
		if best >= 0 {
			parent, parentTraces = res.Variants[best].SkillMD, res.Variants[best].Traces
		}
	}
	return res, nil
}

func (r *Result) markFront() {
	var idx []int
	var scores []Score
	for i, v := range r.Variants {
		if v.Gate == nil {
			idx, scores = append(idx, i), append(scores, v.Score)
		}
	}
	for j, on := range Front(r.Baseline, scores) {
		r.Variants[idx[j]].OnFront = on
	}
}

func skillFile(files []scan.File) []byte {
	for _, f := range files {
		if f.Path == "SKILL.md" {
			return f.Data
		}
	}
	return nil
}

func count(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// maxTraceChars bounds what of one failing trace the optimizer is shown.
const maxTraceChars = 4000

// propose asks the optimizer for one variant of parent.
func (r *Runner) propose(ctx context.Context, m Model, parent string, cases []Case, traces []Trace, n *atomic.Int64) (string, error) {
	var b strings.Builder
	b.WriteString("Improve this agent skill (a SKILL.md) so that the agent passes more of its evaluation cases, using fewer tokens. ")
	b.WriteString("Keep the front matter (between the --- lines) exactly as it is; change only the body. ")
	b.WriteString("Reply with the complete new SKILL.md and nothing else.\n\n<skill>\n")
	b.WriteString(parent)
	b.WriteString("\n</skill>\n\n<cases>\n")
	for i, c := range cases {
		status := "not run"
		if i < len(traces) {
			status = "passed"
			if !traces[i].Passed {
				status = "FAILED: " + traces[i].Why
			}
		}
		fmt.Fprintf(&b, "- %s: %s [%s]\n", c.Name, oneLine(c.Task), status)
	}
	b.WriteString("</cases>\n")
	for _, t := range traces {
		if t.Passed {
			continue
		}
		fmt.Fprintf(&b, "\n<trace case=%q>\n%s\n</trace>\n", t.Case, traceText(t))
	}
	text, _, err := r.run(ctx, m, "You are an optimizer of instructions for AI agents.", b.String(), nil, []string{"\x00none"}, n)
	if err != nil {
		return "", err
	}
	return unfence(text), nil
}

// traceText renders a run's messages, tool calls and results, bounded.
func traceText(t Trace) string {
	var b strings.Builder
	for _, m := range t.Messages {
		fmt.Fprintf(&b, "%s: %s\n", m.Role, m.Content)
		for _, tc := range m.ToolCalls {
			fmt.Fprintf(&b, "  call %s %s\n", tc.Name, tc.Arguments)
		}
	}
	s := b.String()
	if len(s) > maxTraceChars {
		s = s[:maxTraceChars/2] + "\n…\n" + s[len(s)-maxTraceChars/2:]
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// unfence takes the SKILL.md out of a reply that wrapped it in a ``` block.
func unfence(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "```") {
		return t + "\n"
	}
	_, rest, ok := strings.Cut(t, "\n")
	if !ok {
		return t + "\n"
	}
	if i := strings.LastIndex(rest, "```"); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest) + "\n"
}
