// Package download fetches one file over HTTPS for an install: a skill archive from a URL, a
// module an Extism manifest names by URL. HTTPS only, redirects too; no credentials in the
// URL; bounded in size; the environment's proxy is used (http.DefaultTransport), as for every
// install download. The URL's query is never shown: it may hold a token.
package download

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultClient downloads with a two-minute timeout over http.DefaultTransport (which uses
// the environment's proxy).
var DefaultClient = &http.Client{Timeout: 2 * time.Minute}

// RefusedError is a download refused for what the URL or the server's answer is, rather than
// a failure of the network.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

func refusedf(format string, args ...any) error {
	return &RefusedError{Msg: fmt.Sprintf(format, args...)}
}

// Request is one download.
type Request struct {
	URL string
	// What names the file in messages: "skill", "module".
	What string
	// Max bounds the body; Noun says what is bounded ("a skill archive").
	Max  int64
	Noun string
	// Client is used when set (tests give one that trusts their server); redirects to
	// anything but HTTPS are refused whatever it says. Default: DefaultClient.
	Client *http.Client
}

// Label is raw as shown to people: scheme, host and path, never the query.
func Label(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// HTTPS downloads r.URL and returns its bytes and its Label.
func HTTPS(ctx context.Context, r Request) ([]byte, string, error) {
	u, err := url.Parse(r.URL)
	switch {
	case err != nil || u.Host == "":
		return nil, "", refusedf("%s source %s is not a valid URL", r.What, r.URL)
	case u.Scheme != "https":
		return nil, "", refusedf("%s source %s: only https:// URLs are downloaded; fetch it yourself and install the file", r.What, Label(r.URL))
	case u.User != nil:
		return nil, "", refusedf("%s source %s: credentials in the URL are not accepted", r.What, u.Redacted())
	}
	base := r.Client
	if base == nil {
		base = DefaultClient
	}
	client := *base
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if req.URL.Scheme != "https" {
			return fmt.Errorf("refusing a redirect to %s://%s: downloads are over HTTPS only", req.URL.Scheme, req.URL.Host)
		}
		return nil
	}
	label := Label(r.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", fmt.Errorf("download %s %s: %w", r.What, label, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		// net/http's *url.Error quotes the whole URL, query and all: keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("download %s %s: %w", r.What, label, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", refusedf("download %s %s: the server answered %s", r.What, label, resp.Status)
	}
	if resp.ContentLength > r.Max {
		return nil, "", refusedf("download %s %s: %d bytes, more than the %d MiB %s may be", r.What, label, resp.ContentLength, r.Max>>20, r.Noun)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, r.Max+1))
	if err != nil {
		return nil, "", fmt.Errorf("download %s %s: %w", r.What, label, err)
	}
	if int64(len(data)) > r.Max {
		return nil, "", refusedf("download %s %s: more than the %d MiB %s may be", r.What, label, r.Max>>20, r.Noun)
	}
	return data, label, nil
}
