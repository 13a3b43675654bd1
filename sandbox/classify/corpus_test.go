package classify

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testHome = "/home/alice"

// loadCorpus reads testdata/commands/<name>: one command per line, # comments, blank lines
// ignored, ⏎ standing for a newline inside a command.
func loadCorpus(tb testing.TB, name string) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "..", "testdata", "commands", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.ReplaceAll(line, "⏎", "\n"))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestDangerousCorpus(t *testing.T) {
	cmds := loadCorpus(t, "dangerous.txt")
	if len(cmds) < 300 {
		t.Fatalf("dangerous.txt has %d commands, want at least 300", len(cmds))
	}
	missed := 0
	for _, c := range cmds {
		if v := Classify(c, Rules{Home: testHome}); v.Class < Dangerous {
			missed++
			t.Logf("missed: %q", c)
		}
	}
	rate := 1 - float64(missed)/float64(len(cmds))
	t.Logf("dangerous.txt: %d commands, detection rate %.2f%% (%d missed)", len(cmds), 100*rate, missed)
	if rate < 0.99 {
		t.Errorf("detection rate %.2f%% < 99%%", 100*rate)
	}
}

func TestHardlineCorpus(t *testing.T) {
	cmds := loadCorpus(t, "hardline.txt")
	if len(cmds) < 60 {
		t.Fatalf("hardline.txt has %d commands, want at least 60", len(cmds))
	}
	for _, c := range cmds {
		if v := Classify(c, Rules{Home: testHome}); v.Class != Hardline {
			t.Errorf("not hardline (%s): %q %v", v.Class, c, v.Findings)
		}
	}
}

func TestBenignCorpus(t *testing.T) {
	cmds := loadCorpus(t, "benign.txt")
	if len(cmds) < 300 {
		t.Fatalf("benign.txt has %d commands, want at least 300", len(cmds))
	}
	fp := 0
	for _, c := range cmds {
		if v := Classify(c, Rules{Home: testHome}); v.Class != Safe {
			fp++
			t.Logf("false positive: %q -> %s %v", c, v.Class, v.Findings)
		}
	}
	rate := float64(fp) / float64(len(cmds))
	t.Logf("benign.txt: %d commands, false-positive rate %.2f%% (%d)", len(cmds), 100*rate, fp)
	if rate > 0.01 {
		t.Errorf("false-positive rate %.2f%% > 1%%", 100*rate)
	}
}
