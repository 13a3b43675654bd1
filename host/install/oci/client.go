package oci

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// userAgent identifies hermes to registries, whose operators see it in their logs.
const userAgent = "hermes"

// newRepository returns an oras client for ref's repository, and a function that drops its idle
// connections, to call when the operation is over: each operation has its own transport, so
// none outlives it.
func newRepository(ref Reference, opts Options) (*remote.Repository, func()) {
	transport := &http.Transport{
		// Registries behind corporate proxies are common; loopback is never proxied.
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	client := &auth.Client{
		// retry retries only rate limiting, server errors and timeouts, with backoff; a refused
		// connection fails at once.
		Client: &http.Client{Transport: retry.NewTransport(transport), CheckRedirect: refuseDowngrade},
		Header: http.Header{"User-Agent": {userAgent}},
		Cache:  auth.NewCache(),
	}
	if opts.Username != "" || opts.Password != "" {
		// StaticCredential answers only for this host, so a redirect or a token realm elsewhere
		// does not get the password.
		client.Credential = auth.StaticCredential(ref.Registry, auth.Credential{Username: opts.Username, Password: opts.Password})
	}
	repo := &remote.Repository{
		Client:    client,
		Reference: registry.Reference{Registry: ref.Registry, Repository: ref.Repository, Reference: ref.target()},
		PlainHTTP: usePlainHTTP(ref.Registry, opts),
		// Asking only for OCI image manifests makes a registry that could convert (Docker
		// schema 2, indexes) send what we can read, or refuse.
		ManifestMediaTypes: []string{ocispec.MediaTypeImageManifest},
		MaxMetadataBytes:   MaxManifestBytes,
		// Bound server-driven pagination; nothing here lists, but the limits cost nothing.
		TagListMaxPages:      100,
		ReferrerListMaxPages: 100,
	}
	return repo, transport.CloseIdleConnections
}

// refuseDowngrade follows redirects as net/http does, except from HTTPS to plain HTTP: a
// blob's bytes are checked against its digest wherever they come from, but a private plugin
// should not cross the network in the clear because a CDN said so.
func refuseDowngrade(req *http.Request, via []*http.Request) error {
	const maxRedirects = 10 // net/http's own limit
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		// Only scheme and host: a presigned URL's query is a credential.
		return fmt.Errorf("refusing a redirect from HTTPS to %s://%s", req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// usePlainHTTP decides the scheme: HTTPS unless asked otherwise or the registry is loopback.
func usePlainHTTP(registry string, opts Options) bool {
	return opts.PlainHTTP || IsLoopback(registry)
}

// failer returns a constructor of errors about ref.
func failer(ref Reference) func(kind error, msg string, err error, note string) *Error {
	return func(kind error, msg string, err error, note string) *Error {
		return &Error{Ref: ref.String(), Kind: kind, Msg: msg, Err: err, Note: note}
	}
}

// withRef names ref in an error made without one.
func (e *Error) withRef(ref Reference) *Error {
	out := *e
	out.Ref = ref.String()
	return &out
}

// classify turns what oras and net/http return into an error that says what went wrong in
// hermes' words, with a kind and a note, for the failures a user can act on. Anything else is
// kept as the cause, unchanged.
func (e *Error) classify(ref Reference) *Error {
	if e.Kind != nil || e.Err == nil {
		return e
	}
	out := *e
	host := ref.Registry
	set := func(kind error, msg string, keepCause bool, note string) *Error {
		out.Kind, out.Note = kind, note
		out.Msg = e.Msg + ": " + msg
		if !keepCause {
			out.Err = nil
		}
		return &out
	}

	var ours *Error
	if errors.As(e.Err, &ours) {
		out.Kind, out.Err, out.Note = ours.Kind, ours.Err, ours.Note
		out.Msg = e.Msg + ": " + ours.Msg
		return &out
	}
	if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) {
		return &out
	}
	if errors.Is(e.Err, errdef.ErrNotFound) {
		return set(ErrNotFound, "not found in registry "+host, false, "check the repository, tag or digest")
	}
	if errors.Is(e.Err, auth.ErrBasicCredentialNotFound) {
		return set(ErrUnauthorized, "registry "+host+" requires credentials", false, "give a username and password")
	}
	var response *errcode.ErrorResponse
	if errors.As(e.Err, &response) {
		switch response.StatusCode {
		case http.StatusUnauthorized:
			return set(ErrUnauthorized, "registry "+host+" refused the credentials", false, "check the username and password")
		case http.StatusForbidden:
			return set(ErrUnauthorized, "registry "+host+" denied access", true, "check that the account may use this repository")
		case http.StatusNotFound:
			return set(ErrNotFound, "not found in registry "+host, true, "check the repository, tag or digest")
		case http.StatusRequestEntityTooLarge:
			return set(ErrTooLarge, "registry "+host+" refused the size", true, "")
		}
		return set(nil, fmt.Sprintf("registry %s answered %d", host, response.StatusCode), true, "")
	}

	var recordHeader tls.RecordHeaderError
	if errors.As(e.Err, &recordHeader) || strings.Contains(e.Err.Error(), "server gave HTTP response to HTTPS client") {
		// net/http reports the second case with an unexported, untyped error: the text is all
		// there is to go on.
		return set(ErrUnreachable, "registry "+host+" does not speak HTTPS", true, "hermes uses plain HTTP only for loopback registries unless asked to")
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
	)
	if errors.As(e.Err, &unknownAuthority) || errors.As(e.Err, &hostname) || errors.As(e.Err, &invalid) || errors.As(e.Err, &verification) {
		return set(ErrUnreachable, "registry "+host+" has a TLS certificate this machine does not trust", true, "check the registry name, or install its CA certificate")
	}
	var dnsErr *net.DNSError
	if errors.As(e.Err, &dnsErr) {
		return set(ErrUnreachable, "registry host "+host+" not found", true, "check the registry name and your network")
	}
	var opErr *net.OpError
	if errors.As(e.Err, &opErr) {
		if opErr.Op == "dial" {
			return set(ErrUnreachable, "registry "+host+" unreachable", true, "is it running?")
		}
		return set(ErrUnreachable, "connection to registry "+host+" failed", true, "try again")
	}
	return &out
}
