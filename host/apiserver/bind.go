package apiserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrPublicWithoutKey is wrapped by CheckBind's error for a non-loopback address without a key.
var ErrPublicWithoutKey = errors.New("refusing to listen beyond this machine without API_SERVER_KEY")

// CheckBind refuses to serve on anything but a loopback address (127.0.0.0/8, ::1, localhost)
// unless a key is set: without one, anyone who can reach the port could run the agent and,
// through it, the user's tools and shell.
func CheckBind(host string, hasKey bool) error {
	if hasKey || IsLoopback(host) {
		return nil
	}
	shown := host
	if shown == "" {
		shown = "every interface"
	}
	return fmt.Errorf("%w: %s is reachable from other machines, and anyone reaching it could run the agent and its tools; set a key (hermes config set API_SERVER_KEY \"$(openssl rand -hex 32)\") or listen on 127.0.0.1", ErrPublicWithoutKey, shown)
}

// IsLoopback reports whether host (a name or an IP literal, without a port) is this machine
// only. Names other than localhost are not resolved: what they resolve to can change.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseOrigins reads API_SERVER_CORS_ORIGINS: comma-separated exact origins
// ("https://app.example.com", "http://localhost:3000"), or "*" for any origin. It returns the
// origins, whether "*" was given, and an error naming the first entry that is not an origin (a
// path, a missing scheme), since a near-miss would silently allow nothing or the wrong site.
func ParseOrigins(list string) ([]string, bool, error) {
	var (
		out []string
		any bool
	)
	for _, raw := range strings.Split(list, ",") {
		o := strings.TrimSpace(raw)
		switch {
		case o == "":
			continue
		case o == "*":
			any = true
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, false, fmt.Errorf("API_SERVER_CORS_ORIGINS: %q is not an origin like https://app.example.com (scheme, host and port only)", o)
		}
		// Browsers send origins in lower case without a trailing slash.
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, any, nil
}
