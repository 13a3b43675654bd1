package classify

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestDumpCorpus(t *testing.T) {
	name := os.Getenv("CLASSIFY_DUMP")
	if name == "" {
		t.Skip()
	}
	debugPanics = true
	defer func() { debugPanics = false }()
	var cmds []string
	if strings.HasPrefix(name, "/") {
		b, _ := os.ReadFile(name)
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				cmds = append(cmds, strings.ReplaceAll(l, "⏎", "\n"))
			}
		}
	} else {
		cmds = loadCorpus(t, name)
	}
	for _, c := range cmds {
		v := Classify(c, Rules{Home: testHome})
		var cats []string
		for _, f := range v.Findings {
			cats = append(cats, f.Category+": "+f.Reason)
		}
		fmt.Printf("%-9s %-60q | %s\n", v.Class, c, strings.Join(cats, " ; "))
	}
}
