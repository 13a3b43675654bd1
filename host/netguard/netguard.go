// Package netguard performs the outbound HTTP requests of plugins granted the http capability,
// confined to the hosts the plugin's manifest lists.
//
// It is a security boundary. Every request and every redirect hop is checked against the
// allow-list (scheme, host, port), and the address actually connected to is checked at dial time:
// names are resolved here and the checked IP is dialed, so a DNS answer cannot change between the
// check and the connection. A name that resolves to a loopback, private, link-local, metadata or
// otherwise internal address is refused; such an address is reachable only through a URL whose
// host is an IP literal listed literally in the allow-list. Proxy environment variables and
// cookies are never used.
package netguard

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/abi"
)

// Policy is what a plugin may reach.
type Policy struct {
	Allow            []string // manifest entries: "api.example.com", "api.example.com:8443", "*.example.com", "127.0.0.1:8080", "[::1]:9000"
	MaxResponseBytes int64    // body cap; exceeding it is an error
	MaxRedirects     int      // 0 means 5
}

// Response is a completed request.
type Response struct {
	Status  int
	Headers map[string]string // canonical names; repeated headers joined with ", "
	Body    []byte
}

// DeniedError is a policy refusal.
type DeniedError struct {
	URL    string
	Reason string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("http: request to %s refused: %s", e.URL, e.Reason)
}

// LimitError reports a response that exceeded a limit.
type LimitError struct {
	Limit string // abi.LimitHTTPResponseBytes
	Max   int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("http: response body exceeds %s limit (%d bytes)", e.Limit, e.Max)
}

// RequestError is a request that could not be made or did not get an answer for a reason of the
// request's own (a malformed URL, a name that does not resolve, too many redirects, a refused
// connection) or because the server was too slow (Timeout). It is neither a refusal by the
// policy nor a fault of the module: a caller reports it as the tool's error, a timeout as a limit.
type RequestError struct {
	URL     string // redacted
	Reason  string
	Timeout bool
	Err     error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("http: request to %s failed: %s", e.URL, e.Reason)
}

func (e *RequestError) Unwrap() error { return e.Err }

const (
	defaultMaxRedirects   = 5
	defaultTimeout        = 2 * time.Minute // only when the caller's ctx has no deadline
	dialTimeout           = 10 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 30 * time.Second
	maxResponseHeaderSize = 1 << 20
)

// Client performs requests under one Policy. It is safe for concurrent use.
type Client struct {
	entries      []entry
	maxBody      int64
	maxRedirects int
	hc           *http.Client
	tr           *http.Transport
	dialer       *net.Dialer

	// Test hooks; nil means the real thing.
	lookup    func(ctx context.Context, host string) ([]netip.Addr, error)
	addrCheck func(netip.Addr) string
}

// NewClient validates p's entries with manifest.ValidateHTTPAllow and returns a client confined to them.
func NewClient(p Policy) (*Client, error) {
	if p.MaxResponseBytes <= 0 {
		return nil, fmt.Errorf("netguard: MaxResponseBytes must be positive, got %d", p.MaxResponseBytes)
	}
	if p.MaxRedirects < 0 {
		return nil, fmt.Errorf("netguard: MaxRedirects must not be negative, got %d", p.MaxRedirects)
	}
	c := &Client{
		maxBody:      p.MaxResponseBytes,
		maxRedirects: p.MaxRedirects,
		dialer:       &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second},
	}
	if c.maxRedirects == 0 {
		c.maxRedirects = defaultMaxRedirects
	}
	for i, s := range p.Allow {
		e, err := parseEntry(s)
		if err != nil {
			return nil, fmt.Errorf("netguard: allow[%d]: %w", i, err)
		}
		c.entries = append(c.entries, e)
	}
	c.tr = &http.Transport{
		Proxy:                  nil, // never the environment's proxy
		DialContext:            c.dialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ResponseHeaderTimeout:  responseHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		DisableKeepAlives:      true, // no pooled connections outliving a call
		MaxResponseHeaderBytes: maxResponseHeaderSize,
	}
	c.hc = &http.Client{
		Transport:     c.tr,
		CheckRedirect: c.checkRedirect,
		Jar:           nil,
	}
	return c, nil
}

var allowedMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// forbiddenHeaders are request headers a plugin may not set: they belong to the transport
// (framing, connection management, routing) or to a proxy.
var forbiddenHeaders = map[string]bool{
	"Host": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Content-Length": true, "Te": true, "Trailer": true, "Upgrade": true, "Expect": true,
	"Http2-Settings": true,
}

// checkHeader returns a refusal reason for a request header, or "".
func checkHeader(k, v string) string {
	if !validHeaderName(k) {
		return fmt.Sprintf("header name %q is not valid", k)
	}
	ck := http.CanonicalHeaderKey(k)
	if forbiddenHeaders[ck] || strings.HasPrefix(ck, "Proxy-") {
		return fmt.Sprintf("header %q may not be set by a plugin", ck)
	}
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return fmt.Sprintf("header %q has a control character in its value", ck)
		}
	}
	return ""
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		b := k[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// Do performs req (the plugin's http_request block) with body, following allowed redirects.
// A refusal is a *DeniedError, an oversized body a *LimitError.
func (c *Client) Do(ctx context.Context, req abi.HTTPRequest, body []byte) (*Response, error) {
	method := strings.ToUpper(strings.TrimSpace(req.Method))
	if method == "" {
		method = http.MethodGet
	}
	if !allowedMethods[method] {
		return nil, &DeniedError{URL: redact(req.URL), Reason: fmt.Sprintf("method %q is not allowed", req.Method)}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, req.URL, rd)
	if err != nil {
		return nil, &RequestError{URL: redact(req.URL), Reason: "the URL is not valid: " + err.Error(), Err: err}
	}
	if why := c.checkURL(hr.URL); why != "" {
		return nil, &DeniedError{URL: hr.URL.Redacted(), Reason: why}
	}
	for k, v := range req.Headers {
		if why := checkHeader(k, v); why != "" {
			return nil, &DeniedError{URL: hr.URL.Redacted(), Reason: why}
		}
		hr.Header.Add(k, v)
	}

	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, c.requestError(hr, err)
	}
	defer resp.Body.Close()

	where := resp.Request.URL.Redacted()
	if resp.ContentLength > c.maxBody {
		return nil, &LimitError{Limit: abi.LimitHTTPResponseBytes, Max: c.maxBody}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("http: reading response body from %s: %w", where, err)
	}
	if int64(len(data)) > c.maxBody {
		return nil, &LimitError{Limit: abi.LimitHTTPResponseBytes, Max: c.maxBody}
	}
	out := &Response{Status: resp.StatusCode, Headers: make(map[string]string, len(resp.Header)), Body: data}
	for k, vs := range resp.Header {
		out.Headers[k] = strings.Join(vs, ", ")
	}
	return out, nil
}

// requestError turns an http.Client error into ours: a refusal comes back as the *DeniedError
// itself (with the URL of the refused hop filled in); anything else is wrapped with the hop's URL.
func (c *Client) requestError(hr *http.Request, err error) error {
	where := hr.URL.Redacted()
	var ue *url.Error
	if errors.As(err, &ue) {
		where = ue.URL
		err = ue.Err
	}
	var de *DeniedError
	if errors.As(err, &de) {
		if de.URL == "" {
			de.URL = where
		}
		return de
	}
	if hr.Context().Err() != nil {
		// The call itself ran out of time or was canceled: the caller reports that, not us.
		return fmt.Errorf("http: request to %s failed: %w", where, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &RequestError{URL: where, Reason: fmt.Sprintf("the server did not answer in time (%s to connect, %s for TLS, %s for the response headers)",
			dialTimeout, tlsHandshakeTimeout, responseHeaderTimeout), Timeout: true, Err: err}
	}
	return &RequestError{URL: where, Reason: err.Error(), Err: err}
}

// checkRedirect re-applies the policy to each redirect hop before it is sent.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.maxRedirects {
		return fmt.Errorf("stopped after %d redirects", c.maxRedirects)
	}
	if why := c.checkURL(req.URL); why != "" {
		return &DeniedError{URL: req.URL.Redacted(), Reason: why}
	}
	return nil
}

// dialContext is the transport's only way out. addr is the URL's host:port (no proxy is used).
// An IP literal listed in the allow-list is dialed as is; any other IP literal, and every address
// a name resolves to, must pass the address check. The checked IP is what is dialed.
func (c *Client) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &DeniedError{Reason: fmt.Sprintf("network %q is not allowed", network)}
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bad address %q: %w", addr, err)
	}
	p, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || p == 0 {
		return nil, &DeniedError{Reason: fmt.Sprintf("port %q is not valid", portStr)}
	}
	port := uint16(p)

	if a, ok := parseHostAddr(host); ok {
		if a.Zone() != "" {
			return nil, &DeniedError{Reason: fmt.Sprintf("host %q: zoned IPv6 addresses are not allowed", host)}
		}
		a = a.Unmap()
		if !c.literalListed(a, port) {
			if why := c.checkAddr(a); why != "" {
				return nil, &DeniedError{Reason: fmt.Sprintf("address %s is %s", a, why)}
			}
		}
		return c.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, port).String())
	}

	name := normalizeName(host)
	if !isASCII(host) || !c.nameListed(name, port) {
		// checkURL already refused this; a second line of defense.
		return nil, &DeniedError{Reason: fmt.Sprintf("host %q is not in the plugin's http allow-list", name)}
	}
	addrs, err := c.resolve(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %w", name, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolving %q: no addresses", name)
	}
	// All answers must pass: one internal address in the set is refusal, not a fallback.
	for i, a := range addrs {
		a = a.Unmap()
		addrs[i] = a
		if why := c.checkAddr(a); why != "" {
			return nil, &DeniedError{Reason: fmt.Sprintf("%q resolves to %s, %s; such an address is reachable only when listed as an IP literal", name, a, why)}
		}
	}
	var errs []error
	for _, a := range addrs {
		conn, err := c.dialer.DialContext(ctx, "tcp", netip.AddrPortFrom(a, port).String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (c *Client) resolve(ctx context.Context, name string) ([]netip.Addr, error) {
	if c.lookup != nil {
		return c.lookup(ctx, name)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
}

func (c *Client) checkAddr(a netip.Addr) string {
	if c.addrCheck != nil {
		return c.addrCheck(a)
	}
	return forbiddenReason(a)
}

// redact hides a password in a URL that may not parse.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return fmt.Sprintf("%q", raw)
}
