package apiserver

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/store"
)

// errRequestTimeout is the cause of a run cancelled at Config.RequestTimeout.
var errRequestTimeout = errors.New("the run took longer than the request timeout")

// chatRequest is the part of OpenAI's chat-completions request hermes reads. Sampling fields
// (temperature, max_tokens, …) and client-side tools are ignored: hermes' own configuration and
// tools drive the run.
type chatRequest struct {
	Model         string        `json:"model"`
	Messages      []chatMessage `json:"messages"`
	Stream        bool          `json:"stream"`
	StreamOptions *struct {
		// IncludeUsage asks for a last chunk with the turn's usage (and "usage": null in the others).
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// usage is the tokens of every model request of the turn (a turn with tool calls makes several),
// as the model's server counted them; zero when it counts none.
type usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

func (u *usage) add(ev agent.Event) {
	if ev.Kind == agent.EventUsage {
		u.PromptTokens += ev.Usage.PromptTokens
		u.CompletionTokens += ev.Usage.CompletionTokens
		u.TotalTokens += ev.Usage.TotalTokens
	}
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []chatToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
	Name       string          `json:"name"`
}

type chatToolCall struct {
	ID       string `json:"id"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// completion is a non-streamed reply.
type completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   usage              `json:"usage"`
}

type completionChoice struct {
	Index        int               `json:"index"`
	Message      completionMessage `json:"message"`
	FinishReason string            `json:"finish_reason"`
}

type completionMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// chunk is one streamed event.
type chunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	// Usage is sent only when the client asked for it: null in every chunk but the last.
	Usage json.RawMessage `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content,omitempty"`
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		// Also what makes a browser preflight a cross-origin POST.
		writeError(w, http.StatusUnsupportedMediaType, "invalid_request_error", "unsupported_media_type", "send the request as Content-Type: application/json")
		return
	}
	req, status, err := s.readRequest(w, r)
	if err != nil {
		writeError(w, status, "invalid_request_error", "invalid_request", err.Error())
		return
	}
	model := req.Model
	switch model {
	case "":
		model = ModelID
	case ModelID, s.cfg.Model:
	default:
		writeError(w, http.StatusNotFound, "invalid_request_error", "model_not_found", fmt.Sprintf("model %q is not served here; use %q (see GET /v1/models) or leave model out", req.Model, ModelID))
		return
	}
	history, userText, err := s.conversation(req.Messages)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_messages", err.Error())
		return
	}
	continued := r.Header.Get(SessionHeader)
	if continued != "" && len(history) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "invalid_messages",
			"with "+SessionHeader+" hermes keeps the conversation: send only the new user message")
		return
	}

	release, ok := s.startRun(w)
	if !ok {
		return
	}
	defer release()

	session, unlock, ok := s.session(r.Context(), w, continued, userText, history)
	if !ok {
		return
	}
	defer unlock()
	w.Header().Set(SessionHeader, session.ID)

	ctx, cancel := s.runContext(r.Context(), session.ID)
	defer cancel()
	id := completionID()
	if req.Stream {
		s.stream(ctx, w, session, userText, id, model, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		return
	}
	var used usage
	final, err := s.runner.Run(ctx, session, userText, used.add)
	if err != nil {
		status, typ, code, msg := s.failure(ctx, err, session.ID)
		writeError(w, status, typ, code, msg)
		return
	}
	writeJSON(w, http.StatusOK, completion{
		ID: id, Object: "chat.completion", Created: time.Now().Unix(), Model: model,
		Choices: []completionChoice{{Message: completionMessage{Role: "assistant", Content: final}, FinishReason: "stop"}},
		Usage:   used,
	})
}

// readRequest reads and decodes the body within Config.MaxBodyBytes and bodyReadTimeout.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request) (chatRequest, int, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
	// Cleared afterwards: the server's background read of an idle connection would otherwise
	// hit the deadline mid-run and cancel it.
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()

	var req chatRequest
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, http.StatusRequestEntityTooLarge, fmt.Errorf("the request body is larger than %d bytes (api.max_body_bytes)", s.cfg.MaxBodyBytes)
		}
		return req, http.StatusBadRequest, fmt.Errorf("read the request body: %w", err)
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return req, http.StatusBadRequest, fmt.Errorf("the request body is not a chat-completions JSON object: %w", err)
	}
	return req, 0, nil
}

// conversation turns the request's messages into stored history and the new user message,
// which must come last.
func (s *Server) conversation(msgs []chatMessage) ([]store.Message, string, error) {
	if len(msgs) == 0 {
		return nil, "", errors.New("messages is empty: send at least one user message")
	}
	var history []store.Message
	for i, m := range msgs {
		text, err := contentText(m.Content)
		if err != nil {
			return nil, "", fmt.Errorf("messages[%d].content: %w", i, err)
		}
		text = s.redact(text)
		var sm store.Message
		switch m.Role {
		case "system", "developer":
			sm = store.Message{Role: store.RoleSystem, Content: text}
		case "user":
			sm = store.Message{Role: store.RoleUser, Content: text}
		case "assistant":
			sm = store.Message{Role: store.RoleAssistant, Content: text}
			for j, tc := range m.ToolCalls {
				if tc.ID == "" || tc.Function.Name == "" {
					return nil, "", fmt.Errorf("messages[%d].tool_calls[%d]: id and function.name are required", i, j)
				}
				sm.ToolCalls = append(sm.ToolCalls, store.ToolCall{ID: tc.ID, Name: s.redact(tc.Function.Name), Arguments: s.redact(tc.Function.Arguments)})
			}
		case "tool":
			if m.ToolCallID == "" {
				return nil, "", fmt.Errorf("messages[%d]: a tool message needs tool_call_id", i)
			}
			sm = store.Message{Role: store.RoleTool, Content: text, ToolCallID: m.ToolCallID, Name: s.redact(m.Name)}
		default:
			return nil, "", fmt.Errorf("messages[%d].role %q: use system, user, assistant or tool", i, m.Role)
		}
		history = append(history, sm)
	}
	last := msgs[len(msgs)-1]
	if last.Role != "user" {
		return nil, "", fmt.Errorf("the last message is %q: end with the user message to answer", last.Role)
	}
	// The raw text, not the redacted one: the agent redacts it as it stores and sends it.
	userText, _ := contentText(last.Content)
	if strings.TrimSpace(userText) == "" {
		return nil, "", errors.New("the last user message is empty")
	}
	return history[:len(history)-1], userText, nil
}

// contentText reads a message's content: a string, null, or an array of text parts.
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", errors.New("must be a string or an array of text parts")
	}
	var texts []string
	for i, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("part %d is %q: hermes takes text only", i, p.Type)
		}
		texts = append(texts, p.Text)
	}
	return strings.Join(texts, "\n"), nil
}

// startRun takes a run slot, or answers 429 (every slot taken) or 503 (shutting down).
func (s *Server) startRun(w http.ResponseWriter) (release func(), ok bool) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.draining.Load() {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "server_error", "shutting_down", "hermes is shutting down")
		return nil, false
	}
	select {
	case s.runs <- struct{}{}:
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "rate_limit_error", "too_many_runs",
			fmt.Sprintf("%d runs are in progress, the most this server takes at once (api.max_concurrent_runs); retry later", cap(s.runs)))
		return nil, false
	}
	// Added under runMu, which Serve takes to set draining: once it waits for the runs, no
	// new one can start.
	s.inflight.Add(1)
	return func() {
		<-s.runs
		s.inflight.Done()
	}, true
}

// session creates the run's session with the client's earlier messages, or finds the API
// session the client continues and marks it busy.
func (s *Server) session(ctx context.Context, w http.ResponseWriter, continued, userText string, history []store.Message) (store.Session, func(), bool) {
	// Writes finish even if the client leaves meanwhile: a session is never half-seeded.
	ctx = context.WithoutCancel(ctx)
	if continued != "" {
		session, err := s.st.GetSession(ctx, continued, store.SessionFilter{Source: Source})
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				writeError(w, http.StatusNotFound, "invalid_request_error", "session_not_found", "no API session "+continued)
			} else {
				s.log.Error("api: find session", "session", continued, "err", err)
				writeError(w, http.StatusInternalServerError, "server_error", "store_error", "could not read the session")
			}
			return store.Session{}, nil, false
		}
		s.busyMu.Lock()
		defer s.busyMu.Unlock()
		if s.busy[session.ID] {
			writeError(w, http.StatusConflict, "invalid_request_error", "session_busy", "session "+session.ID+" is answering another request; retry when it is done")
			return store.Session{}, nil, false
		}
		s.busy[session.ID] = true
		return session, func() {
			s.busyMu.Lock()
			delete(s.busy, session.ID)
			s.busyMu.Unlock()
		}, true
	}
	session, err := s.st.CreateSession(ctx, Source, s.cfg.Profile, s.cfg.Model, s.redact(title(userText)))
	if err == nil && len(history) > 0 {
		for i := range history {
			history[i].SessionID = session.ID
		}
		_, err = s.st.AppendMessages(ctx, history)
	}
	if err != nil {
		s.log.Error("api: create session", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "store_error", "could not store the session")
		return store.Session{}, nil, false
	}
	return session, func() {}, true
}

// runContext bounds a run: the client leaving, Config.RequestTimeout and a shutdown past its
// grace period each cancel it, with a cause that says which.
func (s *Server) runContext(parent context.Context, sessionID string) (context.Context, context.CancelFunc) {
	ctx, cancelRun := context.WithCancelCause(parent)
	stop := context.AfterFunc(s.stopCtx, func() { cancelRun(context.Cause(s.stopCtx)) })
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, s.cfg.RequestTimeout, errRequestTimeout)
	return withSession(ctx, sessionID), func() {
		stop()
		cancelTimeout()
		cancelRun(context.Canceled)
	}
}

// failure maps a run's error to a status and an OpenAI error body.
func (s *Server) failure(ctx context.Context, err error, sessionID string) (status int, typ, code, msg string) {
	saved := "; what was said is saved in session " + sessionID + " (continue it with " + SessionHeader + ")"
	var modelErr *agent.ModelError
	switch cause := context.Cause(ctx); {
	case ctx.Err() != nil && errors.Is(cause, errShuttingDown):
		return http.StatusServiceUnavailable, "server_error", "shutting_down", "hermes is shutting down and cancelled the run" + saved
	case ctx.Err() != nil && errors.Is(cause, errRequestTimeout):
		return http.StatusGatewayTimeout, "timeout_error", "request_timeout", fmt.Sprintf("the run took longer than %s (api.request_timeout) and was cancelled", s.cfg.RequestTimeout) + saved
	case ctx.Err() != nil:
		// The client left; nobody reads this.
		return 499, "canceled", "client_closed_request", "the request was cancelled" + saved
	case errors.As(err, &modelErr):
		s.log.Warn("api: model request failed", "session", sessionID, "err", s.redact(err.Error()))
		return http.StatusBadGateway, "upstream_error", "model_error", s.redact(err.Error())
	case errors.Is(err, agent.ErrMaxIterations):
		return http.StatusInternalServerError, "server_error", "max_iterations", s.redact(err.Error())
	}
	s.log.Error("api: run failed", "session", sessionID, "err", s.redact(err.Error()))
	return http.StatusInternalServerError, "server_error", "run_failed", s.redact(err.Error())
}

// stream runs the turn and sends it as server-sent events in OpenAI's chunk format. The
// response starts with the first thing worth sending, so a run that fails at once still gets a
// proper status. Tool calls show as SSE comments, which clients ignore.
func (s *Server) stream(ctx context.Context, w http.ResponseWriter, session store.Session, userText, id, model string, includeUsage bool) {
	sw := &sseWriter{w: w, rc: http.NewResponseController(w), base: chunk{ID: id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: model}}
	if includeUsage {
		sw.base.Usage = json.RawMessage("null")
	}
	_, err := s.runner.Run(ctx, session, userText, sw.event)
	if err != nil {
		status, typ, code, msg := s.failure(ctx, err, session.ID)
		if !sw.started {
			writeError(w, status, typ, code, msg)
			return
		}
		sw.data(errorBody(typ, code, msg))
		return
	}
	sw.start()
	stop := "stop"
	sw.chunk(chunkChoice{FinishReason: &stop})
	if includeUsage {
		// As OpenAI: one more chunk, no choices, the usage of the whole turn.
		last := sw.base
		last.Choices = []chunkChoice{}
		last.Usage, _ = json.Marshal(sw.used)
		sw.data(last)
	}
	sw.raw("data: [DONE]\n\n")
}

type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	base    chunk
	started bool
	text    bool // text was sent
	tools   bool // tools ran since the last text
	used    usage
}

func (sw *sseWriter) start() {
	if sw.started {
		return
	}
	sw.started = true
	h := sw.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // proxies (nginx) would hold the stream back otherwise
	sw.w.WriteHeader(http.StatusOK)
	sw.chunk(chunkChoice{Delta: chunkDelta{Role: "assistant"}})
}

func (sw *sseWriter) event(ev agent.Event) {
	sw.used.add(ev)
	switch ev.Kind {
	case agent.EventText:
		if ev.Text == "" {
			return
		}
		sw.start()
		text := ev.Text
		if sw.tools && sw.text {
			// The reply after a tool round is a new paragraph, not the end of the last word.
			text = "\n\n" + text
		}
		sw.tools, sw.text = false, true
		sw.chunk(chunkChoice{Delta: chunkDelta{Content: text}})
	case agent.EventToolStart:
		sw.start()
		sw.raw(": tool " + oneLine(agent.DisplayName(ev.Tool)) + "\n\n")
	case agent.EventToolEnd:
		sw.tools = true
	case agent.EventRetry:
		sw.start()
		sw.raw(": retry " + oneLine(ev.Text) + "\n\n")
	}
}

func (sw *sseWriter) chunk(c chunkChoice) {
	ch := sw.base
	ch.Choices = []chunkChoice{c}
	sw.data(ch)
}

func (sw *sseWriter) data(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	sw.raw("data: " + string(b) + "\n\n")
}

// raw writes and flushes; a write to a client that left fails, and the run's context (the
// request's) is cancelled by the server, so errors need no handling here.
func (sw *sseWriter) raw(s string) {
	_, _ = io.WriteString(sw.w, s)
	_ = sw.rc.Flush()
}

// title is a session's title: the first line of the first message, at most 80 characters.
func title(text string) string {
	text = strings.TrimSpace(text)
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	if utf8.RuneCountInString(text) > 80 {
		text = string([]rune(text)[:79]) + "…"
	}
	return text
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func completionID() string {
	var b [12]byte
	_, _ = crand.Read(b[:])
	return "chatcmpl-" + hex.EncodeToString(b[:])
}

func (s *Server) redact(text string) string {
	if s.cfg.Redact == nil {
		return text
	}
	return s.cfg.Redact(text)
}
