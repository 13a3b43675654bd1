package skills

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/hermes-agent/hermes/host/download"
	"github.com/hermes-agent/hermes/host/skills/scan"
)

// MaxDownloadBytes bounds a skill archive downloaded from a URL (compressed); what it
// expands to is bounded by MaxFiles, MaxFileBytes and MaxTotalBytes.
const MaxDownloadBytes = 64 << 20

// WithHTTPClient returns a copy of m that downloads skills from URLs with c (tests give one
// that trusts their server's certificate). Redirects to anything but HTTPS are refused
// whatever c says. Default: download.DefaultClient.
func (m *Manager) WithHTTPClient(c *http.Client) *Manager {
	cp := *m
	cp.http = c
	return &cp
}

// isURL reports whether a source is a URL rather than a path.
func isURL(source string) bool {
	return strings.HasPrefix(source, "https://") || strings.HasPrefix(source, "http://")
}

// fetchURL downloads a .tar.gz skill archive over HTTPS, at most MaxDownloadBytes, checks it
// against want (a hex SHA-256, when given) and reads it like a local archive.
func (m *Manager) fetchURL(ctx context.Context, raw, want string) ([]scan.File, string, string, error) {
	want = strings.ToLower(strings.TrimPrefix(want, "sha256:"))
	if want != "" && (len(want) != 64 || strings.Trim(want, "0123456789abcdef") != "") {
		return nil, "", "", invalidf("--sha256 %q is not 64 hex digits", want)
	}
	data, label, err := download.HTTPS(ctx, download.Request{URL: raw, What: "skill", Max: MaxDownloadBytes, Noun: "a skill archive", Client: m.http})
	var refused *download.RefusedError
	if errors.As(err, &refused) {
		return nil, "", "", invalidf("%s", refused.Msg)
	}
	if err != nil {
		return nil, "", "", err
	}
	u, _ := url.Parse(raw)
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if want != "" && got != want {
		return nil, "", "", invalidf("download skill %s: sha256 is %s, not the %s given with --sha256; refusing it", label, got, want)
	}
	if err := os.MkdirAll(m.quarantine, 0o700); err != nil {
		return nil, "", "", fmt.Errorf("create quarantine directory: %w", err)
	}
	tmp, err := os.CreateTemp(m.quarantine, "download-*.tar.gz")
	if err != nil {
		return nil, "", "", fmt.Errorf("download skill %s: %w", label, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, "", "", fmt.Errorf("download skill %s: %w", label, err)
	}
	files, top, err := loadTarGz(tmp.Name(), label)
	if err != nil {
		return nil, "", "", err
	}
	return files, "url:" + label + " sha256:" + got, archiveDir(top, path.Base(u.Path)), nil
}
