package classify

import (
	"strings"
	"testing"
	"time"
)

// TestAdversarialTime checks the time bound on inputs built to make the analysis work hard.
func TestAdversarialTime(t *testing.T) {
	fill := func(unit string) string { return strings.Repeat(unit, 4000/len(unit)) }
	nestFn := func() string {
		var sb strings.Builder
		for i := 0; i < 60; i++ {
			sb.WriteString("f")
			sb.WriteString(string(rune('a' + i%26)))
			sb.WriteString(strings.Repeat("x", i/26))
			sb.WriteString("(){ ")
			if i > 0 {
				prev := "f" + string(rune('a'+(i-1)%26)) + strings.Repeat("x", (i-1)/26)
				sb.WriteString(prev + " a; " + prev + " b; ")
			} else {
				sb.WriteString("$1 -rf /; ")
			}
			sb.WriteString("}; ")
		}
		sb.WriteString("fh" + strings.Repeat("x", 2) + " /")
		return sb.String()
	}
	nestLoops := strings.Repeat("for a in 1 2 3 4; do ", 30) + "rm -rf $a" + strings.Repeat("; done", 30)
	cases := map[string]string{
		"dynamic names":    fill("$X -rf / -r x y z; "),
		"nested subst":     strings.Repeat("$(echo ", 600) + strings.Repeat(")", 600),
		"wide subst":       fill("$(echo $(echo rm) $(printf x)) "),
		"braces":           "echo " + fill("{a,b,c}"),
		"eval chain":       fill("eval "),
		"bash -c chain":    fill("bash -c "),
		"long pipeline":    fill("echo x | "),
		"and chain":        fill("true && "),
		"var doubling":     "x=abcdefgh; " + fill("x=$x$x; ") + " $x",
		"functions":        nestFn(),
		"loops":            nestLoops,
		"ifs splitting":    "IFS=x; y=" + fill("axb") + "; $y",
		"python code":      `python3 -c "` + fill("os.system('rm -rf x'); ") + `"`,
		"xargs":            "printf '" + fill("/ ") + "' | xargs rm -rf",
		"heredoc to sh":    "sh <<'E'\n" + fill("rm -rf x\n") + "E",
		"sed script":       "sed '" + fill("s/a/b/e;") + "' f",
		"metadata numbers": "echo " + fill("1.2.3.4 "),
		"quotes":           fill(`"'$'"`),
		"glob names":       fill("/???/?? -rf /; "),
		"arith":            "echo $((" + fill("1+") + "1))",
		"case":             "case x in " + fill("a) rm -rf x;; ") + " esac",
	}
	for name, cmd := range cases {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			v := Classify(cmd, Rules{Home: testHome})
			d := time.Since(start)
			limit := 100 * time.Millisecond
			if raceEnabled {
				limit *= 10
			}
			if d > limit {
				t.Errorf("took %v on %d bytes (%s)", d, len(cmd), v.Class)
			}
			t.Logf("%v %s %d findings", d, v.Class, len(v.Findings))
		})
	}
}
