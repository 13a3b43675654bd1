// Package apiserver serves the agent over an OpenAI-compatible HTTP API: POST
// /v1/chat/completions (plain JSON or SSE streaming, in OpenAI's wire format), GET /v1/models
// and GET /health. Tool calls never reach the client: hermes' own loop (host/agent) runs them
// with the user's plugins and sandbox, and the client gets the final answer.
//
// What stands between the network and the agent, in the order a request meets it:
//
//  1. CORS: only the exact origins configured (API_SERVER_CORS_ORIGINS) get CORS headers; a
//     preflight from any other origin is refused, and so is any request that carries another
//     Origin, so a web page cannot make a browser drive the agent. "*" is honoured only when the
//     user wrote it.
//  2. The key: when one is set (API_SERVER_KEY) every request but a preflight needs
//     "Authorization: Bearer <key>", compared in constant time; anything else is a bare 401.
//     Without a key the server only listens on loopback ([CheckBind]) and only answers requests
//     whose Host is a loopback name, which defeats DNS rebinding.
//  3. Limits: a body cap, a per-run timeout, a bound on runs in progress (429 beyond it).
//
// Every chat completion runs in a new session of source "api" (store.Session.Source), invisible
// to the CLI's `sessions` commands unless they ask for every source. A client may continue one of
// its sessions by sending the X-Hermes-Session-Id header the previous response carried; hermes
// then keeps the history and the request holds only the new user message.
//
// [Server.Serve] shuts down gracefully when its context ends: it stops accepting, lets runs in
// progress finish for Config.ShutdownTimeout, then cancels the rest (the agent saves what was
// said, with every started tool call given a result) and returns once every run has returned,
// so the caller may close the store.
package apiserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/store"
)

// Source is the store source of sessions created through the API.
const Source = "api"

// ModelID is the model the API lists: the agent, whichever model drives it. Requests may also
// name Config.Model, or no model at all.
const ModelID = "hermes"

// SessionHeader names the session a response belongs to; sent back on a request, it continues
// that session.
const SessionHeader = "X-Hermes-Session-Id"

// Runner runs one user turn in a session. *agent.Agent satisfies it.
type Runner interface {
	Run(ctx context.Context, session store.Session, userText string, onEvent func(agent.Event)) (string, error)
}

var _ Runner = (*agent.Agent)(nil)

// Store is the part of store.DB the server needs. *store.DB satisfies it.
type Store interface {
	CreateSession(ctx context.Context, source, profile, model, title string) (store.Session, error)
	GetSession(ctx context.Context, id string, f store.SessionFilter) (store.Session, error)
	AppendMessages(ctx context.Context, ms []store.Message) ([]store.Message, error)
}

var _ Store = (*store.DB)(nil)

// Defaults for Config's zero fields; host/config's [api] defaults are the ones users see.
const (
	DefaultMaxBodyBytes      = 1 << 20
	DefaultRequestTimeout    = 10 * time.Minute
	DefaultMaxConcurrentRuns = 8
	DefaultShutdownTimeout   = 30 * time.Second
)

// bodyReadTimeout bounds reading a request's body. It is not the server's ReadTimeout, which
// would stay armed while the run goes on and cancel it when it passed.
const bodyReadTimeout = 30 * time.Second

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// APIKey, when not empty, is required on every request as a bearer token.
	APIKey string
	// CORSOrigins are the exact origins ("https://app.example.com") allowed to call from a
	// browser; "*" allows any. Empty: none.
	CORSOrigins []string
	// MaxBodyBytes caps a request body; larger ones get 413.
	MaxBodyBytes int64
	// RequestTimeout bounds one chat completion; a run still going is cancelled (504).
	RequestTimeout time.Duration
	// MaxConcurrentRuns bounds chat completions in progress; more get 429.
	MaxConcurrentRuns int
	// ShutdownTimeout is how long Serve lets runs finish after its context ends.
	ShutdownTimeout time.Duration
	// Model is the configured model's name (model.name): recorded on sessions and accepted as
	// a request's model besides ModelID.
	Model string
	// Profile is recorded on sessions.
	Profile string
	// Redact is applied to what the client sent before it is stored (the agent redacts the
	// rest), and to error messages; nil leaves text as it is.
	Redact func(string) string
	// Logger receives one line per request (never a message's content or the key); nil uses
	// slog.Default().
	Logger *slog.Logger
}

// Server is the API. It is safe for concurrent use.
type Server struct {
	cfg     Config
	runner  Runner
	st      Store
	log     *slog.Logger
	origins map[string]bool
	anyOrig bool
	keyHash [sha256.Size]byte

	runs     chan struct{} // one token per run in progress
	runMu    sync.Mutex    // orders starting a run against draining
	inflight sync.WaitGroup
	draining atomic.Bool

	// stopRuns cancels every run in progress (shutdown after the grace period); runs derive
	// their contexts from stopCtx.
	stopCtx  context.Context
	stopRuns context.CancelCauseFunc

	busyMu sync.Mutex
	busy   map[string]bool // sessions with a run in progress
}

// New returns a server that runs turns with runner and keeps sessions in st.
func New(cfg Config, runner Runner, st Store) (*Server, error) {
	if runner == nil || st == nil {
		return nil, errors.New("apiserver: a runner and a store are required")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.MaxConcurrentRuns <= 0 {
		cfg.MaxConcurrentRuns = DefaultMaxConcurrentRuns
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	origins, anyOrigin, err := ParseOrigins(strings.Join(cfg.CORSOrigins, ","))
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, runner: runner, st: st, log: cfg.Logger,
		origins: map[string]bool{}, anyOrig: anyOrigin,
		runs: make(chan struct{}, cfg.MaxConcurrentRuns),
		busy: map[string]bool{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, o := range origins {
		s.origins[o] = true
	}
	if cfg.APIKey != "" {
		s.keyHash = sha256.Sum256([]byte(cfg.APIKey))
	}
	s.stopCtx, s.stopRuns = context.WithCancelCause(context.Background())
	return s, nil
}

// finalWriteTimeout bounds the wait, at shutdown, for cancelled runs' responses to be written.
const finalWriteTimeout = 10 * time.Second

// errShuttingDown is the cause of runs cancelled because the server is stopping.
var errShuttingDown = errors.New("hermes is shutting down")

// Serve answers requests on ln until ctx ends, then shuts down gracefully (see the package
// documentation). It returns nil after a shutdown asked for by ctx, once every run has returned.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()

	select {
	case err := <-served:
		// The listener failed: nothing can reach the runs' clients any more.
		s.runMu.Lock()
		s.draining.Store(true)
		s.runMu.Unlock()
		s.stopRuns(errShuttingDown)
		s.inflight.Wait()
		return fmt.Errorf("api server: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.runMu.Lock()
	s.draining.Store(true)
	s.runMu.Unlock()
	s.log.Info("api server: shutting down; letting runs in progress finish", "grace", s.cfg.ShutdownTimeout)
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(grace); err != nil {
		s.log.Warn("api server: runs still going after the grace period; cancelling them (what they said is saved)")
		s.stopRuns(errShuttingDown)
		s.inflight.Wait()
		// The cancelled runs' handlers are writing their last words (a 503, a stream's error
		// event); wait for their connections to go idle, briefly, before cutting what is left.
		final, cancelFinal := context.WithTimeout(context.Background(), finalWriteTimeout)
		if err := hs.Shutdown(final); err != nil {
			_ = hs.Close()
		}
		cancelFinal()
	}
	s.stopRuns(errShuttingDown)
	s.inflight.Wait()
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api server: serve on %s: %w", ln.Addr(), err)
	}
	return nil
}

// Handler is the API with every check in front of it.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		s.log.Info("api request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"session", rec.Header().Get(SessionHeader), "duration", time.Since(start).Round(time.Millisecond))
	}()
	w = rec

	origin := r.Header.Get("Origin")
	allowed := origin != "" && s.originAllowed(origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		s.preflight(w, origin, allowed)
		return
	}
	if allowed {
		s.corsHeaders(w.Header(), origin)
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hermes"`)
		writeError(w, http.StatusUnauthorized, "authentication_error", "invalid_api_key", "missing or invalid API key")
		return
	}
	if origin != "" && !allowed {
		// A browser page of an origin the user did not list: refused even for requests that
		// need no preflight, since their side effect (an agent run) is the danger.
		writeError(w, http.StatusForbidden, "permission_error", "origin_not_allowed", "origin "+origin+" is not allowed (list it in API_SERVER_CORS_ORIGINS)")
		return
	}
	if s.cfg.APIKey == "" && !loopbackHost(r.Host) {
		// Without a key the server is for this machine only: a Host that is not a loopback
		// name is a DNS-rebinding page or a proxy, neither of which may drive the agent.
		writeError(w, http.StatusMisdirectedRequest, "permission_error", "host_not_allowed", "without API_SERVER_KEY only requests to a loopback host (127.0.0.1, localhost, [::1]) are answered")
		return
	}

	switch r.URL.Path {
	case "/health":
		if !allowMethod(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		status := "ok"
		if s.draining.Load() {
			status = "shutting_down"
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": status})
	case "/v1/models":
		if !allowMethod(w, r, http.MethodGet) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []any{modelObject()}})
	case "/v1/chat/completions":
		if !allowMethod(w, r, http.MethodPost) {
			return
		}
		s.chatCompletions(w, r)
	default:
		if id, ok := strings.CutPrefix(r.URL.Path, "/v1/models/"); ok {
			if !allowMethod(w, r, http.MethodGet) {
				return
			}
			if id != ModelID {
				// OpenAI's answer for a model it does not have, with param "model".
				e := errorBody("invalid_request_error", "model_not_found", fmt.Sprintf("The model %q does not exist; hermes serves %q (see GET /v1/models)", id, ModelID))
				param := "model"
				e.Error.Param = &param
				writeJSON(w, http.StatusNotFound, e)
				return
			}
			writeJSON(w, http.StatusOK, modelObject())
			return
		}
		writeError(w, http.StatusNotFound, "invalid_request_error", "not_found", "no such endpoint: "+r.URL.Path+" (hermes serves /v1/chat/completions, /v1/models, /v1/models/"+ModelID+" and /health)")
	}
}

// modelObject is the one model the API lists: the agent.
func modelObject() map[string]any {
	return map[string]any{"id": ModelID, "object": "model", "created": 0, "owned_by": "hermes"}
}

// authorized checks the bearer token in constant time. Both sides are hashed first, so neither
// the comparison's time nor its length check says anything about the key.
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.keyHash[:]) == 1
}

func (s *Server) originAllowed(origin string) bool {
	return s.anyOrig || s.origins[strings.ToLower(origin)]
}

// corsHeaders allows origin to read the response. The origin is echoed, not "*", unless the
// user configured "*": a response then names exactly who may read it.
func (s *Server) corsHeaders(h http.Header, origin string) {
	if s.anyOrig {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Expose-Headers", SessionHeader+", Retry-After")
}

func (s *Server) preflight(w http.ResponseWriter, origin string, allowed bool) {
	if !allowed {
		writeError(w, http.StatusForbidden, "permission_error", "origin_not_allowed", "CORS preflight refused: origin is not in API_SERVER_CORS_ORIGINS")
		return
	}
	h := w.Header()
	s.corsHeaders(h, origin)
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, "+SessionHeader)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// loopbackHost reports whether a Host header names this machine: localhost or a loopback IP,
// with or without a port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return IsLoopback(host)
}

func allowMethod(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
	return false
}

// apiError is OpenAI's error body.
type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func errorBody(typ, code, msg string) apiError {
	var e apiError
	e.Error.Message, e.Error.Type = msg, typ
	if code != "" {
		e.Error.Code = &code
	}
	return e
}

func writeError(w http.ResponseWriter, status int, typ, code, msg string) {
	writeJSON(w, status, errorBody(typ, code, msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"message":"could not encode the response","type":"server_error","code":null}}`)
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// statusRecorder remembers the status written, for the request log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushes, read deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
