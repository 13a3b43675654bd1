package install

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/host/testplugins"
)

func replaceIn(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", file, old)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Installing a new version of a skill whose tool is refused keeps the installed version's tool
// installed, as it was (the same lock entry: unsigned as the user allowed, same grants), and
// callable; the skill stays at the old version. Through the real installer and registry, with
// the csv-report skill's real WebAssembly tool.
func TestSkillUpgradeWithARefusedToolKeepsTheOldTools(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, nil)
	testplugins.Dir(t, "testdata/skills/benign/csv-report/tools/csvstats")
	v1 := testplugins.CopyTree(t, filepath.Join(testplugins.Root(), "testdata", "skills", "benign", "csv-report"))
	home := t.TempDir()
	mgr := skills.New(f.db, filepath.Join(home, "skills"), filepath.Join(home, "cache", "quarantine"))
	allowed := mgr.WithTools(SkillTools{In: f.in, Options: Options{AllowUnsigned: true}})
	if _, err := allowed.Install(ctx, v1, skills.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	before, err := f.reg.Record(ctx, "csvstats")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.in.cfg.Workspace, "data.csv"), []byte("a,b\n1,x\n2,y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantOld := func(t *testing.T) {
		t.Helper()
		rec, err := f.reg.Record(ctx, "csvstats")
		if err != nil {
			t.Fatalf("the old version's tool is gone: %v", err)
		}
		if rec.Version != before.Version || rec.WasmSHA256 != before.WasmSHA256 || rec.Signer != "" || string(rec.Granted) != string(before.Granted) || rec.Source != before.Source {
			t.Errorf("tool lock changed:\n%+v\nwant\n%+v", rec, before)
		}
		tools, err := f.reg.Tools(ctx)
		if err != nil || len(tools) != 1 || tools[0].Name != "csvstats.columns" {
			t.Errorf("tools offered: %+v %v", tools, err)
		}
		out, err := f.reg.Call(ctx, "csvstats.columns", []byte(`{"path":"data.csv"}`))
		if err != nil || !strings.Contains(string(out), `"name":"a"`) {
			t.Errorf("call the old tool: %s %v", out, err)
		}
		sk, err := f.db.GetSkill(ctx, "csv-report")
		if err != nil || sk.Version != "0.4.1" {
			t.Errorf("skill: %+v %v", sk, err)
		}
	}
	wantOld(t)

	next := func(t *testing.T, version, toolVersion string) string {
		dir := testplugins.CopyTree(t, v1)
		replaceIn(t, filepath.Join(dir, "SKILL.md"), "0.4.1", version)
		replaceIn(t, filepath.Join(dir, "tools", "csvstats", "plugin.toml"), `"0.4.1"`, fmt.Sprintf("%q", toolVersion))
		return dir
	}
	t.Run("unsigned without --allow-unsigned", func(t *testing.T) {
		v2 := next(t, "0.5.0", "0.4.2")
		_, err := mgr.WithTools(SkillTools{In: f.in}).Install(ctx, v2, skills.InstallOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "install tool csvstats of skill csv-report: ") || !strings.Contains(err.Error(), "csvstats 0.4.2 is not signed") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("err = %v", err)
		}
		wantOld(t)
	})
	t.Run("one tool updated, the next refused at review", func(t *testing.T) {
		v2 := next(t, "0.5.0", "0.4.2")
		// tools/csvstats is installed (updated to 0.4.2) before tools/zzextra is refused.
		extra := filepath.Join(v2, "tools", "zzextra")
		if err := os.Rename(testplugins.CopyTree(t, filepath.Join(v2, "tools", "csvstats")), extra); err != nil {
			t.Fatal(err)
		}
		replaceIn(t, filepath.Join(extra, "plugin.toml"), `"csvstats"`, `"zzextra"`)
		var asked []string
		tools := SkillTools{In: f.in, Options: Options{AllowUnsigned: true}, Consent: func(p *Plan) error {
			asked = append(asked, p.Name())
			if p.Name() == "zzextra" {
				return fmt.Errorf("not granted")
			}
			return nil
		}}
		_, err := mgr.WithTools(tools).Install(ctx, v2, skills.InstallOptions{})
		if err == nil || !strings.Contains(err.Error(), "install tool zzextra of skill csv-report: not granted") {
			t.Fatalf("err = %v", err)
		}
		if !slices.Equal(asked, []string{"csvstats", "zzextra"}) {
			t.Errorf("asked about %v", asked)
		}
		if _, err := f.reg.Record(ctx, "zzextra"); err == nil {
			t.Error("the refused version's new tool stays installed")
		}
		wantOld(t)
	})
	t.Run("then the upgrade goes through, and a tool no longer shipped is removed", func(t *testing.T) {
		v2 := next(t, "0.5.0", "0.4.2")
		if _, err := allowed.Install(ctx, v2, skills.InstallOptions{}); err != nil {
			t.Fatal(err)
		}
		if rec, err := f.reg.Record(ctx, "csvstats"); err != nil || rec.Version != "0.4.2" {
			t.Fatalf("tool after the upgrade: %+v %v", rec, err)
		}
		v3 := next(t, "0.6.0", "0.4.2")
		if err := os.RemoveAll(filepath.Join(v3, "tools")); err != nil {
			t.Fatal(err)
		}
		if _, err := allowed.Install(ctx, v3, skills.InstallOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.Record(ctx, "csvstats"); err == nil {
			t.Error("a tool the new version no longer ships stays installed")
		}
	})
}
