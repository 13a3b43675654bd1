package skills

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/host/skills/scan"
)

// corpus is a path in testdata/skills.
func corpus(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "testdata", "skills"}, parts...)...)
}

// corpusCases is the expected judgement of every skill in testdata/skills: the verdict, and
// categories that must be among the findings at that verdict's severity. For the benign ones,
// reasons lists the exact reason of every supply-chain-unpinned finding, in order: the
// package names must be the packages, not the prose around them.
var corpusCases = []struct {
	dir        string
	verdict    scan.Severity
	categories []scan.Category
	reasons    []string
}{
	{"benign/csv-report", scan.Safe, nil, nil},
	{"benign/git-commit-helper", scan.Safe, nil, nil},
	{"benign/release-notes", scan.Safe, nil, nil},
	{"benign/weather-brief", scan.Safe, nil, nil},
	// Published-style skills (issue 18): documentation of dangerous things, unpinned
	// prerequisites, an HTML page with hidden containers, no front matter.
	{"benign/agent-cli-reference", scan.Advisory, []scan.Category{scan.PromptInjection, scan.Destructive, scan.SupplyChain, scan.Exfiltration}, nil},
	{"benign/artifact-viewer", scan.Safe, nil, nil},
	{"benign/coding-agent-codex", scan.Advisory, []scan.Category{scan.SupplyChain}, []string{
		"installs @openai/codex without pinning a version",
		"installs openai without pinning a version"}},
	{"benign/mcp-server-builder", scan.Advisory, []scan.Category{scan.SupplyChain}, []string{
		"installs mcp without pinning a version",
		"installs @modelcontextprotocol/sdk, zod without pinning a version",
		"installs anthropic, mcp without pinning a version",
		"installs mcp, httpx without pinning a version",
		"installs anthropic, mcp without pinning a version",
		"requires anthropic>=0.39.0 without pinning a version",
		"requires mcp>=1.1.0 without pinning a version"}},
	{"benign/session-search-notes", scan.Safe, nil, nil},

	{"malicious/credential-literals", scan.Dangerous, []scan.Category{scan.Credential}, nil},
	{"malicious/destructive-cleanup", scan.Dangerous, []scan.Category{scan.Destructive}, nil},
	{"malicious/exfil-env-dump", scan.Dangerous, []scan.Category{scan.Exfiltration}, nil},
	{"malicious/exfil-markdown-image", scan.Dangerous, []scan.Category{scan.Exfiltration}, nil},
	{"malicious/exfil-ssh-key", scan.Dangerous, []scan.Category{scan.Exfiltration}, nil},
	{"malicious/injection-override", scan.Dangerous, []scan.Category{scan.PromptInjection}, nil},
	{"malicious/obfuscation-hex", scan.Dangerous, []scan.Category{scan.Obfuscation, scan.SupplyChain}, nil},
	{"malicious/persistence-cron-rc", scan.Dangerous, []scan.Category{scan.Persistence}, nil},
	{"malicious/reverse-shell", scan.Dangerous, []scan.Category{scan.ReverseShell}, nil},
	{"malicious/supply-chain-curl-sh", scan.Dangerous, []scan.Category{scan.SupplyChain}, nil},
	{"malicious/supply-chain-unpinned", scan.Caution, []scan.Category{scan.SupplyChain}, nil},
	{"malicious/tunnel-expose", scan.Dangerous, []scan.Category{scan.ReverseShell}, nil},
	// evasions
	{"malicious/evasion-base64-shell", scan.Dangerous, []scan.Category{scan.Obfuscation, scan.SupplyChain}, nil},
	{"malicious/evasion-html-comment", scan.Dangerous, []scan.Category{scan.PromptInjection, scan.SupplyChain}, nil},
	{"malicious/evasion-lookalikes", scan.Dangerous, []scan.Category{scan.PromptInjection, scan.SupplyChain}, nil},
	{"malicious/evasion-split-strings", scan.Dangerous, []scan.Category{scan.Exfiltration}, nil},
	{"malicious/evasion-zero-width", scan.Dangerous, []scan.Category{scan.PromptInjection, scan.Exfiltration}, nil},
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
			man, err := ParseSkillMDFor(fileData(files, "SKILL.md"), filepath.Base(tc.dir))
			if err != nil {
				t.Fatal(err)
			}
			r := scan.Scan(files, scan.Options{DeclaredEnv: man.EnvNames()})
			if r.Verdict != tc.verdict {
				t.Fatalf("verdict %s, want %s:\n%s", r.Verdict, tc.verdict, findingsText(r.Findings))
			}
			if strings.HasPrefix(tc.dir, "benign/") {
				var reasons []string
				for _, f := range r.Findings {
					if f.Rule == "supply-chain-unpinned" {
						reasons = append(reasons, f.Reason)
					}
				}
				if !slices.Equal(reasons, tc.reasons) {
					t.Errorf("unpinned-install reasons:\n  %s\nwant\n  %s", strings.Join(reasons, "\n  "), strings.Join(tc.reasons, "\n  "))
				}
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
			if strings.HasPrefix(tc.dir, "benign/") {
				if err != nil {
					t.Fatal(err)
				}
				if res.Skill.Verdict != tc.verdict || res.Skill.Trust != TrustCommunity || res.Forced || res.Decision != Allow {
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
