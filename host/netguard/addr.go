package netguard

import "net/netip"

// addrRule refuses the addresses in Prefix, for Reason.
type addrRule struct {
	Prefix netip.Prefix
	Reason string
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// v4Rules are checked in order; the first match names the reason, so the specific (metadata,
// broadcast) precede the ranges that contain them.
var v4Rules = []addrRule{
	{mustPrefix("169.254.169.254/32"), "a cloud metadata address"},
	{mustPrefix("169.254.170.2/32"), "a cloud metadata address"},
	{mustPrefix("100.100.100.200/32"), "a cloud metadata address"},
	{mustPrefix("255.255.255.255/32"), "the broadcast address"},
	{mustPrefix("0.0.0.0/8"), "an unspecified or this-network (0.0.0.0/8) address"},
	{mustPrefix("10.0.0.0/8"), "a private address"},
	{mustPrefix("100.64.0.0/10"), "a carrier-grade NAT (100.64.0.0/10) address"},
	{mustPrefix("127.0.0.0/8"), "a loopback address"},
	{mustPrefix("169.254.0.0/16"), "a link-local address"},
	{mustPrefix("172.16.0.0/12"), "a private address"},
	{mustPrefix("192.0.0.0/24"), "a reserved (IETF protocol assignment) address"},
	{mustPrefix("192.0.2.0/24"), "a documentation address"},
	{mustPrefix("192.88.99.0/24"), "a reserved (6to4 relay) address"},
	{mustPrefix("192.168.0.0/16"), "a private address"},
	{mustPrefix("198.18.0.0/15"), "a reserved (benchmarking) address"},
	{mustPrefix("198.51.100.0/24"), "a documentation address"},
	{mustPrefix("203.0.113.0/24"), "a documentation address"},
	{mustPrefix("224.0.0.0/4"), "a multicast address"},
	{mustPrefix("240.0.0.0/4"), "a reserved address"},
}

var v6Rules = []addrRule{
	{mustPrefix("fd00:ec2::254/128"), "a cloud metadata address"},
	{mustPrefix("::/128"), "the unspecified address"},
	{mustPrefix("::1/128"), "a loopback address"},
	{mustPrefix("fe80::/10"), "a link-local address"},
	{mustPrefix("fc00::/7"), "a private (unique local) address"},
	{mustPrefix("ff00::/8"), "a multicast address"},
	{mustPrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
	{mustPrefix("2001::/32"), "a Teredo address"},
	{mustPrefix("2001:10::/28"), "a reserved (ORCHID) address"},
	{mustPrefix("2001:20::/28"), "a reserved (ORCHIDv2) address"},
	{mustPrefix("2001:db8::/32"), "a documentation address"},
	{mustPrefix("3fff::/20"), "a documentation address"},
}

var (
	nat64Prefix  = mustPrefix("64:ff9b::/96")
	sixToFour    = mustPrefix("2002::/16")
	globalUnicst = mustPrefix("2000::/3")
)

// forbiddenReason reports why a plugin may not connect to a, or "" when a is a public address.
// IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4 (2002:AABB:CCDD::) forms are
// judged by the IPv4 address they carry. Anything IPv6 outside global unicast (2000::/3) is refused.
func forbiddenReason(a netip.Addr) string {
	if !a.IsValid() {
		return "not a valid address"
	}
	if a.Zone() != "" {
		return "a zoned (interface-scoped) address"
	}
	a = a.Unmap()
	if a.Is4() {
		for _, r := range v4Rules {
			if r.Prefix.Contains(a) {
				return r.Reason
			}
		}
		return ""
	}
	for _, r := range v6Rules {
		if r.Prefix.Contains(a) {
			return r.Reason
		}
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		if why := forbiddenReason(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); why != "" {
			return "a NAT64 form of " + why
		}
		return ""
	case sixToFour.Contains(a):
		if why := forbiddenReason(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})); why != "" {
			return "a 6to4 form of " + why
		}
		return ""
	case !globalUnicst.Contains(a):
		// ::a.b.c.d (IPv4-compatible, deprecated), 100::/64 discard, and the rest of the
		// unassigned or special space.
		return "not a global unicast address"
	}
	return ""
}
