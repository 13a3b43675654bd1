package evolve

import "time"

// Score is how one version of a skill did on the cases, in case order.
type Score struct {
	Passed   []bool        `json:"passed"`
	Tokens   int           `json:"tokens"`
	Wall     time.Duration `json:"wall_ns"`
	Complete bool          `json:"complete"` // every case was run (false when the budget ran out)
}

// PassRate is the share of cases passed, 0 when none were run.
func (s Score) PassRate() float64 {
	if len(s.Passed) == 0 {
		return 0
	}
	n := 0
	for _, p := range s.Passed {
		if p {
			n++
		}
	}
	return float64(n) / float64(len(s.Passed))
}

// Regresses reports whether s fails a case base passed (or did not run it).
func (s Score) Regresses(base Score) bool {
	for i, ok := range base.Passed {
		if ok && (i >= len(s.Passed) || !s.Passed[i]) {
			return true
		}
	}
	return false
}

// dominates: a is at least as good as b on pass rate, tokens and time, and better on one.
func dominates(a, b Score) bool {
	pa, pb := a.PassRate(), b.PassRate()
	if pa < pb || a.Tokens > b.Tokens || a.Wall > b.Wall {
		return false
	}
	return pa > pb || a.Tokens < b.Tokens || a.Wall < b.Wall
}

// noBetter: c improves on base in none of pass rate, tokens and time.
func noBetter(c, base Score) bool {
	return c.PassRate() <= base.PassRate() && c.Tokens >= base.Tokens && c.Wall >= base.Wall
}

// Front marks the candidates on the Pareto front over (pass rate ↑, tokens ↓, wall time ↓).
// A candidate that was not run on every case, or fails a case the installed version (base)
// passed, is never on it; nor is one another eligible candidate dominates, or that is no better
// than the installed version on any of the three.
func Front(base Score, cands []Score) []bool {
	eligible := make([]bool, len(cands))
	for i, c := range cands {
		eligible[i] = c.Complete && len(c.Passed) == len(base.Passed) && !c.Regresses(base)
	}
	out := make([]bool, len(cands))
	for i, c := range cands {
		if !eligible[i] || noBetter(c, base) {
			continue
		}
		out[i] = true
		for j, d := range cands {
			if j != i && eligible[j] && dominates(d, c) {
				out[i] = false
				break
			}
		}
	}
	return out
}
