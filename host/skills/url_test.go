package skills

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestInstallURL downloads skills from a real HTTPS server on 127.0.0.1: https only, bounded,
// pinned by --sha256 when given, redirects to plain HTTP refused.
func TestInstallURL(t *testing.T) {
	ctx := context.Background()
	archive, err := os.ReadFile(writeTarGz(t, []tarEntry{{name: "fetched/SKILL.md", body: skillMD("fetched", "1.0.0", "Body.")}}))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(archive)
	digest := hex.EncodeToString(sum[:])
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(archive) }))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/fetched.tar.gz":
			w.Write(archive)
		case "/big.tar.gz":
			w.Write(bytes.Repeat([]byte("x"), MaxDownloadBytes+1))
		case "/downgrade.tar.gz":
			http.Redirect(w, r, plain.URL+"/fetched.tar.gz", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name, url, sha string
		wantErr        string // "" installs
	}{
		{"download", srv.URL + "/fetched.tar.gz?token=secret", "", ""},
		{"pinned", srv.URL + "/fetched.tar.gz", digest, ""},
		{"pin mismatch", srv.URL + "/fetched.tar.gz", strings.Repeat("0", 64), "not the " + strings.Repeat("0", 64) + " given with --sha256"},
		{"bad pin", srv.URL + "/fetched.tar.gz", "abc", "is not 64 hex digits"},
		{"plain http", plain.URL + "/fetched.tar.gz", "", "only https:// URLs are downloaded"},
		{"redirect to http", srv.URL + "/downgrade.tar.gz", "", "refusing a redirect to http://"},
		{"too large", srv.URL + "/big.tar.gz", "", "more than the 64 MiB"},
		{"not found", srv.URL + "/missing.tar.gz", "", "the server answered 404"},
		{"credentials", "https://u:p@127.0.0.1/x.tar.gz", "", "credentials in the URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, db, _ := newTestManager(t)
			m = m.WithHTTPClient(srv.Client())
			res, err := m.Install(ctx, tt.url, InstallOptions{SHA256: tt.sha})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if skills, _ := db.ListSkills(ctx); len(skills) != 0 {
					t.Errorf("installed: %+v", skills)
				}
				assertQuarantineEmpty(t, m)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := "url:" + srv.URL + "/fetched.tar.gz sha256:" + digest; res.Skill.Name != "fetched" || res.Skill.Source != want {
				t.Fatalf("lock %+v, want source %s", res.Skill, want)
			}
			assertQuarantineEmpty(t, m)
		})
	}
	m, _, _ := newTestManager(t)
	if _, err := m.Install(ctx, t.TempDir(), InstallOptions{SHA256: digest}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is not a URL") {
		t.Errorf("--sha256 with a directory: %v", err)
	}
}
