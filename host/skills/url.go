package skills

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/host/skills/scan"
)

// MaxDownloadBytes bounds a skill archive downloaded from a URL (compressed); what it
// expands to is bounded by MaxFiles, MaxFileBytes and MaxTotalBytes.
const MaxDownloadBytes = 64 << 20

// defaultHTTPClient downloads skill archives: HTTPS only, redirects too, bounded in time.
var defaultHTTPClient = &http.Client{Timeout: 2 * time.Minute}

// WithHTTPClient returns a copy of m that downloads skills from URLs with c (tests give one
// that trusts their server's certificate). Redirects to anything but HTTPS are refused
// whatever c says. Default: a client with a two-minute timeout.
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
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		return nil, "", "", invalidf("skill source %s is not a valid URL", raw)
	case u.Scheme != "https":
		return nil, "", "", invalidf("skill source %s: only https:// URLs are downloaded; fetch it yourself and install the file", raw)
	case u.User != nil:
		return nil, "", "", invalidf("skill source %s: credentials in the URL are not accepted", u.Redacted())
	}
	want = strings.ToLower(strings.TrimPrefix(want, "sha256:"))
	if want != "" && (len(want) != 64 || strings.Trim(want, "0123456789abcdef") != "") {
		return nil, "", "", invalidf("--sha256 %q is not 64 hex digits", want)
	}
	client := *m.httpClient()
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if req.URL.Scheme != "https" {
			return fmt.Errorf("refusing a redirect to %s://%s: skills are downloaded over HTTPS only", req.URL.Scheme, req.URL.Host)
		}
		return nil
	}
	label := u.Scheme + "://" + u.Host + u.EscapedPath() // no query: it may hold a token
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", "", fmt.Errorf("download skill %s: %w", label, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", "", fmt.Errorf("download skill %s: %w", label, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", "", invalidf("download skill %s: the server answered %s", label, resp.Status)
	}
	if resp.ContentLength > MaxDownloadBytes {
		return nil, "", "", invalidf("download skill %s: %d bytes, more than the %d MiB a skill archive may be", label, resp.ContentLength, MaxDownloadBytes>>20)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxDownloadBytes+1))
	if err != nil {
		return nil, "", "", fmt.Errorf("download skill %s: %w", label, err)
	}
	if len(data) > MaxDownloadBytes {
		return nil, "", "", invalidf("download skill %s: more than the %d MiB a skill archive may be", label, MaxDownloadBytes>>20)
	}
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

func (m *Manager) httpClient() *http.Client {
	if m.http != nil {
		return m.http
	}
	return defaultHTTPClient
}
