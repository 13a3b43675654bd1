package skills

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hermes-agent/hermes/host/skills/scan"
)

// corpus is a path in testdata/skills.
func corpus(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "testdata", "skills"}, parts...)...)
}

// corpusCases is the expected judgement of every skill in testdata/skills: the verdict, and
// categories that must be among the findings at that verdict's severity.
var corpusCases = []struct {
	dir        string
	verdict    scan.Severity
	categories []scan.Category
}{
	{"benign/csv-report", scan.Safe, nil},
	{"benign/git-commit-helper", scan.Safe, nil},
	{"benign/release-notes", scan.Safe, nil},
	{"benign/weather-brief", scan.Safe, nil},

	{"malicious/credential-literals", scan.Dangerous, []scan.Category{scan.Credential}},
	{"malicious/destructive-cleanup", scan.Dangerous, []scan.Category{scan.Destructive}},
	{"malicious/exfil-env-dump", scan.Dangerous, []scan.Category{scan.Exfiltration}},
	{"malicious/exfil-markdown-image", scan.Dangerous, []scan.Category{scan.Exfiltration}},
	{"malicious/exfil-ssh-key", scan.Dangerous, []scan.Category{scan.Exfiltration}},
	{"malicious/injection-override", scan.Dangerous, []scan.Category{scan.PromptInjection}},
	{"malicious/obfuscation-hex", scan.Dangerous, []scan.Category{scan.Obfuscation, scan.SupplyChain}},
	{"malicious/persistence-cron-rc", scan.Dangerous, []scan.Category{scan.Persistence}},
	{"malicious/reverse-shell", scan.Dangerous, []scan.Category{scan.ReverseShell}},
	{"malicious/supply-chain-curl-sh", scan.Dangerous, []scan.Category{scan.SupplyChain}},
	{"malicious/supply-chain-unpinned", scan.Caution, []scan.Category{scan.SupplyChain}},
	{"malicious/tunnel-expose", scan.Dangerous, []scan.Category{scan.ReverseShell}},
	// evasions
	{"malicious/evasion-base64-shell", scan.Dangerous, []scan.Category{scan.Obfuscation, scan.SupplyChain}},
	{"malicious/evasion-html-comment", scan.Dangerous, []scan.Category{scan.PromptInjection, scan.SupplyChain}},
	{"malicious/evasion-lookalikes", scan.Dangerous, []scan.Category{scan.PromptInjection, scan.SupplyChain}},
	{"malicious/evasion-split-strings", scan.Dangerous, []scan.Category{scan.Exfiltration}},
	{"malicious/evasion-zero-width", scan.Dangerous, []scan.Category{scan.PromptInjection, scan.Exfiltration}},
}

// TestCorpusVerdicts scans every corpus skill as the installer does and checks its verdict and
// categories. Every directory of the corpus must be listed, so a new fixture is not forgotten.
func TestCorpusVerdicts(t *testing.T) {
	var listed []string
	for _, tc := range corpusCases {
		listed = append(listed, tc.dir)
		t.Run(tc.dir, func(t *testing.T) {
			files, err := loadDir(corpus(tc.dir), tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			man, err := ParseSkillMD(fileData(files, "SKILL.md"))
			if err != nil {
				t.Fatal(err)
			}
			r := scan.Scan(files, scan.Options{DeclaredEnv: man.EnvNames()})
			if r.Verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s:\n%s", r.Verdict, tc.verdict, findingsText(r.Findings))
			}
			got := r.Categories(tc.verdict)
			for _, c := range tc.categories {
				if !slices.Contains(got, c) {
					t.Errorf("no %s finding at %s; got %v:\n%s", c, tc.verdict, got, findingsText(r.Findings))
				}
			}
			for _, f := range r.Findings {
				if f.File == "" || f.Line < 0 || f.Rule == "" || f.Reason == "" {
					t.Errorf("incomplete finding %+v", f)
				}
			}
		})
	}
	for _, group := range []string{"benign", "malicious"} {
		entries, err := os.ReadDir(corpus(group))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if !slices.Contains(listed, group+"/"+e.Name()) {
				t.Errorf("corpus skill %s/%s has no expected verdict in corpusCases", group, e.Name())
			}
		}
	}
}

// TestCorpusInstall installs every corpus skill with the default trust: the benign ones go in,
// every malicious one is refused and leaves nothing behind.
func TestCorpusInstall(t *testing.T) {
	ctx := context.Background()
	for _, tc := range corpusCases {
		t.Run(tc.dir, func(t *testing.T) {
			m, db, root := newTestManager(t)
			res, err := m.Install(ctx, corpus(tc.dir), InstallOptions{})
			if tc.verdict == scan.Safe {
				if err != nil {
					t.Fatal(err)
				}
				if res.Skill.Verdict != scan.Safe || res.Skill.Trust != TrustCommunity {
					t.Fatalf("installed %+v", res.Skill)
				}
				return
			}
			var blocked *BlockedError
			if !errors.As(err, &blocked) || !errors.Is(err, ErrBlocked) {
				t.Fatalf("install of %s: err = %v, want a BlockedError", tc.dir, err)
			}
			if blocked.Verdict != tc.verdict || len(blocked.Findings) == 0 {
				t.Errorf("blocked with verdict %s and %d findings", blocked.Verdict, len(blocked.Findings))
			}
			if skills, _ := db.ListSkills(ctx); len(skills) != 0 {
				t.Errorf("a blocked skill was recorded: %+v", skills)
			}
			if entries, _ := os.ReadDir(root); len(entries) != 0 {
				t.Errorf("a blocked skill left files in %s: %v", root, entries)
			}
			assertQuarantineEmpty(t, m)
			log, _ := db.AuditLog(ctx, "", 0)
			if len(log) != 1 || log[0].Event != "skill.block" {
				t.Errorf("audit log %+v, want one skill.block", log)
			}
		})
	}
}

func findingsText(fs []scan.Finding) string {
	var s string
	for _, f := range fs {
		s += "  " + f.String() + "\n"
	}
	return s
}
