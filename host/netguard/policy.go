package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/hermes-agent/hermes/abi/manifest"
)

// entry is one parsed allow-list entry.
type entry struct {
	raw      string
	ip       netip.Addr // valid for an IP literal entry (unmapped, no zone)
	name     string     // lowercase host name for a name entry, without "*."
	wildcard bool       // "*." + name: any subdomain of name, not name itself
	port     uint16     // 0: only the scheme's default port
}

func parseEntry(s string) (entry, error) {
	if err := manifest.ValidateHTTPAllow(s); err != nil {
		return entry{}, err
	}
	host, port, err := manifest.SplitHostPort(s)
	if err != nil {
		return entry{}, err
	}
	e := entry{raw: s}
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return entry{}, fmt.Errorf("%q: port must be 1-65535", s)
		}
		e.port = uint16(n)
	}
	if ip := net.ParseIP(host); ip != nil {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return entry{}, fmt.Errorf("%q: bad IP address", s)
		}
		e.ip = a.Unmap()
		return e, nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		e.wildcard = true
		name = rest
	}
	if name == "" {
		return entry{}, fmt.Errorf("%q: empty host name", s)
	}
	e.name = name
	return e, nil
}

// matchesName reports whether the normalized host name h is covered by e, ignoring the port.
func (e *entry) matchesName(h string) bool {
	if e.name == "" {
		return false
	}
	if e.wildcard {
		return len(h) > len(e.name)+1 && strings.HasSuffix(h, "."+e.name)
	}
	return h == e.name
}

// matchesPort reports whether port is allowed by e for a URL of the given scheme. An entry
// without a port allows only the scheme's default port; scheme "" (the dialer, which does not
// know it) accepts either default.
func (e *entry) matchesPort(port uint16, scheme string) bool {
	if e.port != 0 {
		return port == e.port
	}
	switch scheme {
	case "http":
		return port == 80
	case "https":
		return port == 443
	case "":
		return port == 80 || port == 443
	}
	return false
}

func defaultPort(scheme string) uint16 {
	if scheme == "https" {
		return 443
	}
	return 80
}

// normalizeName lowercases a host name and strips one trailing dot.
func normalizeName(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// parseHostAddr parses an IP literal host (already without brackets). ok is false for names.
func parseHostAddr(h string) (a netip.Addr, ok bool) {
	a, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return a, true
}

// checkURL applies the allow-list to one request or redirect hop. It returns a refusal reason,
// or "" when the URL may be requested.
func (c *Client) checkURL(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return fmt.Sprintf("scheme %q is not allowed (only http and https)", u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return "the URL has no host"
	}
	host := u.Hostname()
	if host == "" {
		return "the URL has no host"
	}
	port := defaultPort(scheme)
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return fmt.Sprintf("port %q is not valid", p)
		}
		port = uint16(n)
	}
	if a, ok := parseHostAddr(host); ok {
		if a.Zone() != "" {
			return fmt.Sprintf("host %q: zoned IPv6 addresses are not allowed", host)
		}
		a = a.Unmap()
		return c.match(host, port, scheme, func(e *entry) bool { return e.ip.IsValid() && e.ip == a })
	}
	if !isASCII(host) {
		return fmt.Sprintf("host %q is not ASCII (use its xn-- form)", host)
	}
	name := normalizeName(host)
	if name == "" {
		return fmt.Sprintf("host %q is not a valid host name", host)
	}
	return c.match(name, port, scheme, func(e *entry) bool { return e.matchesName(name) })
}

// match returns "" when an entry that hostMatches also allows port, else why not.
func (c *Client) match(host string, port uint16, scheme string, hostMatches func(*entry) bool) string {
	listed := false
	for i := range c.entries {
		e := &c.entries[i]
		if hostMatches(e) {
			listed = true
			if e.matchesPort(port, scheme) {
				return ""
			}
		}
	}
	if listed {
		return fmt.Sprintf("port %d of host %q is not in the plugin's http allow-list", port, host)
	}
	return fmt.Sprintf("host %q is not in the plugin's http allow-list", host)
}

// literalListed reports whether the IP a with port is listed literally (the dialer's view: the
// scheme is not known there and was checked by checkURL).
func (c *Client) literalListed(a netip.Addr, port uint16) bool {
	a = a.Unmap()
	for i := range c.entries {
		e := &c.entries[i]
		if e.ip.IsValid() && e.ip == a && e.matchesPort(port, "") {
			return true
		}
	}
	return false
}

// nameListed reports whether the normalized name with port is covered by a name entry.
func (c *Client) nameListed(name string, port uint16) bool {
	for i := range c.entries {
		e := &c.entries[i]
		if e.matchesName(name) && e.matchesPort(port, "") {
			return true
		}
	}
	return false
}
