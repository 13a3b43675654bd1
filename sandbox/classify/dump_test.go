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
	for _, c := range loadCorpus(t, name) {
		v := Classify(c, Rules{Home: testHome})
		var cats []string
		for _, f := range v.Findings {
			cats = append(cats, f.Category+": "+f.Reason)
		}
		fmt.Printf("%-9s %-60q | %s\n", v.Class, c, strings.Join(cats, " ; "))
	}
}
