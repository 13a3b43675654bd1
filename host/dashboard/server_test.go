package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/host/attempts"
	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/registry/registrytest"
	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/host/testplugins"
	"github.com/hermes-agent/hermes/store"
)

const addr = "127.0.0.1:9119"

type harness struct {
	t    *testing.T
	srv  *Server
	h    http.Handler
	home *registrytest.Home
	log  *bytes.Buffer
	plug Plugins
}

func newHarness(t *testing.T, mutate func(*Options)) *harness {
	t.Helper()
	home := registrytest.New(t, registrytest.Options{Plugins: []string{"plugins/files"}})
	var log bytes.Buffer
	o := Options{Addr: addr, Plugins: home.Registry, Store: home.DB, Keys: DotEnv(home.Paths.Env),
		Installer: install.New(home.Registry, home.DB, home.Paths, home.Config),
		Logger:    slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Status:    Status{Version: "test", Profile: "default", Home: home.Paths.Home, Backend: "local", BaseURL: "http://127.0.0.1:1/v1", Model: "m"}}
	if mutate != nil {
		mutate(&o)
	}
	srv, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, srv: srv, h: srv.Handler(), home: home, log: &log, plug: o.Plugins}
}

// do sends a request as a same-origin browser would, unless headers say otherwise.
func (h *harness) do(method, path string, form url.Values, cookie *http.Cookie, headers map[string]string) *httptest.ResponseRecorder {
	h.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, "http://"+addr+path, body)
	req.Host = addr
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range headers {
		switch k {
		case "Host":
			req.Host = v
			continue
		case "RemoteAddr": // the connection's address, not a header
			req.RemoteAddr = v
			continue
		}
		req.Header.Set(k, v)
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

func (h *harness) token() string {
	u, err := url.Parse(h.srv.LoginURL())
	if err != nil {
		h.t.Fatal(err)
	}
	return u.Query().Get("token")
}

// login opens the one-time URL and returns the session cookie and its CSRF token.
func (h *harness) login() (*http.Cookie, string) {
	h.t.Helper()
	rec := h.do("GET", "/login?token="+h.token(), nil, nil, nil)
	if rec.Code != http.StatusSeeOther {
		h.t.Fatalf("login: %d %s", rec.Code, rec.Body)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		h.t.Fatalf("login set %d cookies", len(cookies))
	}
	page := h.do("GET", "/keys", nil, cookies[0], nil)
	m := regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`).FindStringSubmatch(page.Body.String())
	if m == nil {
		h.t.Fatalf("no csrf token on the keys page:\n%s", page.Body)
	}
	return cookies[0], m[1]
}

func TestCheckBind(t *testing.T) {
	const refused = "refusing to serve the dashboard on 192.0.2.10: it would be reachable from other machines; listen on 127.0.0.1, or give --tls-cert, --tls-key and set DASHBOARD_PASSWORD or DASHBOARD_TOKEN (hermes config set DASHBOARD_TOKEN \"$(openssl rand -hex 32)\")"
	everywhere := func(host string) string {
		return `refusing to serve the dashboard on every interface ("` + host + `"): it accepts only requests whose Host header names the address it serves (against DNS rebinding); give the name or address browsers will use, --host NAME, with --tls-cert, --tls-key and a password or token`
	}
	tests := []struct {
		name        string
		host        string
		tls, secret bool // secret: DASHBOARD_PASSWORD or DASHBOARD_TOKEN is set
		want        string
	}{
		{"loopback", "127.0.0.1", false, false, ""},
		{"localhost", "localhost", false, false, ""},
		{"ipv6 loopback", "::1", false, false, ""},
		{"public without anything", "192.0.2.10", false, false, refused},
		{"public with tls only", "192.0.2.10", true, false, refused},
		{"public with a password or token only", "192.0.2.10", false, true, refused},
		{"public with both", "192.0.2.10", true, true, ""},
		{"a name with both", "dash.example", true, true, ""},
		{"every interface", "0.0.0.0", true, true, everywhere("0.0.0.0")},
		{"every ipv6 interface", "::", true, true, everywhere("::")},
		{"no host", "", true, true, everywhere("")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBind(tt.host, tt.tls, tt.secret)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("CheckBind(%q, %v, %v) = %q, want %q", tt.host, tt.tls, tt.secret, got, tt.want)
			}
		})
	}
}

func TestLoginIsOneTimeAndSetsAStrictCookie(t *testing.T) {
	h := newHarness(t, nil)
	for _, path := range []string{"/", "/plugins", "/keys", "/activity/chart.svg"} {
		if rec := h.do("GET", path, nil, nil, nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
			t.Errorf("GET %s without a cookie: %d %s", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	if rec := h.do("POST", "/keys", url.Values{"name": {"X_KEY"}, "value": {"v"}}, nil, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST without a cookie: %d", rec.Code)
	}
	if rec := h.do("GET", "/login", nil, nil, nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Open the login link") {
		t.Errorf("login page: %d", rec.Code)
	}
	if rec := h.do("GET", "/login?token=00"+h.token()[2:], nil, nil, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", rec.Code)
	}
	token := h.token()
	rec := h.do("GET", "/login?token="+token, nil, nil, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", rec.Code)
	}
	c := rec.Result().Cookies()[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure || c.MaxAge <= 0 || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, not Secure without TLS, an expiry", c)
	}
	if rec := h.do("GET", "/login?token="+token, nil, nil, nil); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "already used") {
		t.Errorf("second use of the token: %d", rec.Code)
	}
	if rec := h.do("GET", "/", nil, c, nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "Terminal backend") {
		t.Errorf("status with the cookie: %d", rec.Code)
	}
	if rec := h.do("GET", "/", nil, &http.Cookie{Name: cookieName, Value: strings.Repeat("a", 64)}, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", rec.Code)
	}
}

func TestSecureCookieUnderTLS(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.TLS = true })
	if !strings.HasPrefix(h.srv.LoginURL(), "https://"+addr+"/login?token=") {
		t.Errorf("login URL %s", h.srv.LoginURL())
	}
	rec := h.do("GET", "/login?token="+h.token(), nil, nil, nil)
	if c := rec.Result().Cookies(); len(c) != 1 || !c[0].Secure {
		t.Errorf("cookie under TLS: %+v", c)
	}
}

// setClock makes the server's clock say *now, read at each call.
func (h *harness) setClock(now *time.Time) {
	h.srv.mu.Lock()
	h.srv.now = func() time.Time { return *now }
	h.srv.mu.Unlock()
}

const (
	clientA = "198.51.100.7:40001"
	clientB = "203.0.113.9:50002"
)

// Failed logins are counted per client (the connection's address): an attacker who keeps
// trying gets 429 with when to retry, the right secret included, while the user on another
// address still logs in, with the password or with the login link.
func TestLoginAttemptsAreRateLimitedPerClient(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Password = "correct horse" })
	now := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	h.setClock(&now)
	a := map[string]string{"RemoteAddr": clientA}
	for i := range maxFailures {
		if rec := h.do("POST", "/login", url.Values{"password": {"wrong"}}, nil, a); rec.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, rec.Code)
		}
		now = now.Add(time.Second)
	}
	rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, a)
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("A's right password after %d failures: %d, want 429", maxFailures, rec.Code)
	}
	// The window began at the first failure, 10s ago: 50s to go.
	if got := rec.Header().Get("Retry-After"); got != "50" {
		t.Errorf("Retry-After %q, want 50", got)
	}
	if body := rec.Body.String(); !strings.Contains(body, "Too many failed logins from your address. Try again in 50 seconds (after 01:01:00 UTC).") {
		t.Errorf("429 page does not say when to retry:\n%s", body)
	}
	if rec := h.do("GET", "/login?token="+h.token(), nil, nil, a); rec.Code != http.StatusTooManyRequests {
		t.Errorf("A's login link after %d failures: %d, want 429", maxFailures, rec.Code)
	}
	// Another port of the same address, an IPv4-mapped form of it: the same client.
	for _, same := range []string{"198.51.100.7:1", "[::ffff:198.51.100.7]:2"} {
		if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, map[string]string{"RemoteAddr": same}); rec.Code != http.StatusTooManyRequests {
			t.Errorf("A from %s: %d, want 429", same, rec.Code)
		}
	}
	// X-Forwarded-For is written by the client: it neither frees A nor blames B.
	if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, map[string]string{"RemoteAddr": clientA, "X-Forwarded-For": "203.0.113.9"}); rec.Code != http.StatusTooManyRequests {
		t.Errorf("A claiming to be B in X-Forwarded-For: %d, want 429", rec.Code)
	}
	b := map[string]string{"RemoteAddr": clientB, "X-Forwarded-For": "198.51.100.7"}
	if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, b); rec.Code != http.StatusSeeOther || len(rec.Result().Cookies()) != 1 {
		t.Errorf("B's right password while A is limited: %d, want 303 and a cookie", rec.Code)
	}
	if rec := h.do("GET", "/login?token="+h.token(), nil, nil, b); rec.Code != http.StatusSeeOther {
		t.Errorf("B's login link while A is limited: %d, want 303", rec.Code)
	}
	if !strings.Contains(h.log.String(), "client=198.51.100.7") || strings.Contains(h.log.String(), "correct horse") {
		t.Errorf("log should name the limited client and never the password:\n%s", h.log)
	}
}

// An IPv6 client is its /64: hopping addresses inside it earns no extra attempts, another /64
// is another client.
func TestLoginLimitKeysIPv6ByThe64(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Password = "correct horse" })
	for i := range maxFailures {
		h.do("POST", "/login", url.Values{"password": {"wrong"}}, nil, map[string]string{"RemoteAddr": "[2001:db8:1:2::" + strconv.FormatInt(int64(i+1), 16) + "]:443"})
	}
	for remote, want := range map[string]int{
		"[2001:db8:1:2:ffff:ffff:ffff:ffff]:1": http.StatusTooManyRequests,
		"[2001:db8:1:2::1%eth0]:1":             http.StatusTooManyRequests,
		"[2001:db8:1:3::1]:1":                  http.StatusSeeOther,
	} {
		if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, map[string]string{"RemoteAddr": remote}); rec.Code != want {
			t.Errorf("%s: %d, want %d", remote, rec.Code, want)
		}
	}
}

func TestClientKey(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.1:1234":          "192.0.2.1",
		"[::ffff:192.0.2.1]:1234": "192.0.2.1",
		"[2001:db8::1]:80":        "2001:db8::/64",
		"[fe80::1%eth0]:80":       "fe80::/64",
		"[::1]:80":                "::/64",
		"192.0.2.1":               "192.0.2.1",
		"@":                       "@",
		strings.Repeat("x", 200):  strings.Repeat("x", 64),
	} {
		if got := clientKey(&http.Request{RemoteAddr: remote}); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", remote, got, want)
		}
	}
}

// The limit lasts its window, counted from the client's first failure; a login forgets it.
func TestLoginLimitEndsWithItsWindow(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Password = "correct horse" })
	now := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	start := now
	h.setClock(&now)
	a := map[string]string{"RemoteAddr": clientA}
	for range maxFailures {
		h.do("POST", "/login", url.Values{"password": {"wrong"}}, nil, a)
	}
	now = start.Add(failureWindow - time.Nanosecond)
	if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, a); rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("just before the window ends: %d Retry-After %q, want 429 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	now = start.Add(failureWindow)
	if rec := h.do("POST", "/login", url.Values{"password": {"wrong"}}, nil, a); rec.Code != http.StatusUnauthorized {
		t.Errorf("a wrong password once the window ended: %d, want 401", rec.Code)
	}
	if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, a); rec.Code != http.StatusSeeOther {
		t.Errorf("the right password once the window ended: %d, want 303", rec.Code)
	}
	if n := h.srv.limit.Tracked(); n != 0 {
		t.Errorf("after A logged in the limiter still tracks %d clients", n)
	}
}

// However many addresses a flood comes from, the table holds at most its size, and a client
// still in the table stays limited (host/attempts tests the table itself).
func TestLoginLimiterStaysBounded(t *testing.T) {
	const size = 16
	h := newHarness(t, func(o *Options) { o.Password = "correct horse" })
	h.srv.limit = attempts.New(maxFailures, failureWindow, size, attempts.DropOldest)
	now := time.Date(2026, 12, 8, 1, 0, 0, 0, time.UTC)
	h.setClock(&now)
	for i := range 10 * size {
		remote := "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256) + ":1"
		h.do("POST", "/login", url.Values{"password": {"wrong"}}, nil, map[string]string{"RemoteAddr": remote})
		if n := h.srv.limit.Tracked(); n > size {
			t.Fatalf("after %d clients the limiter tracks %d, more than %d", i+1, n, size)
		}
		now = now.Add(time.Millisecond)
	}
	// A new client, hammering, is limited though the table is full of others.
	last := map[string]string{"RemoteAddr": "10.0.0.255:1"}
	for range maxFailures {
		h.do("POST", "/login", url.Values{"password": {"wrong"}}, nil, last)
	}
	if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, last); rec.Code != http.StatusTooManyRequests {
		t.Errorf("a limited client in a full table: %d, want 429", rec.Code)
	}
}

func TestPasswordLogin(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Password = "correct horse" })
	rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, nil)
	if rec.Code != http.StatusSeeOther || len(rec.Result().Cookies()) != 1 {
		t.Errorf("password login: %d", rec.Code)
	}
}

func TestHostHeaderMustBeOurs(t *testing.T) {
	h := newHarness(t, nil)
	c, _ := h.login()
	tests := []struct {
		host string
		want int
	}{
		{"evil.example", http.StatusMisdirectedRequest},
		{"evil.example:9119", http.StatusMisdirectedRequest},
		{"127.0.0.1:9119", http.StatusOK},
		{"localhost:9119", http.StatusOK},
		{"localhost:9120", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if rec := h.do("GET", "/", nil, c, map[string]string{"Host": tt.host}); rec.Code != tt.want {
				t.Errorf("Host %s: %d, want %d", tt.host, rec.Code, tt.want)
			}
		})
	}
	if rec := h.do("GET", "/login?token="+h.token(), nil, nil, map[string]string{"Host": "evil.example"}); rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("login through a rebound name: %d", rec.Code)
	}
}

func TestCrossOriginAndCSRF(t *testing.T) {
	h := newHarness(t, nil)
	c, csrf := h.login()
	disable := func(form url.Values, headers map[string]string) int {
		return h.do("POST", "/plugins/files/disable", form, c, headers).Code
	}
	tests := []struct {
		name    string
		form    url.Values
		headers map[string]string
		want    int
	}{
		{"cross-site fetch", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"other origin", url.Values{"csrf": {csrf}}, map[string]string{"Sec-Fetch-Site": "", "Origin": "http://127.0.0.1:9999"}, http.StatusForbidden},
		{"no csrf token", url.Values{}, nil, http.StatusForbidden},
		{"wrong csrf token", url.Values{"csrf": {strings.Repeat("0", 64)}}, nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := disable(tt.form, tt.headers); got != tt.want {
				t.Errorf("%d, want %d", got, tt.want)
			}
			if info, _ := h.home.Registry.Get(context.Background(), "files"); !info.Enabled {
				t.Fatal("a refused request disabled the plugin")
			}
		})
	}
	// GET never changes anything: the action routes answer POST only.
	if rec := h.do("GET", "/plugins/files/disable", nil, c, nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET of an action: %d", rec.Code)
	}
	if got := disable(url.Values{"csrf": {csrf}}, nil); got != http.StatusSeeOther {
		t.Fatalf("disable with the token: %d", got)
	}
	if info, _ := h.home.Registry.Get(context.Background(), "files"); info.Enabled {
		t.Error("still enabled")
	}
	if rec := h.do("POST", "/plugins/files/enable", url.Values{"csrf": {csrf}}, c, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("enable: %d %s", rec.Code, rec.Body)
	}
	if info, _ := h.home.Registry.Get(context.Background(), "files"); !info.Enabled {
		t.Error("not enabled again")
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newHarness(t, nil)
	c, _ := h.login()
	for _, r := range []struct {
		path   string
		cookie *http.Cookie
		host   string
	}{{"/login", nil, ""}, {"/", c, ""}, {"/plugins/files", c, ""}, {"/static/style.css", nil, ""}, {"/", nil, "evil.example"}, {"/nope", c, ""}} {
		headers := map[string]string{}
		if r.host != "" {
			headers["Host"] = r.host
		}
		rec := h.do("GET", r.path, nil, r.cookie, headers)
		want := map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-store",
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", r.path, k, got, v)
			}
		}
	}
}

// No template has inline script or style for the CSP to block; nothing needs JavaScript.
func TestTemplatesHaveNoInlineScriptOrStyle(t *testing.T) {
	files, _ := filepath.Glob("templates/*.html")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, bad := range []string{"<script", "style=", "<style", "javascript:", " on"} {
			if bad == " on" {
				if regexp.MustCompile(`\son[a-z]+=`).Match(b) {
					t.Errorf("%s has an inline event handler", f)
				}
				continue
			}
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s contains %q", f, bad)
			}
		}
	}
}

func TestKeysAreWriteOnly(t *testing.T) {
	h := newHarness(t, nil)
	c, csrf := h.login()
	const secret = "sk-live-SECRETVALUE-9876"
	rec := h.do("POST", "/keys", url.Values{"csrf": {csrf}, "name": {"OPENAI_API_KEY"}, "value": {secret}}, c, nil)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("set: %d %s", rec.Code, rec.Body)
	}
	page := h.do("GET", "/keys", nil, c, nil).Body.String()
	if !strings.Contains(page, "OPENAI_API_KEY") || !strings.Contains(page, "••••9876") {
		t.Errorf("keys page lacks the name and mask:\n%s", page)
	}
	bad := h.do("POST", "/keys", url.Values{"csrf": {csrf}, "name": {"BAD NAME"}, "value": {secret + "\nx"}}, c, nil)
	if bad.Code != http.StatusBadRequest || !strings.Contains(bad.Body.String(), "could not set BAD NAME") {
		t.Errorf("bad key: %d %s", bad.Code, bad.Body)
	}
	multi := h.do("POST", "/keys", url.Values{"csrf": {csrf}, "name": {"OTHER_KEY"}, "value": {secret + "\nx"}}, c, nil)
	for _, where := range []string{page, rec.Body.String(), rec.Header().Get("Location"), bad.Body.String(), multi.Body.String(), h.log.String()} {
		if strings.Contains(where, "SECRETVALUE") {
			t.Fatalf("the value was shown: %s", where)
		}
	}
	env, _ := os.ReadFile(h.home.Paths.Env)
	if !strings.Contains(string(env), secret) {
		t.Error("not written to .env")
	}
	if rec := h.do("POST", "/keys/OPENAI_API_KEY/delete", url.Values{"csrf": {csrf}}, c, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("delete: %d", rec.Code)
	}
	if env, _ := os.ReadFile(h.home.Paths.Env); strings.Contains(string(env), "OPENAI_API_KEY") {
		t.Error("still in .env after delete")
	}
}

func TestEverythingShownIsEscaped(t *testing.T) {
	h := newHarness(t, nil)
	c, csrf := h.login()
	ctx := context.Background()
	s, err := h.home.DB.CreateSession(ctx, "telegram", "default", "m", "<img src=x onerror=alert(1)>")
	if err != nil {
		t.Fatal(err)
	}
	const xss = `<script>alert("pwned")</script> payload`
	if _, err := h.home.DB.AppendMessage(ctx, store.Message{SessionID: s.ID, Role: store.RoleUser, Content: xss}); err != nil {
		t.Fatal(err)
	}
	// A tool call's arguments and a tool's result, both from outside, are shown as text too.
	if _, err := h.home.DB.AppendMessage(ctx, store.Message{SessionID: s.ID, Role: store.RoleAssistant,
		ToolCalls: []store.ToolCall{{ID: "c1", Name: "files__read", Arguments: `{"path":"</pre><script>alert(2)</script>"}`}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.home.DB.AppendMessage(ctx, store.Message{SessionID: s.ID, Role: store.RoleTool, ToolCallID: "c1", Name: "files__read",
		Content: `</pre></details><script>alert(3)</script>`}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/sessions", "/sessions/" + s.ID, "/sessions?q=payload"} {
		body := h.do("GET", path, nil, c, nil).Body.String()
		if strings.Contains(body, "<script>") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s renders markup from a session:\n%s", path, body)
		}
	}
	if body := h.do("GET", "/sessions/"+s.ID, nil, c, nil).Body.String(); !strings.Contains(body, "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;") {
		t.Errorf("transcript does not show the payload as text:\n%s", body)
	}
	if body := h.do("GET", "/sessions/"+s.ID, nil, c, nil).Body.String(); !strings.Contains(body, "&lt;/pre&gt;&lt;script&gt;alert(2)") || !strings.Contains(body, "&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;alert(3)") {
		t.Errorf("transcript does not show the tool call and result as text:\n%s", body)
	}
	if body := h.do("GET", "/sessions/"+s.ID, nil, c, nil).Body.String(); !strings.Contains(body, "calls <code>files.read</code>") || !strings.Contains(body, "tool result <code>files.read</code>") || strings.Contains(body, "files__read") {
		t.Errorf("transcript does not name the tool files.read:\n%s", body)
	}
	if body := h.do("GET", "/sessions?q=payload", nil, c, nil).Body.String(); !strings.Contains(body, "<mark>payload</mark>") {
		t.Errorf("search snippet lacks the marked term:\n%s", body)
	}
	if rec := h.do("POST", "/sessions/"+s.ID+"/delete", url.Values{"csrf": {csrf}}, c, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("delete session: %d", rec.Code)
	}
	if _, err := h.home.DB.GetSession(ctx, s.ID, store.SessionFilter{AllSources: true}); err == nil {
		t.Error("session not deleted")
	}
}

// widened is the registry with a plugin's recorded manifest asking for more than was granted.
type widened struct{ Plugins }

func (w widened) Record(ctx context.Context, name string) (store.PluginRecord, error) {
	rec, err := w.Plugins.Record(ctx, name)
	rec.Manifest = append(rec.Manifest, []byte("\nhttp = [\"exfil.example\"]\n")...)
	return rec, err
}

func TestEnableNeverWidensAGrant(t *testing.T) {
	h := newHarness(t, nil)
	h.h = nil
	srv, err := New(Options{Addr: addr, Plugins: widened{h.home.Registry}, Store: h.home.DB, Keys: DotEnv(h.home.Paths.Env)})
	if err != nil {
		t.Fatal(err)
	}
	h.srv, h.h = srv, srv.Handler()
	c, csrf := h.login()
	ctx := context.Background()
	if err := h.home.Registry.SetEnabled(ctx, "files", false); err != nil {
		t.Fatal(err)
	}
	rec := h.do("POST", "/plugins/files/enable", url.Values{"csrf": {csrf}}, c, nil)
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "review it on the command line with hermes plugins enable files") {
		t.Errorf("enable of a widened plugin: %d\n%s", rec.Code, rec.Body)
	}
	if info, _ := h.home.Registry.Get(ctx, "files"); info.Enabled {
		t.Error("the dashboard enabled a plugin whose grants changed")
	}
}

func TestPagesShowPluginsGrantsAndActivity(t *testing.T) {
	h := newHarness(t, nil)
	c, _ := h.login()
	ctx := context.Background()
	rec := activity.NewRecorder(h.home.DB, 0, 0, nil)
	defer rec.Close()
	reg := h.home.Registry.WithActivity(rec)
	if err := os.WriteFile(filepath.Join(h.home.Config.Workspace, "a.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Call(activity.WithSession(ctx, "s-1"), "files.read", []byte(`{"path":"a.txt"}`)); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	checks := map[string][]string{
		"/plugins":                         {"files", "UNSIGNED", "enabled"},
		"/plugins/files":                   {"may read and write files in your workspace", "files.read", "Kept versions", "/workspace/a.txt"},
		"/plugins/files/confirm/disable":   {"Disable plugin files?", `name="csrf"`},
		"/activity":                        {"/workspace/a.txt", "chart.svg"},
		"/activity?plugin=files&kind=fs":   {"/workspace/a.txt"},
		"/activity?kind=http":              {"No activity recorded."},
		"/activity/chart.svg?plugin=files": {"<svg", "1 uses, 0 refused"},
		"/":                                {"Terminal backend", "local", "http://127.0.0.1:1/v1"},
		"/approvals":                       {"No “always” approvals."},
		"/skills":                          {"No skills installed."},
	}
	for path, wants := range checks {
		body := h.do("GET", path, nil, c, nil).Body.String()
		for _, w := range wants {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %q:\n%s", path, w, body)
			}
		}
	}
	if rec := h.do("GET", "/plugins/nope", nil, c, nil); rec.Code != http.StatusNotFound {
		t.Errorf("unknown plugin: %d", rec.Code)
	}
}

// hostileText is the registry with a plugin whose description, tool description and schema
// (all written by the plugin's author) hold markup.
type hostileText struct{ Plugins }

const hostileMarkup = `</p></pre><script>alert("plugin")</script>`

func (h hostileText) poison(info registry.Info) registry.Info {
	info.Description = hostileMarkup
	tools := slices.Clone(info.Tools)
	for i := range tools {
		tools[i].Description = hostileMarkup + " Reads."
		tools[i].Parameters = json.RawMessage(`{"type":"object","description":` + strconv.Quote(hostileMarkup) + `}`)
	}
	info.Tools = tools
	return info
}

func (h hostileText) Get(ctx context.Context, name string) (registry.Info, error) {
	info, err := h.Plugins.Get(ctx, name)
	return h.poison(info), err
}

func (h hostileText) List(ctx context.Context) ([]registry.Info, error) {
	list, err := h.Plugins.List(ctx)
	for i := range list {
		list[i] = h.poison(list[i])
	}
	return list, err
}

func TestPluginTextIsEscaped(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Plugins = hostileText{o.Plugins} })
	c, _ := h.login()
	for _, path := range []string{"/plugins", "/plugins/files", "/plugins/files/confirm/disable", "/activity"} {
		body := h.do("GET", path, nil, c, nil).Body.String()
		if strings.Contains(body, "<script>") {
			t.Errorf("%s renders a plugin's markup:\n%s", path, body)
		}
	}
	body := h.do("GET", "/plugins/files", nil, c, nil).Body.String()
	if !strings.Contains(body, "&lt;/p&gt;&lt;/pre&gt;&lt;script&gt;alert(&#34;plugin&#34;)&lt;/script&gt;") {
		t.Errorf("the plugin page does not show the description as text:\n%s", body)
	}
}

func TestSessionsExpire(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.SessionTTL = time.Hour })
	c, csrf := h.login()
	if rec := h.do("GET", "/", nil, c, nil); rec.Code != http.StatusOK {
		t.Fatalf("fresh session: %d", rec.Code)
	}
	if c.MaxAge != 3600 {
		t.Errorf("cookie Max-Age %d, want 3600", c.MaxAge)
	}
	later := time.Now().Add(time.Hour + time.Minute)
	h.srv.mu.Lock()
	h.srv.now = func() time.Time { return later }
	h.srv.mu.Unlock()
	if rec := h.do("GET", "/", nil, c, nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("expired session: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := h.do("POST", "/plugins/files/disable", url.Values{"csrf": {csrf}}, c, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("POST with an expired session: %d", rec.Code)
	}
	if info, _ := h.home.Registry.Get(context.Background(), "files"); !info.Enabled {
		t.Error("an expired session disabled a plugin")
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	h := newHarness(t, nil)
	c, csrf := h.login()
	if rec := h.do("GET", "/logout", nil, c, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "End this dashboard session?") {
		t.Errorf("GET /logout: %d (it must only ask)", rec.Code)
	}
	if rec := h.do("GET", "/", nil, c, nil); rec.Code != http.StatusOK {
		t.Errorf("GET /logout ended the session: %d", rec.Code)
	}
	if rec := h.do("POST", "/logout", url.Values{}, c, nil); rec.Code != http.StatusForbidden {
		t.Errorf("logout without the CSRF token: %d", rec.Code)
	}
	rec := h.do("POST", "/logout", url.Values{"csrf": {csrf}}, c, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("logout: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := h.do("GET", "/", nil, c, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("the old cookie after logout: %d", rec.Code)
	}
}

// updateFiles updates the files plugin to version, with capabilities (plugin.toml lines), as
// `hermes plugins update files --from DIR --yes --allow-unsigned` would.
func (h *harness) updateFiles(version, capabilities string) {
	h.t.Helper()
	module, err := os.ReadFile(filepath.Join(testplugins.Dir(h.t, "plugins/files"), "files.wasm"))
	if err != nil {
		h.t.Fatal(err)
	}
	dir := filepath.Join(h.t.TempDir(), "files")
	m := "name = \"files\"\nversion = \"" + version + "\"\nabi = 1\ndescription = \"Read files\"\nwasm = \"files.wasm\"\n" + capabilities + "\n"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		h.t.Fatal(err)
	}
	for name, data := range map[string][]byte{"plugin.toml": []byte(m), "files.wasm": module} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			h.t.Fatal(err)
		}
	}
	in := install.New(h.home.Registry, h.home.DB, h.home.Paths, h.home.Config)
	ctx := context.Background()
	plan, err := in.PlanUpdate(ctx, "files", dir, install.Options{AllowUnsigned: true})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := in.Apply(ctx, plan); err != nil {
		h.t.Fatal(err)
	}
}

func TestRestoreAKeptVersionNeverWidensAGrant(t *testing.T) {
	h := newHarness(t, nil)
	c, csrf := h.login()
	ctx := context.Background()
	version := func() (string, []string) {
		info, err := h.home.Registry.Get(ctx, "files")
		if err != nil {
			t.Fatal(err)
		}
		return info.Version, info.Granted.Grants()
	}
	h.updateFiles("0.3.0", "[capabilities]\nfs_write = [\"{workspace}\"]")

	page := h.do("GET", "/plugins/files", nil, c, nil).Body.String()
	for _, want := range []string{`href="/plugins/files/confirm/restore?version=0.2.0"`, "<td>installed</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("plugin page lacks %s:\n%s", want, page)
		}
	}
	confirm := h.do("GET", "/plugins/files/confirm/restore?version=0.2.0", nil, c, nil).Body.String()
	for _, want := range []string{"Restore plugin files 0.2.0 in place of 0.3.0?", `name="version" value="0.2.0"`, `action="/plugins/files/restore"`} {
		if !strings.Contains(confirm, want) {
			t.Errorf("confirm page lacks %s:\n%s", want, confirm)
		}
	}
	if rec := h.do("GET", "/plugins/files/confirm/restore?version=9.9.9", nil, c, nil); rec.Code != http.StatusNotFound {
		t.Errorf("confirm of a version not kept: %d", rec.Code)
	}
	if rec := h.do("GET", "/plugins/files/confirm/restore?version=0.3.0", nil, c, nil); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "other than the installed one") {
		t.Errorf("confirm of the installed version: %d", rec.Code)
	}
	rec := h.do("POST", "/plugins/files/restore", url.Values{"csrf": {csrf}, "version": {"0.2.0"}}, c, nil)
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "Restored+files+0.2.0+%28was+0.3.0%29") {
		t.Fatalf("restore: %d %s\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if v, _ := version(); v != "0.2.0" {
		t.Fatalf("after restore: %s", v)
	}

	// 0.4.0 asks for nothing; restoring 0.3.0 would give back the workspace: refused here.
	h.updateFiles("0.4.0", "")
	tests := []struct {
		name, version, want string
		code                int
	}{
		{"wider grants", "0.3.0", "files 0.3.0 had a permission it does not have now (may read and write files in your workspace); the dashboard does not grant anything: restore it on the command line with hermes plugins reset files --restore 0.3.0", http.StatusForbidden},
		{"no version", "", "no version given: choose one of the kept versions on the plugin's page", http.StatusBadRequest},
		{"not kept", "9.9.9", `no kept version "9.9.9" of files`, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do("POST", "/plugins/files/restore", url.Values{"csrf": {csrf}, "version": {tt.version}}, c, nil)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), html.EscapeString(tt.want)) {
				t.Errorf("restore %q: %d\n%s", tt.version, rec.Code, rec.Body)
			}
			if v, grants := version(); v != "0.4.0" || len(grants) != 0 {
				t.Errorf("after a refused restore: %s granted %v", v, grants)
			}
		})
	}
}

func TestAuditOnRequest(t *testing.T) {
	h := newHarness(t, nil)
	c, _ := h.login()
	if body := h.do("GET", "/plugins", nil, c, nil).Body.String(); !strings.Contains(body, `href="/plugins?audit=1"`) || strings.Contains(body, "Audited") {
		t.Errorf("plugins page without the audit:\n%s", body)
	}
	body := h.do("GET", "/plugins?audit=1", nil, c, nil).Body.String()
	for _, want := range []string{"unsigned: installed with --allow-unsigned", "Audited 1 plugin(s):", "no problems"} {
		if !strings.Contains(body, want) {
			t.Errorf("audit lacks %q:\n%s", want, body)
		}
	}
}

func TestRevokeAnApprovalAfterConfirming(t *testing.T) {
	h := newHarness(t, nil)
	c, csrf := h.login()
	ctx := context.Background()
	a, err := h.home.DB.AddApproval(ctx, "rm -rf <script>x</script>", "deletes files")
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(a.ID, 10)
	if body := h.do("GET", "/approvals", nil, c, nil).Body.String(); !strings.Contains(body, `href="/approvals/`+id+`/confirm/revoke"`) || strings.Contains(body, "<script>") {
		t.Errorf("approvals page:\n%s", body)
	}
	confirm := h.do("GET", "/approvals/"+id+"/confirm/revoke", nil, c, nil).Body.String()
	if !strings.Contains(confirm, "Revoke the “always” approval of rm -rf &lt;script&gt;x&lt;/script&gt;?") || !strings.Contains(confirm, `action="/approvals/`+id+`/revoke"`) {
		t.Errorf("confirm page:\n%s", confirm)
	}
	if list, _ := h.home.DB.ListApprovals(ctx); len(list) != 1 {
		t.Fatal("the confirmation page revoked the approval")
	}
	if rec := h.do("POST", "/approvals/"+id+"/revoke", url.Values{"csrf": {csrf}}, c, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if list, _ := h.home.DB.ListApprovals(ctx); len(list) != 0 {
		t.Error("not revoked")
	}
	if rec := h.do("GET", "/approvals/"+id+"/confirm/revoke", nil, c, nil); rec.Code != http.StatusNotFound {
		t.Errorf("confirm of a revoked approval: %d", rec.Code)
	}
}

// installSkill installs the release-notes fixture as version (its SKILL.md rewritten).
func installSkill(t *testing.T, m *skills.Manager, version string) *skills.InstallResult {
	t.Helper()
	src := filepath.Join(testplugins.Root(), "testdata/skills/benign/release-notes")
	dir := filepath.Join(t.TempDir(), "release-notes")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "SKILL.md"))
	if err != nil {
		t.Fatal(err)
	}
	md = bytes.Replace(md, []byte("version: 1.0.0"), []byte("version: "+version), 1)
	if err := os.WriteFile(filepath.Join(dir, "SKILL.md"), md, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := m.Install(context.Background(), dir, skills.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestRestoreAKeptSkillVersion(t *testing.T) {
	var m *skills.Manager
	h := newHarness(t, func(o *Options) {
		home := o.Status.Home
		m = skills.New(o.Store.(*store.DB), filepath.Join(home, "skills"), filepath.Join(home, "cache", "quarantine"))
		o.Skills = m
	})
	c, csrf := h.login()
	ctx := context.Background()
	v1 := installSkill(t, m, "1.0.0")
	installSkill(t, m, "1.1.0")
	sha := v1.Skill.ContentSHA256[:12]

	page := h.do("GET", "/skills", nil, c, nil).Body.String()
	for _, want := range []string{`href="/skills/release-notes/confirm/restore?version=` + sha + `"`, "active"} {
		if !strings.Contains(page, want) {
			t.Errorf("skills page lacks %s:\n%s", want, page)
		}
	}
	confirm := h.do("GET", "/skills/release-notes/confirm/restore?version="+sha, nil, c, nil).Body.String()
	for _, want := range []string{"Restore skill release-notes 1.0.0 (sha256 " + sha + ") in place of 1.1.0", `name="version" value="` + sha + `"`, `action="/skills/release-notes/restore"`} {
		if !strings.Contains(confirm, want) {
			t.Errorf("confirm page lacks %s:\n%s", want, confirm)
		}
	}
	if rec, _ := h.home.DB.GetSkill(ctx, "release-notes"); rec.Version != "1.1.0" {
		t.Fatalf("the confirmation page restored: %s", rec.Version)
	}
	tests := []struct {
		name, version, want string
		code                int
	}{
		{"no version", "", "no version given", http.StatusBadRequest},
		{"not kept", "9.9.9", `no kept version "9.9.9" of skill release-notes`, http.StatusNotFound},
		{"the active one", "1.1.0", "other than the active one", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do("POST", "/skills/release-notes/restore", url.Values{"csrf": {csrf}, "version": {tt.version}}, c, nil)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), html.EscapeString(tt.want)) {
				t.Errorf("restore %q: %d\n%s", tt.version, rec.Code, rec.Body)
			}
		})
	}
	rec := h.do("POST", "/skills/release-notes/restore", url.Values{"csrf": {csrf}, "version": {sha}}, c, nil)
	if rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "Restored+skill+release-notes+1.0.0") {
		t.Fatalf("restore: %d %s\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if rec, _ := h.home.DB.GetSkill(ctx, "release-notes"); rec.Version != "1.0.0" {
		t.Errorf("after restore: %s", rec.Version)
	}
}

func TestNoNewGrants(t *testing.T) {
	candidate := &registry.Candidate{Manifest: &manifest.Manifest{Name: "csvstats"}}
	tests := []struct {
		name   string
		plan   install.Plan
		refuse bool
	}{
		{"a new tool", install.Plan{Candidate: candidate}, true},
		{"a new permission", install.Plan{Candidate: candidate, Current: &registry.Info{Unsigned: true}, Added: []string{"may reach api.example"}}, true},
		{"another signer", install.Plan{Candidate: candidate, Current: &registry.Info{Unsigned: true}, SignerChanged: true}, true},
		{"less than now", install.Plan{Candidate: candidate, Current: &registry.Info{Unsigned: true}, Removed: []string{"may reach api.example"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NoNewGrants(&tt.plan)
			if tt.refuse {
				want := "its tool plugin csvstats would be installed, or get a permission or signer it does not have now, which needs your review"
				if err == nil || err.Error() != want {
					t.Errorf("NoNewGrants = %v, want %q", err, want)
				}
			} else if err != nil {
				t.Errorf("NoNewGrants = %v, want nil", err)
			}
		})
	}
}

const dashToken = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// DASHBOARD_TOKEN is typed on the login page like a password (and only there: never in a URL,
// where history and logs keep it); a wrong one counts as a failure.
func TestTokenLogin(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Token = dashToken })
	if rec := h.do("GET", "/login", nil, nil, nil); !strings.Contains(rec.Body.String(), "Token <input") {
		t.Errorf("login page offers no token field:\n%s", rec.Body)
	}
	if rec := h.do("GET", "/login?token="+dashToken, nil, nil, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("DASHBOARD_TOKEN in the login URL: %d, want 401", rec.Code)
	}
	rec := h.do("POST", "/login", url.Values{"password": {dashToken[:63] + "0"}}, nil, nil)
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Wrong token.") {
		t.Errorf("wrong token: %d", rec.Code)
	}
	for _, wrong := range []string{"", "correct horse"} {
		if rec := h.do("POST", "/login", url.Values{"password": {wrong}}, nil, nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("%q with only a token set: %d, want 401", wrong, rec.Code)
		}
	}
	rec = h.do("POST", "/login", url.Values{"password": {dashToken}}, nil, nil)
	if rec.Code != http.StatusSeeOther || len(rec.Result().Cookies()) != 1 {
		t.Fatalf("token login: %d", rec.Code)
	}
	if page := h.do("GET", "/", nil, rec.Result().Cookies()[0], nil); page.Code != http.StatusOK {
		t.Errorf("status page with the token's session: %d", page.Code)
	}
	if strings.Contains(h.log.String(), dashToken[:16]) {
		t.Errorf("the token is in the log:\n%s", h.log)
	}
}

// A login form is capped at maxForm like every other request's body: a right password
// after the cap is never read.
func TestLoginFormIsCapped(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Password = "correct horse" })
	form := url.Values{"pad": {strings.Repeat("x", maxForm)}, "password": {"correct horse"}}
	if rec := h.do("POST", "/login", form, nil, nil); rec.Code == http.StatusSeeOther || len(rec.Result().Cookies()) != 0 {
		t.Errorf("a login form over %d bytes: %d, cookies %v", maxForm, rec.Code, rec.Result().Cookies())
	}
	if rec := h.do("POST", "/login", url.Values{"password": {"correct horse"}}, nil, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("a login form under the cap: %d, want 303", rec.Code)
	}
}

// With both set, either logs in; the page says so.
func TestPasswordOrTokenLogin(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Password, o.Token = "correct horse", dashToken })
	if rec := h.do("GET", "/login", nil, nil, nil); !strings.Contains(rec.Body.String(), "Password or token <input") {
		t.Errorf("login page:\n%s", rec.Body)
	}
	for _, secret := range []string{"correct horse", dashToken} {
		if rec := h.do("POST", "/login", url.Values{"password": {secret}}, nil, nil); rec.Code != http.StatusSeeOther {
			t.Errorf("login with %.5s…: %d", secret, rec.Code)
		}
	}
}

// A token short enough to have been chosen rather than drawn is refused, by its length only.
func TestShortTokenIsRefused(t *testing.T) {
	_, err := New(Options{Addr: addr, Token: "hunter2-hunter2"})
	if err == nil || !strings.Contains(err.Error(), "DASHBOARD_TOKEN has 15 characters: use at least 32") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("New with a short token: %v", err)
	}
	if err := CheckToken(""); err != nil {
		t.Errorf("no token: %v", err)
	}
	if err := CheckToken(dashToken); err != nil {
		t.Errorf("a 64-character token: %v", err)
	}
}

// Served on another machine's reach — a public address, TLS, only a token — the token logs in.
func TestPublicAddressWithTLSAndToken(t *testing.T) {
	const public = "192.0.2.10:9119"
	if err := CheckBind("192.0.2.10", true, true); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *Options) { o.Addr, o.TLS, o.Token = public, true, dashToken })
	host := map[string]string{"Host": public, "RemoteAddr": clientB}
	if rec := h.do("GET", "/", nil, nil, host); rec.Code != http.StatusSeeOther {
		t.Errorf("without a cookie: %d", rec.Code)
	}
	rec := h.do("POST", "/login", url.Values{"password": {dashToken}}, nil, host)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("token login: %d", rec.Code)
	}
	c := rec.Result().Cookies()
	if len(c) != 1 || !c[0].Secure {
		t.Fatalf("cookie %+v: want one, Secure", c)
	}
	if rec := h.do("GET", "/", nil, c[0], host); rec.Code != http.StatusOK {
		t.Errorf("with the cookie: %d", rec.Code)
	}
}

// Served under a name (--host dash.example), the name is what the login URL holds and what the
// Host header may say, beside the bound address.
func TestServedUnderAName(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Addr, o.Name, o.TLS, o.Password = "192.0.2.10:9119", "dash.example", true, "pw" })
	if got := h.srv.LoginURL(); !strings.HasPrefix(got, "https://dash.example:9119/login?token=") {
		t.Errorf("login URL %s", got)
	}
	for host, want := range map[string]int{"dash.example:9119": http.StatusSeeOther, "192.0.2.10:9119": http.StatusSeeOther,
		"localhost:9119": http.StatusSeeOther, "evil.example:9119": http.StatusMisdirectedRequest, "dash.example:9120": http.StatusMisdirectedRequest} {
		if rec := h.do("GET", "/", nil, nil, map[string]string{"Host": host}); rec.Code != want {
			t.Errorf("Host %s: %d, want %d", host, rec.Code, want)
		}
	}
}

// Every state-changing route answers POST only, and only with the session's CSRF token.
func TestEveryChangeNeedsPOSTAndTheCSRFToken(t *testing.T) {
	h := newHarness(t, nil)
	c, _ := h.login()
	for _, path := range []string{"/plugins/files/enable", "/plugins/files/disable", "/plugins/files/remove", "/plugins/files/restore",
		"/sessions/s-1/delete", "/keys/OPENAI_API_KEY/delete", "/approvals/1/revoke", "/skills/notes/restore"} {
		t.Run(path, func(t *testing.T) {
			if rec := h.do("GET", path, nil, c, nil); rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("GET: %d, want 405", rec.Code)
			}
			if rec := h.do("POST", path, url.Values{"version": {"0.1.0"}}, c, nil); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "missing or wrong CSRF token") {
				t.Errorf("POST without the token: %d %s", rec.Code, rec.Body)
			}
		})
	}
	for _, path := range []string{"/keys", "/logout"} {
		if rec := h.do("POST", path, url.Values{"name": {"X_KEY"}, "value": {"v"}}, c, nil); rec.Code != http.StatusForbidden {
			t.Errorf("POST %s without the token: %d", path, rec.Code)
		}
	}
	if info, _ := h.home.Registry.Get(context.Background(), "files"); !info.Enabled {
		t.Error("a refused request changed the plugin")
	}
}
