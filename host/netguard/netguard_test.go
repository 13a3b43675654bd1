package netguard

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
)

// server is a real HTTP server on 127.0.0.1 that counts the requests it receives.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// hostPort is "127.0.0.1:PORT".
func (s *server) hostPort() string { return strings.TrimPrefix(s.URL, "http://") }

func (s *server) port() string {
	_, p, _ := net.SplitHostPort(s.hostPort())
	return p
}

func okHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	w.Header().Set("X-Method", r.Method)
	w.Header().Set("X-Host", r.Host)
	w.Header().Set("X-Api-Key", r.Header.Get("X-Api-Key"))
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "ok %s", body)
}

func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, http.StatusFound)
	}
}

func newClient(t *testing.T, allow ...string) *Client {
	t.Helper()
	c, err := NewClient(Policy{Allow: allow, MaxResponseBytes: 1 << 20})
	if err != nil {
		t.Fatalf("NewClient(%q): %v", allow, err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// staticLookup resolves names from a table; anything else fails.
func staticLookup(m map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		ss, ok := m[host]
		if !ok {
			return nil, fmt.Errorf("no such host %q", host)
		}
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out, nil
	}
}

// onlyLoopback127 lets tests reach 127.0.0.1 through a name; everything else gets the real check.
func onlyLoopback127(a netip.Addr) string {
	if a == netip.MustParseAddr("127.0.0.1") {
		return ""
	}
	return forbiddenReason(a)
}

func wantDenied(t *testing.T, err error, urlPart, reasonPart string) {
	t.Helper()
	var de *DeniedError
	if !errors.As(err, &de) {
		t.Fatalf("want *DeniedError, got %T: %v", err, err)
	}
	if !strings.Contains(de.URL, urlPart) {
		t.Errorf("DeniedError.URL = %q, want it to contain %q", de.URL, urlPart)
	}
	if !strings.Contains(de.Reason, reasonPart) {
		t.Errorf("DeniedError.Reason = %q, want it to contain %q", de.Reason, reasonPart)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "http: request to ") {
		t.Errorf("error message %q is not one line starting with \"http: request to \"", msg)
	}
}

func TestDo(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"allowed literal IP:port", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, s.hostPort())
			r, err := c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL + "/x?q=1", Headers: map[string]string{"x-api-key": "k1"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || string(r.Body) != "ok " {
				t.Fatalf("got %d %q", r.Status, r.Body)
			}
			if got := r.Headers["X-Multi"]; got != "a, b" {
				t.Errorf("X-Multi = %q, want %q", got, "a, b")
			}
			if r.Headers["X-Method"] != "GET" || r.Headers["X-Api-Key"] != "k1" {
				t.Errorf("headers = %v", r.Headers)
			}
		}},
		{"POST with body, method case-insensitive", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, s.hostPort())
			r, err := c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL, Method: "post"}, []byte("hello"))
			if err != nil {
				t.Fatal(err)
			}
			if string(r.Body) != "ok hello" || r.Headers["X-Method"] != "POST" {
				t.Fatalf("got %q %v", r.Body, r.Headers)
			}
		}},
		{"unlisted host refused", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, s.hostPort())
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: "http://evil.test/"}, nil)
			wantDenied(t, err, "http://evil.test/", "not in the plugin's http allow-list")
			want := `http: request to http://evil.test/ refused: host "evil.test" is not in the plugin's http allow-list`
			if err.Error() != want {
				t.Errorf("message\n got %s\nwant %s", err, want)
			}
		}},
		{"IP literal not listed refused", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, "127.0.0.2:"+s.port(), "example.com")
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL}, nil)
			wantDenied(t, err, s.URL, `host "127.0.0.1" is not in the plugin's http allow-list`)
			if n := s.hits.Load(); n != 0 {
				t.Errorf("server got %d requests", n)
			}
		}},
		{"listed IP on another port refused", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, "127.0.0.1") // default ports only
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL}, nil)
			wantDenied(t, err, s.URL, "port "+s.port())
			if n := s.hits.Load(); n != 0 {
				t.Errorf("server got %d requests", n)
			}
		}},
		{"redirect to unlisted server refused at the hop", func(t *testing.T) {
			b := newServer(t, okHandler)
			a := newServer(t, redirectTo(b.URL+"/stolen"))
			c := newClient(t, a.hostPort())
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: a.URL}, nil)
			wantDenied(t, err, b.URL+"/stolen", "not in the plugin's http allow-list")
			if a.hits.Load() != 1 || b.hits.Load() != 0 {
				t.Errorf("hits: a=%d b=%d, want 1 0", a.hits.Load(), b.hits.Load())
			}
		}},
		{"redirect to unlisted name refused", func(t *testing.T) {
			a := newServer(t, redirectTo("http://evil.test/"))
			c := newClient(t, a.hostPort())
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: a.URL}, nil)
			wantDenied(t, err, "http://evil.test/", `host "evil.test"`)
		}},
		{"redirect to 169.254.169.254 refused", func(t *testing.T) {
			a := newServer(t, redirectTo("http://169.254.169.254/latest/meta-data/"))
			c := newClient(t, a.hostPort())
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: a.URL}, nil)
			wantDenied(t, err, "169.254.169.254", `host "169.254.169.254"`)
		}},
		{"redirect to [::ffff:169.254.169.254] refused", func(t *testing.T) {
			a := newServer(t, redirectTo("http://[::ffff:169.254.169.254]/"))
			c := newClient(t, a.hostPort())
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: a.URL}, nil)
			wantDenied(t, err, "169.254.169.254", "not in the plugin's http allow-list")
		}},
		{"redirect to file:// refused", func(t *testing.T) {
			a := newServer(t, redirectTo("file:///etc/passwd"))
			c := newClient(t, a.hostPort())
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: a.URL}, nil)
			wantDenied(t, err, "file:///etc/passwd", `scheme "file"`)
		}},
		{"redirect to listed server followed", func(t *testing.T) {
			b := newServer(t, okHandler)
			a := newServer(t, redirectTo(b.URL+"/there"))
			c := newClient(t, a.hostPort(), b.hostPort())
			r, err := c.Do(ctxT(t), abi.HTTPRequest{URL: a.URL}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || b.hits.Load() != 1 {
				t.Fatalf("status %d, b hits %d", r.Status, b.hits.Load())
			}
		}},
		{"redirects capped", func(t *testing.T) {
			var a *server
			a = newServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, a.URL+"/again", http.StatusFound)
			})
			c, err := NewClient(Policy{Allow: []string{a.hostPort()}, MaxResponseBytes: 100, MaxRedirects: 2})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Do(ctxT(t), abi.HTTPRequest{URL: a.URL}, nil)
			if err == nil || !strings.Contains(err.Error(), "stopped after 2 redirects") {
				t.Fatalf("err = %v", err)
			}
			if n := a.hits.Load(); n != 3 {
				t.Errorf("server got %d requests, want 3 (1 + 2 redirects)", n)
			}
		}},
		{"localhost listed by name resolves to loopback: refused", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, "localhost:"+s.port())
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: "http://localhost:" + s.port() + "/"}, nil)
			wantDenied(t, err, "http://localhost:"+s.port(), `"localhost" resolves to 127.0.0.1, a loopback address`)
			if n := s.hits.Load(); n != 0 {
				t.Errorf("server got %d requests", n)
			}
		}},
		{"listed name with an internal address among public ones: refused", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, "api.test:"+s.port())
			c.lookup = staticLookup(map[string][]string{"api.test": {"8.8.8.8", "127.0.0.1"}})
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: "http://api.test:" + s.port()}, nil)
			wantDenied(t, err, "api.test", "127.0.0.1, a loopback address")
			if n := s.hits.Load(); n != 0 {
				t.Errorf("server got %d requests", n)
			}
		}},
		{"metadata.google.internal refused", func(t *testing.T) {
			c := newClient(t, "metadata.google.internal")
			c.lookup = staticLookup(map[string][]string{"metadata.google.internal": {"169.254.169.254"}})
			_, err := c.Do(ctxT(t), abi.HTTPRequest{URL: "http://metadata.google.internal/computeMetadata/v1/"}, nil)
			wantDenied(t, err, "metadata.google.internal", "cloud metadata")
		}},
		{"listed name dials the resolved, checked address", func(t *testing.T) {
			s := newServer(t, okHandler)
			c := newClient(t, "api.test:"+s.port())
			var lookups atomic.Int64
			inner := staticLookup(map[string][]string{"api.test": {"127.0.0.1"}})
			c.lookup = func(ctx context.Context, h string) ([]netip.Addr, error) {
				lookups.Add(1)
				return inner(ctx, h)
			}
			c.addrCheck = onlyLoopback127
			r, err := c.Do(ctxT(t), abi.HTTPRequest{URL: "http://API.test.:" + s.port() + "/"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 || lookups.Load() != 1 {
				t.Fatalf("status %d, lookups %d", r.Status, lookups.Load())
			}
			if h := r.Headers["X-Host"]; !strings.EqualFold(h, "api.test.:"+s.port()) {
				t.Errorf("server saw Host %q", h)
			}
		}},
		{"body over the cap", func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("chunked") != "" {
					w.(http.Flusher).Flush() // no Content-Length
				}
				io.WriteString(w, strings.Repeat("x", 11))
			})
			for _, q := range []string{"", "?chunked=1"} {
				c, err := NewClient(Policy{Allow: []string{s.hostPort()}, MaxResponseBytes: 10})
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL + q}, nil)
				var le *LimitError
				if !errors.As(err, &le) || le.Limit != "http_response_bytes" || le.Max != 10 {
					t.Fatalf("%s: want LimitError, got %v", q, err)
				}
				if want := "http: response body exceeds http_response_bytes limit (10 bytes)"; err.Error() != want {
					t.Errorf("message %q, want %q", err, want)
				}
				c, _ = NewClient(Policy{Allow: []string{s.hostPort()}, MaxResponseBytes: 11})
				if r, err := c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL + q}, nil); err != nil || len(r.Body) != 11 {
					t.Fatalf("%s: at the cap: %v", q, err)
				}
			}
		}},
		{"https to a listed literal", func(t *testing.T) {
			s := httptest.NewTLSServer(http.HandlerFunc(okHandler))
			t.Cleanup(s.Close)
			c := newClient(t, strings.TrimPrefix(s.URL, "https://"))
			pool := x509.NewCertPool()
			pool.AddCert(s.Certificate())
			c.tr.TLSClientConfig.RootCAs = pool
			r, err := c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL}, nil)
			if err != nil || r.Status != 200 {
				t.Fatalf("%v %v", r, err)
			}
		}},
		{"proxy environment ignored", func(t *testing.T) {
			proxy := newServer(t, okHandler)
			t.Setenv("HTTP_PROXY", proxy.URL)
			t.Setenv("http_proxy", proxy.URL)
			s := newServer(t, okHandler)
			c := newClient(t, s.hostPort())
			if _, err := c.Do(ctxT(t), abi.HTTPRequest{URL: s.URL}, nil); err != nil {
				t.Fatal(err)
			}
			if proxy.hits.Load() != 0 || s.hits.Load() != 1 {
				t.Fatalf("proxy %d, server %d", proxy.hits.Load(), s.hits.Load())
			}
		}},
		{"deadline from ctx", func(t *testing.T) {
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
			c := newClient(t, s.hostPort())
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err := c.Do(ctx, abi.HTTPRequest{URL: s.URL}, nil)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("want DeadlineExceeded, got %v", err)
			}
			if !strings.HasPrefix(err.Error(), "http: request to "+s.URL) {
				t.Errorf("message %q", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestDoRefusals(t *testing.T) {
	s := newServer(t, okHandler)
	c := newClient(t, s.hostPort())
	tests := []struct {
		name   string
		req    abi.HTTPRequest
		reason string
	}{
		{"file scheme", abi.HTTPRequest{URL: "file:///etc/passwd"}, `scheme "file"`},
		{"ftp scheme", abi.HTTPRequest{URL: "ftp://" + s.hostPort() + "/"}, `scheme "ftp"`},
		{"gopher scheme", abi.HTTPRequest{URL: "gopher://" + s.hostPort() + "/"}, `scheme "gopher"`},
		{"no host", abi.HTTPRequest{URL: "http:///path"}, "no host"},
		{"opaque", abi.HTTPRequest{URL: "http:" + s.hostPort()}, "no host"},
		{"TRACE", abi.HTTPRequest{URL: s.URL, Method: "TRACE"}, `method "TRACE"`},
		{"CONNECT", abi.HTTPRequest{URL: s.URL, Method: "CONNECT"}, `method "CONNECT"`},
		{"Host header", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"host": "evil.test"}}, `header "Host"`},
		{"Connection header", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"Connection": "close"}}, `header "Connection"`},
		{"Proxy-Authorization header", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"proxy-authorization": "x"}}, `header "Proxy-Authorization"`},
		{"Transfer-Encoding header", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"Transfer-Encoding": "chunked"}}, `header "Transfer-Encoding"`},
		{"Content-Length header", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"Content-Length": "5"}}, `header "Content-Length"`},
		{"Upgrade header", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"Upgrade": "websocket"}}, `header "Upgrade"`},
		{"bad header name", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"X-A\r\nHost": "x"}}, "not valid"},
		{"CRLF in header value", abi.HTTPRequest{URL: s.URL, Headers: map[string]string{"X-A": "1\r\nHost: evil.test"}}, "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Do(ctxT(t), tt.req, nil)
			wantDenied(t, err, "", tt.reason)
		})
	}
	if n := s.hits.Load(); n != 0 {
		t.Errorf("server got %d requests from refused calls", n)
	}
}

func TestDialerDefense(t *testing.T) {
	s := newServer(t, okHandler)
	c := newClient(t, "api.test:"+s.port())
	c.lookup = staticLookup(map[string][]string{"api.test": {"127.0.0.1"}})
	tests := []struct {
		name, addr, reason string
	}{
		{"unlisted loopback literal", s.hostPort(), "a loopback address"},
		{"mapped loopback literal", "[::ffff:127.0.0.1]:" + s.port(), "a loopback address"},
		{"unlisted name", "evil.test:80", "not in the plugin's http allow-list"},
		{"listed name, wrong port", "api.test:1", "not in the plugin's http allow-list"},
		{"listed name resolving to loopback", "api.test:" + s.port(), "loopback"},
		{"udp", "udp", "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			network := "tcp"
			if tt.addr == "udp" {
				network, tt.addr = "udp", s.hostPort()
			}
			conn, err := c.dialContext(ctxT(t), network, tt.addr)
			if conn != nil {
				conn.Close()
			}
			var de *DeniedError
			if !errors.As(err, &de) || !strings.Contains(de.Reason, tt.reason) {
				t.Fatalf("got %v, want DeniedError containing %q", err, tt.reason)
			}
		})
	}
	if n := s.hits.Load(); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		name  string
		allow []string
		url   string
		ok    bool
	}{
		{"wildcard subdomain", []string{"*.example.com"}, "http://a.example.com/", true},
		{"wildcard deep subdomain", []string{"*.example.com"}, "https://b.a.example.com/", true},
		{"wildcard not apex", []string{"*.example.com"}, "http://example.com/", false},
		{"wildcard not suffix lookalike", []string{"*.example.com"}, "http://evilexample.com/", false},
		{"wildcard not as prefix", []string{"*.example.com"}, "http://a.example.com.evil.test/", false},
		{"wildcard empty label", []string{"*.example.com"}, "http://.example.com/", false},
		{"wildcard case and trailing dot", []string{"*.example.com"}, "http://A.EXAMPLE.COM./", true},
		{"wildcard default port only", []string{"*.example.com"}, "http://a.example.com:8080/", false},
		{"exact", []string{"api.example.com"}, "http://api.example.com/v1", true},
		{"exact https", []string{"api.example.com"}, "https://api.example.com/v1", true},
		{"exact not subdomain", []string{"api.example.com"}, "http://x.api.example.com/", false},
		{"exact not parent", []string{"api.example.com"}, "http://example.com/", false},
		{"explicit default port http", []string{"api.example.com"}, "http://api.example.com:80/", true},
		{"explicit default port https", []string{"api.example.com"}, "https://api.example.com:443/", true},
		{"https on 80 not default", []string{"api.example.com"}, "https://api.example.com:80/", false},
		{"http on 443 not default", []string{"api.example.com"}, "http://api.example.com:443/", false},
		{"other port", []string{"api.example.com"}, "https://api.example.com:8443/", false},
		{"entry port", []string{"api.example.com:8443"}, "https://api.example.com:8443/", true},
		{"entry port any scheme", []string{"api.example.com:8443"}, "http://api.example.com:8443/", true},
		{"entry port excludes default", []string{"api.example.com:8443"}, "https://api.example.com/", false},
		{"port with leading zeros", []string{"api.example.com:8443"}, "https://api.example.com:08443/", true},
		{"port out of range", []string{"api.example.com"}, "http://api.example.com:65616/", false},
		{"ip entry", []string{"127.0.0.1:8080"}, "http://127.0.0.1:8080/", true},
		{"ip entry default port", []string{"127.0.0.1:8080"}, "http://127.0.0.1/", false},
		{"ip entry other ip", []string{"127.0.0.1:8080"}, "http://127.0.0.2:8080/", false},
		{"ip entry mapped form", []string{"127.0.0.1:8080"}, "http://[::ffff:127.0.0.1]:8080/", true},
		{"ip entry not by name", []string{"127.0.0.1:8080"}, "http://localhost:8080/", false},
		{"ip entry decimal form", []string{"127.0.0.1:8080"}, "http://2130706433:8080/", false},
		{"ip entry short form", []string{"127.0.0.1:8080"}, "http://127.1:8080/", false},
		{"v6 entry", []string{"[::1]:9000"}, "http://[::1]:9000/", true},
		{"v6 entry long form", []string{"[::1]:9000"}, "http://[0:0:0:0:0:0:0:1]:9000/", true},
		{"v6 entry zone", []string{"[::1]:9000"}, "http://[::1%25lo]:9000/", false},
		{"mapped entry", []string{"::ffff:10.0.0.1"}, "http://10.0.0.1/", true},
		{"name entry does not allow ip", []string{"example.com"}, "http://93.184.216.34/", false},
		{"ftp", []string{"api.example.com"}, "ftp://api.example.com/", false},
		{"file", []string{"api.example.com"}, "file://api.example.com/etc/passwd", false},
		{"uppercase scheme", []string{"api.example.com"}, "HTTP://api.example.com/", true},
		{"userinfo confusion", []string{"api.example.com"}, "http://api.example.com@evil.test/", false},
		{"fragment confusion", []string{"api.example.com"}, "http://evil.test#@api.example.com/", false},
		{"userinfo on allowed host", []string{"api.example.com"}, "http://u:p@api.example.com/", true},
		{"non-ASCII lookalike", []string{"api.example.com"}, "http://\u0430pi.example.com/", false},
		{"ideographic dot", []string{"*.example.com"}, "http://evil.test\u3002example.com/", false},
		{"empty allow", nil, "http://api.example.com/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.allow...)
			u, err := url.Parse(tt.url)
			if err != nil {
				if tt.ok {
					t.Fatalf("parse %q: %v", tt.url, err)
				}
				return
			}
			why := c.checkURL(u)
			if (why == "") != tt.ok {
				t.Fatalf("checkURL(%q) with %q = %q, want allowed=%v", tt.url, tt.allow, why, tt.ok)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"good", Policy{Allow: []string{"api.example.com", "api.example.com:8443", "*.example.com", "127.0.0.1:8080", "[::1]:9000", "::1"}, MaxResponseBytes: 1}, true},
		{"bare wildcard", Policy{Allow: []string{"*"}, MaxResponseBytes: 1}, false},
		{"wildcard tld", Policy{Allow: []string{"*.com"}, MaxResponseBytes: 1}, false},
		{"inner wildcard", Policy{Allow: []string{"a.*.com"}, MaxResponseBytes: 1}, false},
		{"uppercase", Policy{Allow: []string{"Example.com"}, MaxResponseBytes: 1}, false},
		{"port 0", Policy{Allow: []string{"example.com:0"}, MaxResponseBytes: 1}, false},
		{"port too big", Policy{Allow: []string{"example.com:65536"}, MaxResponseBytes: 1}, false},
		{"scheme", Policy{Allow: []string{"http://example.com"}, MaxResponseBytes: 1}, false},
		{"empty", Policy{Allow: []string{""}, MaxResponseBytes: 1}, false},
		{"zero body cap", Policy{Allow: []string{"example.com"}}, false},
		{"negative redirects", Policy{Allow: []string{"example.com"}, MaxResponseBytes: 1, MaxRedirects: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.p)
			if (err == nil) != tt.ok {
				t.Fatalf("NewClient: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestForbiddenReason(t *testing.T) {
	tests := []struct {
		addr   string
		reason string // "" = public, allowed
	}{
		{"::ffff:127.0.0.1", "loopback"},
		{"127.0.0.1", "loopback"},
		{"127.255.0.9", "loopback"},
		{"::1", "loopback"},
		{"fe80::1", "link-local"},
		{"169.254.1.1", "link-local"},
		{"0.0.0.0", "this-network"},
		{"0.1.2.3", "this-network"},
		{"::", "unspecified"},
		{"100.64.0.1", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"169.254.169.254", "cloud metadata"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"fd00:ec2::254", "cloud metadata"},
		{"100.100.100.200", "cloud metadata"},
		{"169.254.170.2", "cloud metadata"},
		{"64:ff9b::a9fe:a9fe", "NAT64 form of a cloud metadata"},
		{"64:ff9b::7f00:1", "NAT64 form of a loopback"},
		{"64:ff9b:1::1", "NAT64"},
		{"2002:7f00:1::", "6to4 form of a loopback"},
		{"2002:a9fe:a9fe::1", "6to4 form of a cloud metadata"},
		{"::127.0.0.1", "not a global unicast"},
		{"255.255.255.255", "broadcast"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"ff02::1", "multicast"},
		{"240.0.0.1", "reserved"},
		{"192.0.2.1", "documentation"},
		{"2001:db8::1", "documentation"},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
		{"198.18.0.1", "benchmarking"},
		{"fe80::1%eth0", "zoned"},
		{"8.8.8.8", ""},
		{"1.1.1.1", ""},
		{"172.32.0.1", ""},
		{"100.128.0.1", ""},
		{"::ffff:8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			got := forbiddenReason(netip.MustParseAddr(tt.addr))
			if tt.reason == "" {
				if got != "" {
					t.Fatalf("forbiddenReason(%s) = %q, want allowed", tt.addr, got)
				}
				return
			}
			if !strings.Contains(got, tt.reason) {
				t.Fatalf("forbiddenReason(%s) = %q, want it to contain %q", tt.addr, got, tt.reason)
			}
		})
	}
	if got := forbiddenReason(netip.Addr{}); got == "" {
		t.Error("the zero Addr must be refused")
	}
}

func FuzzAllowMatch(f *testing.F) {
	seeds := [][2]string{
		{"*.example.com", "http://a.example.com/"},
		{"*.example.com", "http://evilexample.com/"},
		{"api.example.com:8443", "https://api.example.com:8443/x"},
		{"127.0.0.1:8080", "http://[::ffff:127.0.0.1]:8080/"},
		{"[::1]:9000", "http://[::1%25lo]:9000/"},
		{"::1", "http://[::1]/"},
		{"example.com", "http://example.com@evil.test/"},
		{"example.com", "HTTP://EXAMPLE.COM.:80/"},
		{"a.b", "http:a.b"},
		{"a.b", "http://a.b:/"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, entryStr, raw string) {
		e, err := parseEntry(entryStr)
		if err != nil {
			return
		}
		c := &Client{entries: []entry{e}}
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		if c.checkURL(u) != "" {
			return
		}
		// Allowed: the URL must really be covered by the entry.
		if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
			t.Fatalf("scheme %q allowed", u.Scheme)
		}
		host := u.Hostname()
		if a, ok := parseHostAddr(host); ok {
			if !e.ip.IsValid() || a.Unmap() != e.ip || a.Zone() != "" {
				t.Fatalf("IP host %q allowed by %q", host, entryStr)
			}
		} else {
			name := normalizeName(host)
			if !e.matchesName(name) || !isASCII(name) {
				t.Fatalf("name %q allowed by %q", host, entryStr)
			}
			if e.wildcard && name == e.name {
				t.Fatalf("wildcard %q allowed its apex %q", entryStr, host)
			}
		}
	})
}

// A plugin's requests never go through the environment's proxy: HTTP_PROXY would let a request
// to an allowed name be answered (and read) by whatever the proxy setting names.
func TestEnvironmentProxyIsIgnored(t *testing.T) {
	proxy := newServer(t, okHandler)
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	s := newServer(t, okHandler)
	c := newClient(t, "api.test:"+s.port())
	c.lookup = staticLookup(map[string][]string{"api.test": {"127.0.0.1"}})
	c.addrCheck = onlyLoopback127
	r, err := c.Do(ctxT(t), abi.HTTPRequest{URL: "http://api.test:" + s.port() + "/"}, nil)
	if err != nil || r.Status != 200 {
		t.Fatalf("request: %v %+v", err, r)
	}
	if s.hits.Load() != 1 || proxy.hits.Load() != 0 {
		t.Fatalf("server got %d requests, the proxy %d; want 1 and 0", s.hits.Load(), proxy.hits.Load())
	}
}

// Requests that fail for a reason of their own are *RequestError, a slow server a timeout, so a
// caller can tell them from a refusal and from a fault of the module.
func TestRequestErrors(t *testing.T) {
	release := make(chan struct{})
	slow := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	var loop *server
	loop = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	})
	tests := []struct {
		name, url, reason string
		timeout           bool
		client            func(t *testing.T) *Client
	}{
		{"server too slow", slow.URL, "did not answer in time", true, func(t *testing.T) *Client {
			c := newClient(t, slow.hostPort())
			c.tr.ResponseHeaderTimeout = 50 * time.Millisecond
			return c
		}},
		{"name does not resolve", "http://gone.test/", "no such host", false, func(t *testing.T) *Client {
			c := newClient(t, "gone.test")
			c.lookup = staticLookup(nil)
			return c
		}},
		{"redirect cap", loop.URL, "stopped after 5 redirects", false, func(t *testing.T) *Client { return newClient(t, loop.hostPort()) }},
		{"malformed URL", "http://a b/", "the URL is not valid", false, func(t *testing.T) *Client { return newClient(t, "example.com") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client(t).Do(ctxT(t), abi.HTTPRequest{URL: tt.url}, nil)
			var re *RequestError
			if !errors.As(err, &re) || re.Timeout != tt.timeout || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v (%T); want a RequestError (timeout %v) saying %q", err, err, tt.timeout, tt.reason)
			}
		})
	}
}
