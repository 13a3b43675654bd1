package dashboard

import (
	"net"
	"net/http"
	"net/netip"
)

// clientKey is what the login limiter counts a request's attempts under, so that one client's
// wrong attempts never lock out another: the address the connection came from (RemoteAddr,
// never a header a client writes itself such as X-Forwarded-For), port and zone left out. An
// IPv4-mapped IPv6 address is its IPv4 address; an IPv6 client is its /64, the block one
// machine or home is usually given, so that walking through one's own addresses earns no
// extra attempts.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		// Not an IP (a Unix socket, say): one client for all such, its key kept short.
		if len(host) > 64 {
			host = host[:64]
		}
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}
