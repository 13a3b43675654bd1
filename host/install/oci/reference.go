package oci

import (
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Scheme prefixes every reference this package reads and writes.
const Scheme = "oci://"

// Reference names one manifest in an OCI registry: oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:HEX].
// At least one of Tag and Digest is set. When both are, the digest decides what is pulled and the
// tag is only a label for people.
type Reference struct {
	Registry   string // "127.0.0.1:5000", "ghcr.io", "[::1]:5000"
	Repository string // "acme/weather"
	Tag        string // "1.2.0", or ""
	Digest     string // "sha256:…" (64 lowercase hex digits), or ""
}

// String gives the reference back in the form ParseReference reads.
func (r Reference) String() string {
	var b strings.Builder
	b.WriteString(Scheme)
	b.WriteString(r.Registry)
	b.WriteString("/")
	b.WriteString(r.Repository)
	if r.Tag != "" {
		b.WriteString(":")
		b.WriteString(r.Tag)
	}
	if r.Digest != "" {
		b.WriteString("@")
		b.WriteString(r.Digest)
	}
	return b.String()
}

// The grammar is the OCI distribution spec's, narrowed where hermes is stricter: digests must be
// sha256, because that is the one algorithm every registry supports and the one we verify.
var (
	// A repository is path components of lowercase alphanumerics joined by one '.', one or two
	// '_', or any number of '-'.
	repositoryPattern = lazyRegexp(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagPattern        = lazyRegexp(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	digestPattern     = lazyRegexp(`^sha256:[a-f0-9]{64}$`)
	hostLabelPattern  = lazyRegexp(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$`)
)

// maxRepositoryLength is the distribution spec's limit on a repository name.
const maxRepositoryLength = 255

const wantForm = "want oci://HOST/REPOSITORY:TAG or oci://HOST/REPOSITORY@sha256:DIGEST"

// ParseReference reads "oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]". It refuses, with an
// error of kind ErrBadReference that names the offending part: a missing oci:// prefix,
// credentials in the host part (they go in Options), a host that is not a name or an IP address,
// a port outside 1-65535, a repository or tag outside the distribution spec's grammar, a digest
// other than sha256, and a reference with neither tag nor digest (there is no implicit "latest":
// a plugin install should say which version it wants).
func ParseReference(s string) (Reference, error) {
	shown := printable(s)
	fail := func(msg, note string) (Reference, error) {
		return Reference{}, &Error{Ref: shown, Kind: ErrBadReference, Msg: msg, Note: note}
	}
	if s == "" {
		return fail("empty reference", wantForm)
	}
	if len(s) < len(Scheme) || !strings.EqualFold(s[:len(Scheme)], Scheme) {
		return fail("not an oci:// reference", wantForm)
	}
	rest := s[len(Scheme):]

	host, path, found := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		// Echoing the input would print the password; show the reference without it.
		shown = printable(Scheme + "…@" + rest[at+1:])
		return fail("credentials do not belong in the reference", "pass them as the registry username and password instead")
	}
	if host == "" {
		return fail("missing registry host", wantForm)
	}
	if err := checkRegistryHost(host); err != "" {
		return fail(err, "want a host name or IP address, optionally with :PORT; IPv6 in brackets")
	}
	if !found || path == "" {
		return fail("missing repository", wantForm)
	}

	ref := Reference{Registry: host}
	if at := strings.Index(path, "@"); at >= 0 {
		ref.Digest = path[at+1:]
		path = path[:at]
		if !digestPattern().MatchString(ref.Digest) {
			return fail("invalid digest "+strconv.Quote(ref.Digest), "want sha256: followed by 64 lowercase hex digits")
		}
	}
	lastSlash := strings.LastIndex(path, "/")
	if colon := strings.Index(path[lastSlash+1:], ":"); colon >= 0 {
		ref.Tag = path[lastSlash+1+colon+1:]
		path = path[:lastSlash+1+colon]
		if !tagPattern().MatchString(ref.Tag) {
			return fail("invalid tag "+strconv.Quote(ref.Tag), "up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")
		}
	}
	ref.Repository = path
	if ref.Repository == "" {
		return fail("missing repository", wantForm)
	}
	if len(ref.Repository) > maxRepositoryLength || !repositoryPattern().MatchString(ref.Repository) {
		return fail("invalid repository "+strconv.Quote(ref.Repository), "lowercase letters and digits, separated by '.', '_', '__' or '-', in components joined by '/', at most 255 characters")
	}
	if ref.Tag == "" && ref.Digest == "" {
		return fail("missing tag or digest", "add :VERSION or @sha256:DIGEST")
	}
	return ref, nil
}

// checkRegistryHost returns what is wrong with host ("" when nothing is).
func checkRegistryHost(host string) string {
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.Index(host, "]")
		if end < 0 {
			return "invalid registry host " + strconv.Quote(host) + ": unclosed '['"
		}
		name, port = host[1:end], host[end+1:]
		addr, err := netip.ParseAddr(name)
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "invalid registry host " + strconv.Quote(host) + ": not an IPv6 address"
		}
		if port != "" {
			if !strings.HasPrefix(port, ":") {
				return "invalid registry host " + strconv.Quote(host)
			}
			port = port[1:]
		}
	} else {
		if i := strings.LastIndex(host, ":"); i >= 0 {
			name, port = host[:i], host[i+1:]
			if port == "" {
				return "invalid registry host " + strconv.Quote(host) + ": empty port"
			}
		}
		if len(name) > 253 {
			return "invalid registry host " + strconv.Quote(host) + ": name too long"
		}
		for label := range strings.SplitSeq(name, ".") {
			if !hostLabelPattern().MatchString(label) {
				return "invalid registry host " + strconv.Quote(host)
			}
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "invalid registry port " + strconv.Quote(port)
		}
	}
	return ""
}

// IsLoopback reports whether registry (a Reference.Registry) is on this machine: localhost,
// 127.0.0.0/8 or ::1. Only those are spoken to over plain HTTP unless Options.PlainHTTP says so.
func IsLoopback(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// printable makes s safe to put in a one-line error: quoted when it holds anything odd.
func printable(s string) string {
	const maxShown = 300
	odd := strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' })
	if len(s) > maxShown {
		s = s[:maxShown] + "…"
		odd = true
	}
	if odd {
		return strconv.Quote(s)
	}
	return s
}

// lazyRegexp compiles pattern on first use rather than at start-up, which every command pays.
func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
