// Package ocitest runs a real OCI registry (go-containerregistry's pkg/registry, in memory) on
// 127.0.0.1 inside the calling process, for tests of code that pushes and pulls plugins: this
// package's own tests, the installer's, and the CLI's, which point the built hermes binary at it.
//
//	host := ocitest.Start(t)                       // "127.0.0.1:PORT", stopped when t ends
//	ref := "oci://" + host + "/acme/weather:1.2.0" // loopback, so hermes speaks plain HTTP to it
//
// Each registry starts empty and is independent of every other. Options make it ask for
// credentials or misbehave (CorruptContent, WithHandler) for tests of the failure paths.
package ocitest

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Option configures a registry.
type Option func(*config)

type config struct {
	username, password string
	wraps              []func(http.Handler) http.Handler
	logf               func(format string, args ...any)
}

// WithBasicAuth makes the registry answer 401 with a Basic challenge to every request that does
// not carry this username and password.
func WithBasicAuth(username, password string) Option {
	return func(c *config) { c.username, c.password = username, password }
}

// WithHandler wraps the registry's handler, to make it misbehave in a way a test needs. Wrappers
// apply in the order given, the first outermost; authentication, when asked for, is outside all.
func WithHandler(wrap func(http.Handler) http.Handler) Option {
	return func(c *config) { c.wraps = append(c.wraps, wrap) }
}

// WithRequestLog sends the registry's one-line log of each request to logf (t.Logf, say).
// By default it is discarded, as it is noise unless a test is being debugged.
func WithRequestLog(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// CorruptContent returns a WithHandler wrapper that flips the last byte of the body of every GET
// whose path ends in digest (a blob, or a manifest asked for by digest) or whose response names
// digest in Docker-Content-Digest (a manifest asked for by tag). Status and headers, length and
// digest included, are left as they were, as a registry with a bad disk or a tampering proxy
// would send them.
func CorruptContent(digest string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
			recorded := httptest.NewRecorder()
			next.ServeHTTP(recorded, r)
			body := recorded.Body.Bytes()
			if (strings.HasSuffix(r.URL.Path, "/"+digest) || recorded.Header().Get("Docker-Content-Digest") == digest) && len(body) > 0 {
				body = bytes.Clone(body)
				body[len(body)-1] ^= 0xff
			}
			for name, values := range recorded.Header() {
				w.Header()[name] = values
			}
			w.WriteHeader(recorded.Code)
			_, _ = w.Write(body) // the client will see a short body if this fails
		})
	}
}

// Start starts a registry for the length of tb and returns its "127.0.0.1:PORT", and a function
// that stops it early (to test an unreachable registry, say). Stopping twice is harmless; tb's
// cleanup stops it in any case. A registry that cannot start fails tb at once.
func Start(tb testing.TB, opts ...Option) (hostPort string, stop func()) {
	tb.Helper()
	hostPort, stop, err := Serve(opts...)
	if err != nil {
		tb.Fatalf("ocitest: %v", err)
	}
	tb.Cleanup(stop)
	return hostPort, stop
}

// Serve is Start for code without a testing.TB, such as a TestMain that shares one registry
// among its tests: the caller must call stop, which waits for requests in flight to finish.
func Serve(opts ...Option) (hostPort string, stop func(), err error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	logger := log.New(io.Discard, "", 0)
	if c.logf != nil {
		logger = log.New(logfWriter(c.logf), "ocitest: ", 0)
	}
	var handler http.Handler = registry.New(registry.Logger(logger), registry.WithReferrersSupport(true))
	for i := len(c.wraps) - 1; i >= 0; i-- {
		handler = c.wraps[i](handler)
	}
	if c.username != "" || c.password != "" {
		handler = basicAuth(c.username, c.password, handler)
	}

	// 127.0.0.1 explicitly, never "localhost" or all interfaces: tests must not expose the
	// registry, and hermes treats 127.0.0.0/8 as loopback without a DNS lookup.
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	server := &httptest.Server{
		Listener: listener,
		Config:   &http.Server{Handler: handler, ErrorLog: logger},
	}
	server.Start()
	var once sync.Once
	return listener.Addr().String(), func() { once.Do(server.Close) }, nil
}

// basicAuth admits only requests carrying username and password, comparing in constant time
// out of habit rather than need.
func basicAuth(username, password string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(username)) != 1 || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="ocitest"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// logfWriter adapts a Logf function to the io.Writer a log.Logger writes to.
type logfWriter func(format string, args ...any)

func (f logfWriter) Write(p []byte) (int, error) {
	f("%s", strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
