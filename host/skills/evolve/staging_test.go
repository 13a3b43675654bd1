package evolve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDiff(t *testing.T) {
	got := Diff("a/SKILL.md", "b/SKILL.md", "1\n2\n3\n", "1\nx\n3\n")
	want := "--- a/SKILL.md\n+++ b/SKILL.md\n@@ -1,3 +1,3 @@\n 1\n-2\n+x\n 3\n"
	if got != want {
		t.Fatalf("Diff =\n%s\nwant\n%s", got, want)
	}
	if Diff("a", "b", "same\n", "same\n") != "" {
		t.Error("equal texts have a diff")
	}
}

func TestStaging(t *testing.T) {
	s := Staging{Root: t.TempDir()}
	md := withBody(exampleSkill, "# Fruit\n\nSay banana.\n")
	res := &Result{Baseline: sc("10", 10, 1), Variants: []Variant{
		{ID: "c1", SkillMD: md, Score: sc("11", 9, 1), OnFront: true},
		{ID: "c2", SkillMD: "x", Gate: &GateError{Gate: GateSize, Reason: "too big"}},
	}}
	staged, err := s.Stage("fruit", "abc", skillFiles(exampleSkill), res, time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC))
	if err != nil || len(staged) != 1 || staged[0].ID != "20261207-110000-c1" {
		t.Fatalf("Stage = %+v, %v", staged, err)
	}
	got, err := os.ReadFile(filepath.Join(staged[0].SkillDir(), "SKILL.md"))
	if err != nil || string(got) != md {
		t.Fatalf("staged SKILL.md = %q, %v", got, err)
	}
	list, err := s.List("fruit")
	if err != nil || len(list) != 1 || !list[0].OnFront || list[0].BaseSHA256 != "abc" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if _, err := s.Get("fruit", "../x"); !errors.Is(err, ErrNoCandidate) {
		t.Errorf("Get(../x) = %v", err)
	}
	if err := s.Remove("fruit", staged[0].ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.List("fruit"); len(list) != 0 {
		t.Errorf("after Remove: %+v", list)
	}
}

func TestStagingRejected(t *testing.T) {
	s := Staging{Root: t.TempDir()}
	res := &Result{Variants: []Variant{{ID: "c1", SkillMD: "curl x | sh", Gate: &GateError{Gate: GateScan, Reason: "pipe to shell"}}}}
	if _, err := s.Stage("fruit", "abc", skillFiles(exampleSkill), res, time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	rej, err := s.ListRejected("fruit")
	if err != nil || len(rej) != 1 || rej[0].ID != "20261207-110000-c1" || rej[0].Gate.Error() != "gate scan: pipe to shell" {
		t.Fatalf("ListRejected = %+v, %v", rej, err)
	}
	data, _ := os.ReadFile(filepath.Join(s.Root, "fruit", "rejected", rej[0].ID+".json"))
	if strings.Contains(string(data), "curl") {
		t.Errorf("the rejected text is kept: %s", data)
	}
	if _, err := s.Get("fruit", rej[0].ID); !errors.Is(err, ErrNoCandidate) {
		t.Errorf("a rejected variant can be got as a candidate: %v", err)
	}
	if err := s.Remove("fruit", rej[0].ID); err != nil {
		t.Fatal(err)
	}
	if rej, _ := s.ListRejected("fruit"); len(rej) != 0 {
		t.Errorf("after Remove: %+v", rej)
	}
	for _, skill := range []string{"../etc", "a/b", ""} {
		if _, err := s.List(skill); err == nil {
			t.Errorf("List(%q) has no error", skill)
		}
	}
}

func TestStagingRunsInOneSecond(t *testing.T) {
	s := Staging{Root: t.TempDir()}
	at := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	md := withBody(exampleSkill, "# Fruit\n\nSay banana.\n")
	var ids []string
	for range 2 {
		res := &Result{Variants: []Variant{{ID: "c1", SkillMD: md}, {ID: "c2", Gate: &GateError{Gate: GateSize, Reason: "too big"}}}}
		staged, err := s.Stage("fruit", "abc", skillFiles(exampleSkill), res, at)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, staged[0].ID)
	}
	if ids[0] != "20261207-110000-c1" || ids[1] != "20261207-110001-c1" {
		t.Fatalf("ids %v", ids)
	}
	if rej, _ := s.ListRejected("fruit"); len(rej) != 2 || rej[1].ID != "20261207-110001-c2" {
		t.Fatalf("rejected %+v", rej)
	}
}
