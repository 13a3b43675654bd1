package evolve

import (
	"slices"
	"testing"
	"time"
)

func sc(passed string, tokens int, wall time.Duration) Score {
	s := Score{Tokens: tokens, Wall: wall, Complete: true}
	for _, c := range passed {
		s.Passed = append(s.Passed, c == '1')
	}
	return s
}

func TestFront(t *testing.T) {
	base := sc("100", 100, 10)
	tests := []struct {
		name  string
		cands []Score
		want  []bool
	}{
		{"better on pass rate", []Score{sc("110", 200, 20)}, []bool{true}},
		{"same pass rate, cheaper", []Score{sc("100", 50, 10)}, []bool{true}},
		{"dominated by the installed version", []Score{sc("100", 150, 10)}, []bool{false}},
		{"equal to the installed version", []Score{sc("100", 100, 10)}, []bool{false}},
		{"regresses on a passing case", []Score{sc("011", 10, 1)}, []bool{false}},
		{"incomplete (budget)", []Score{{Passed: []bool{true, true}, Tokens: 1, Complete: false}}, []bool{false}},
		{"trade-off: both on the front", []Score{sc("111", 300, 30), sc("110", 90, 9)}, []bool{true, true}},
		{"one dominates the other", []Score{sc("111", 90, 9), sc("110", 95, 9)}, []bool{true, false}},
		{"a regressing one does not push others off", []Score{sc("011", 1, 1), sc("110", 200, 20)}, []bool{false, true}},
		{"ties are both kept", []Score{sc("110", 90, 9), sc("101", 90, 9)}, []bool{true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.cands)
			if got := Front(base, tt.cands); !slices.Equal(got, tt.want) {
				t.Errorf("Front = %v, want %v", got, tt.want)
			}
			for i := range in {
				if !slices.Equal(in[i].Passed, tt.cands[i].Passed) {
					t.Error("Front changed its input")
				}
			}
		})
	}
}
