// Package dashboard is `hermes dashboard`: a web page on this machine to see and manage
// plugins, their grants and activity, sessions, keys, approvals and skills. Pages are rendered
// on the server with html/template (everything shown is escaped) from templates embedded in the
// binary; there is no JavaScript.
//
// It is built to be left running on a shared machine. Every request but the login page needs
// a session cookie, got by opening the one-time login URL printed at start (or, when a password
// or a token is configured, by typing it); failed logins are limited per client. The Host
// header must name the bound address or localhost (DNS rebinding); cross-origin requests are
// refused (http.CrossOriginProtection) and every POST carries the session's CSRF token; no GET
// changes anything. Key values are write-only: no page, response or log holds one.
package dashboard

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hermes-agent/hermes/host/apiserver"
	"github.com/hermes-agent/hermes/host/attempts"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/doctor"
	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Plugins is what the dashboard needs of the registry.
type Plugins interface {
	List(ctx context.Context) ([]registry.Info, error)
	Get(ctx context.Context, name string) (registry.Info, error)
	Record(ctx context.Context, name string) (store.PluginRecord, error)
	Versions(ctx context.Context, name string) ([]store.PluginRecord, error)
	SetEnabled(ctx context.Context, name string, enabled bool) error
	Remove(ctx context.Context, name string) error
}

// Store is what the dashboard needs of the state database.
type Store interface {
	ListSessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error)
	GetSession(ctx context.Context, id string, f store.SessionFilter) (store.Session, error)
	Messages(ctx context.Context, id string, f store.SessionFilter) ([]store.Message, error)
	Search(ctx context.Context, query string, f store.SessionFilter) ([]store.SearchHit, error)
	DeleteSession(ctx context.Context, id string, f store.SessionFilter) error
	ListApprovals(ctx context.Context) ([]store.Approval, error)
	RevokeApproval(ctx context.Context, id int64) error
	ListActivity(ctx context.Context, f store.ActivityFilter) ([]store.Activity, error)
	ActivityByDay(ctx context.Context, f store.ActivityFilter) ([]store.ActivityDay, error)
	ListSkills(ctx context.Context) ([]store.SkillRecord, error)
	SkillVersions(ctx context.Context, name string) ([]store.SkillVersion, error)
}

// Installer is what the dashboard needs of the installer: restoring a kept version of a
// plugin and `hermes plugins audit`. Optional: without it both are left to the command line.
type Installer interface {
	Restore(ctx context.Context, name, version string) (restored store.PluginRecord, previous string, err error)
	Audit(ctx context.Context, name string) (*install.Report, error)
}

// Skills is what the dashboard needs of the skills manager: restoring a kept version. Optional.
type Skills interface {
	Reset(ctx context.Context, name string, opts skills.ResetOptions) (*skills.ResetResult, error)
}

// NoNewGrants is the consent for the tool plugins a skill restored from the dashboard brings:
// a tool whose plan needs the user's review (a new tool, a new permission, another signer) is
// refused, so that a restore never grants anything; the command line shows the review.
func NoNewGrants(p *install.Plan) error {
	if p.NeedsConsent() {
		return &ReviewNeeded{Plugin: p.Name()}
	}
	return nil
}

// ReviewNeeded is NoNewGrants' refusal.
type ReviewNeeded struct{ Plugin string }

func (e *ReviewNeeded) Error() string {
	return "its tool plugin " + e.Plugin + " would be installed, or get a permission or signer it does not have now, which needs your review"
}

// Keys is the .env file: names and values in, never values out.
type Keys interface {
	Read() (map[string]string, error)
	Set(name, value string) error
	Delete(name string) error
}

// Status is what the status page shows about this hermes.
type Status struct {
	Version, Profile, Home, Backend, BaseURL, Model string
	// Docker answers the daemon's version, or why it cannot be reached.
	Docker func(context.Context) (string, error)
	// Doctor runs `hermes doctor`'s checks (on request: they may reach the provider).
	Doctor func(context.Context) []doctor.Check
}

// Options configure a Server.
type Options struct {
	Addr string // host:port the listener is bound to, for the Host check and the login URL
	// Name is the host name or address as given to --host: accepted in the Host header beside
	// Addr and localhost, and used in the login URL ("": Addr's).
	Name     string
	TLS      bool   // served over TLS: cookies are Secure and the URL https
	Password string // optional: typed on the login page instead of opening the login URL
	// Token is optional, like Password and typed in the same field: a long random secret
	// (at least MinTokenLen characters, see CheckToken) for those who keep one in a password
	// manager rather than choose a password. Never accepted in a URL, where history keeps it.
	Token   string
	Plugins Plugins
	Store   Store
	Keys    Keys
	// Installer restores kept versions and runs the audit (nil: the pages say to use the CLI).
	Installer Installer
	// Skills restores kept versions of skills (nil: the page says to use the CLI).
	Skills Skills
	Status Status
	Logger *slog.Logger
	// SessionTTL is how long a login lasts. Default 12h.
	SessionTTL time.Duration
	// ActivityPerPlugin is shown with the activity, as the ring's size.
	ActivityPerPlugin int
}

// CheckBind refuses a non-loopback address unless it is served over TLS and a password or a
// token is set (secret): the dashboard reads and writes the user's keys.
func CheckBind(host string, tls, secret bool) error {
	if apiserver.IsLoopback(host) {
		return nil
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); host == "" || ip != nil && ip.IsUnspecified() {
		return fmt.Errorf("refusing to serve the dashboard on every interface (%q): it accepts only requests whose Host header names the address it serves (against DNS rebinding); give the name or address browsers will use, --host NAME, with --tls-cert, --tls-key and a password or token", host)
	}
	if !tls || !secret {
		return fmt.Errorf("refusing to serve the dashboard on %s: it would be reachable from other machines; listen on 127.0.0.1, or give --tls-cert, --tls-key and set DASHBOARD_PASSWORD or DASHBOARD_TOKEN (hermes config set DASHBOARD_TOKEN \"$(openssl rand -hex 32)\")", host)
	}
	return nil
}

// MinTokenLen is the shortest DASHBOARD_TOKEN accepted: it is meant to be random, not chosen.
const MinTokenLen = 32

// CheckToken refuses a token too short to be a random one. The error names only its length.
func CheckToken(token string) error {
	if token != "" && len(token) < MinTokenLen {
		return fmt.Errorf("DASHBOARD_TOKEN has %d characters: use at least %d random ones (hermes config set DASHBOARD_TOKEN \"$(openssl rand -hex 32)\"), or set DASHBOARD_PASSWORD instead", len(token), MinTokenLen)
	}
	return nil
}

const (
	cookieName    = "hermes_dashboard"
	maxFailures   = 10 // failed logins of a client per failureWindow before its logins are refused
	failureWindow = time.Minute
	maxClients    = 4096 // clients the login limiter tracks at most
	maxSessions   = 64
	maxForm       = 64 << 10 // bytes of a form
)

// Server serves the dashboard. Safe for concurrent use.
type Server struct {
	o     Options
	pages map[string]*template.Template

	mu       sync.Mutex
	token    string // the one-time login token; "" once spent
	sessions map[string]*session
	now      func() time.Time

	limit *attempts.Limiter
}

type session struct {
	csrf    string
	expires time.Time
}

// New returns a server with a fresh one-time login token.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if err := CheckToken(o.Token); err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	token, err := randomHex(32)
	if err != nil {
		return nil, err
	}
	return &Server{o: o, pages: pages, token: token, sessions: map[string]*session{}, now: time.Now,
		limit: attempts.New(maxFailures, failureWindow, maxClients, attempts.DropOldest)}, nil
}

// LoginURL is the one-time URL that logs its first opener in.
func (s *Server) LoginURL() string {
	scheme := "http"
	if s.o.TLS {
		scheme = "https"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return scheme + "://" + s.hostPort() + "/login?token=" + s.token
}

// hostPort is the address browsers are told to open: Name with Addr's port, or Addr.
func (s *Server) hostPort() string {
	if s.o.Name == "" {
		return s.o.Addr
	}
	_, port, _ := net.SplitHostPort(s.o.Addr)
	return net.JoinHostPort(strings.Trim(s.o.Name, "[]"), port)
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("dashboard: random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// Handler is the whole dashboard with its guards wrapped around it once.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.loginPassword)
	s.routes(mux)
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}))
	return s.headers(s.hostGuard(cop.Handler(s.authenticate(mux))))
}

// headers sets the security headers on every response.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// hostGuard refuses a Host header other than the bound address or localhost: a page whose
// name was rebound to 127.0.0.1 still sends its own name.
func (s *Server) hostGuard(next http.Handler) http.Handler {
	_, port, _ := net.SplitHostPort(s.o.Addr)
	allowed := map[string]bool{strings.ToLower(s.o.Addr): true, "localhost:" + port: true, strings.ToLower(s.hostPort()): true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed[strings.ToLower(r.Host)] {
			http.Error(w, "unexpected Host header: open the dashboard at "+s.hostPort(), http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

type ctxKey struct{}

// authenticate caps every request's body at maxForm, and lets through the login page and
// static files; anything else needs a live session, and a POST its CSRF token.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if r.URL.Path == "/login" || strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		sess := s.sessionOf(r)
		if sess == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			http.Error(w, "not logged in: open the login URL hermes dashboard printed", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
				http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	})
}

func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil || len(c.Value) != 64 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, sess := range s.sessions {
		// Compared in constant time, each one, so timing tells nothing of a session id.
		if subtle.ConstantTimeCompare([]byte(id), []byte(c.Value)) == 1 {
			if now.After(sess.expires) {
				delete(s.sessions, id)
				return nil
			}
			return sess
		}
	}
	return nil
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// tryLogin counts a login attempt of r's client (forgotten by s.limit.Forget if it succeeds),
// or answers 429 when the client has failed too often, naming when to try again.
func (s *Server) tryLogin(w http.ResponseWriter, r *http.Request) (client string, left int, ok bool) {
	client = clientKey(r)
	now := s.clock()
	ok, left, wait := s.limit.Try(client, now)
	if ok {
		return client, left, true
	}
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	s.render(w, r, http.StatusTooManyRequests, "login", pageData{Title: "Log in",
		Error: fmt.Sprintf("Too many failed logins from your address. Try again in %d seconds (after %s UTC).", secs, now.Add(wait).UTC().Format(time.TimeOnly)),
		Data:  s.loginData()})
	return client, 0, false
}

// failed logs a failed login of client that was its last one allowed.
func (s *Server) failed(client string, left int) {
	if left == 0 {
		s.o.Logger.Warn("dashboard: too many failed logins; refusing this client's logins for now", "client", client, "for", failureWindow)
	}
}

// secretName is what can be typed on the login page: "password", "token", "password or
// token" or nothing ("").
func (s *Server) secretName() string {
	switch {
	case s.o.Password != "" && s.o.Token != "":
		return "password or token"
	case s.o.Password != "":
		return "password"
	case s.o.Token != "":
		return "token"
	}
	return ""
}

// loginData is the login page's data: what can be typed (secretName).
func (s *Server) loginData() map[string]any { return map[string]any{"Secret": s.secretName()} }

// secretMatches compares given with the password and the token, each in constant time and
// both always; the SHA-256 digests are compared, so that not even a length is told.
func (s *Server) secretMatches(given string) bool {
	g := sha256.Sum256([]byte(given))
	match := func(want string) int {
		w := sha256.Sum256([]byte(want))
		ok := subtle.ConstantTimeCompare(g[:], w[:])
		if want == "" {
			return 0
		}
		return ok
	}
	return match(s.o.Password)|match(s.o.Token) == 1
}

// loginPage spends the one-time token of the login URL, or shows the login page.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	given := r.URL.Query().Get("token")
	if given == "" {
		s.render(w, r, http.StatusOK, "login", pageData{Title: "Log in", Data: s.loginData()})
		return
	}
	client, left, ok := s.tryLogin(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	ok = s.token != "" && subtle.ConstantTimeCompare([]byte(given), []byte(s.token)) == 1
	if ok {
		s.token = "" // spent
	}
	s.mu.Unlock()
	if !ok {
		s.failed(client, left)
		s.render(w, r, http.StatusUnauthorized, "login", pageData{Title: "Log in", Error: "This login link is not valid or was already used. Restart hermes dashboard for a new one.", Data: s.loginData()})
		return
	}
	s.limit.Forget(client)
	s.startSession(w, r)
}

// loginPassword logs in with the password or the token typed on the login page.
func (s *Server) loginPassword(w http.ResponseWriter, r *http.Request) {
	client, left, ok := s.tryLogin(w, r)
	if !ok {
		return
	}
	if !s.secretMatches(r.PostFormValue("password")) {
		s.failed(client, left)
		s.render(w, r, http.StatusUnauthorized, "login", pageData{Title: "Log in", Error: "Wrong " + cmp.Or(s.secretName(), "password") + ".", Data: s.loginData()})
		return
	}
	s.limit.Forget(client)
	s.startSession(w, r)
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request) {
	id, err := randomHex(32)
	csrf, err2 := randomHex(32)
	if err := errors.Join(err, err2); err != nil {
		s.fail(w, r, err)
		return
	}
	s.mu.Lock()
	if len(s.sessions) >= maxSessions {
		for k := range s.sessions { // drop one; logins are rare, this bounds the map
			delete(s.sessions, k)
			break
		}
	}
	s.sessions[id] = &session{csrf: csrf, expires: s.now().Add(s.o.SessionTTL)}
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, Secure: s.o.TLS,
		SameSite: http.SameSiteStrictMode, MaxAge: int(s.o.SessionTTL / time.Second)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// DotEnv is the Keys of the .env file at path.
func DotEnv(path string) Keys { return dotEnv(path) }

type dotEnv string

func (p dotEnv) Read() (map[string]string, error) { return config.ReadDotEnv(string(p)) }
func (p dotEnv) Set(name, value string) error {
	if value == "" {
		return errors.New("the value is empty (to remove a key, delete it)")
	}
	return config.SetDotEnv(string(p), name, value)
}
func (p dotEnv) Delete(name string) error { return config.DeleteDotEnv(string(p), name) }
