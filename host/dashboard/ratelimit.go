package dashboard

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// loginLimiter counts failed logins per client, so that one client's wrong attempts never
// lock out another. A client is the address the connection came from (RemoteAddr, never a
// header a client writes itself such as X-Forwarded-For); an IPv6 client is its /64, the
// block one machine or home is usually given, so that walking through one's own addresses
// earns no extra attempts.
//
// A client may fail max times in a window that starts at its first failure; from then until
// the window ends its logins are refused, the right secret included. The table holds at most
// entries clients: ended windows are dropped first, then the oldest window, so memory stays
// bounded however many addresses a flood comes from.
type loginLimiter struct {
	max     int
	window  time.Duration
	entries int

	mu    sync.Mutex
	byKey map[string]*list.Element // of *failures
	order *list.List               // oldest window first: every window is as long, and starts at push
}

type failures struct {
	client string
	start  time.Time
	count  int
}

func newLoginLimiter(max int, window time.Duration, entries int) *loginLimiter {
	return &loginLimiter{max: max, window: window, entries: entries, byKey: map[string]*list.Element{}, order: list.New()}
}

// clientKey is what the limiter counts under for a request: the IPv4 address (an IPv4-mapped
// IPv6 address is its IPv4 address) or the IPv6 /64 of RemoteAddr, port and zone left out.
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

// sweep drops the clients whose window has ended; the caller holds mu.
func (l *loginLimiter) sweep(now time.Time) {
	for e := l.order.Front(); e != nil; e = l.order.Front() {
		f := e.Value.(*failures)
		if now.Sub(f.start) < l.window {
			return
		}
		l.order.Remove(e)
		delete(l.byKey, f.client)
	}
}

// retryAfter is how long client's logins are still refused (0: not refused).
func (l *loginLimiter) retryAfter(client string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	e, ok := l.byKey[client]
	if !ok {
		return 0
	}
	f := e.Value.(*failures)
	if f.count < l.max {
		return 0
	}
	return f.start.Add(l.window).Sub(now)
}

// fail records a failed login of client and reports whether that was its last one allowed.
func (l *loginLimiter) fail(client string, now time.Time) (limited bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	if e, ok := l.byKey[client]; ok {
		f := e.Value.(*failures)
		f.count++
		return f.count == l.max
	}
	for l.order.Len() >= l.entries {
		oldest := l.order.Front()
		l.order.Remove(oldest)
		delete(l.byKey, oldest.Value.(*failures).client)
	}
	l.byKey[client] = l.order.PushBack(&failures{client: client, start: now, count: 1})
	return l.max == 1
}

// forget clears client's failures, after it logged in.
func (l *loginLimiter) forget(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.byKey[client]; ok {
		l.order.Remove(e)
		delete(l.byKey, client)
	}
}

// tracked is how many clients the table holds.
func (l *loginLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.byKey)
}
