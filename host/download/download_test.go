package download

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const secret = "s3cr3t-token"

func TestHTTPS(t *testing.T) {
	body := strings.Repeat("x", 100)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(body))
		case "/chunked": // no Content-Length: the bound must hold while reading
			w.(http.Flusher).Flush()
			w.Write([]byte(strings.Repeat("y", 4096)))
		case "/to-http":
			http.Redirect(w, r, "http://example.invalid/x?token="+secret, http.StatusFound)
		case "/missing":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	get := func(path string, max int64) ([]byte, string, error) {
		return HTTPS(context.Background(), Request{URL: srv.URL + path + "?token=" + secret, What: "module", Max: max, Noun: "a module", Client: srv.Client()})
	}

	data, label, err := get("/ok", 1<<20)
	if err != nil || string(data) != body {
		t.Fatalf("ok: %q, %v", data, err)
	}
	if strings.Contains(label, secret) || !strings.HasSuffix(label, "/ok") {
		t.Fatalf("label %q: want the URL without its query", label)
	}

	for _, c := range []struct {
		name, path string
		max        int64
		refused    bool
		want       string
	}{
		{"declared size over the bound", "/ok", 10, true, "100 bytes, more than"},
		{"streamed size over the bound", "/chunked", 1000, true, "more than"},
		{"redirect to plain http", "/to-http", 1 << 20, false, "downloads are over HTTPS only"},
		{"not found", "/missing", 1 << 20, true, "404"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := get(c.path, c.max)
			var refused *RefusedError
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &refused) != c.refused {
				t.Fatalf("err %v: want one containing %q (refused: %v)", err, c.want, c.refused)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the URL's query: %v", err)
			}
		})
	}
}

func TestHTTPSRefusesBeforeConnecting(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"http://example.invalid/a.wasm", "only https:// URLs"},
		{"https://user:" + secret + "@example.invalid/a.wasm", "credentials in the URL"},
		{"https:///a.wasm", "not a valid URL"},
		{"::", "not a valid URL"},
	} {
		_, _, err := HTTPS(context.Background(), Request{URL: c.url, What: "module", Max: 1 << 20})
		var refused *RefusedError
		if !errors.As(err, &refused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want a refusal containing %q", c.url, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the password: %v", c.url, err)
		}
	}
}

// TestHTTPSNetworkErrorHidesQuery: net/http's errors quote the whole URL; a token in the query
// must not reach the message.
func TestHTTPSNetworkErrorHidesQuery(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, _, err = HTTPS(context.Background(), Request{URL: "https://" + addr + "/a.wasm?token=" + secret, What: "module", Max: 1 << 20})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "/a.wasm") {
		t.Fatalf("err %v: want the failure, the path, and not the query", err)
	}
}
