// Package agent is hermes' tool-calling loop: it talks to any OpenAI-compatible chat-completions
// endpoint (OpenRouter, Ollama, llama.cpp's server, vLLM) with streaming, runs the tools the
// model asks for (plugin tools through the registry, the terminal through a sandbox backend),
// feeds their results back, and keeps the conversation in the store as it goes.
//
// One user turn ([Agent.Run]):
//
//  1. the session's earlier messages are loaded (resume) and the user's message is committed;
//  2. the model is asked, with every message so far and the allowed tools; text is streamed to
//     the caller as it arrives;
//  3. the assistant's message (with its tool calls) is committed as soon as it is complete;
//  4. its tool calls run concurrently (at most Config.MaxParallel at once); each result is
//     redacted, capped and committed as a tool message, in the order of the calls, as soon as it
//     and the ones before it are done. A failing tool, an unknown tool and arguments that are not
//     JSON become results the model reads ("error: <code>: <message>"): the loop goes on;
//  5. back to 2, until a reply without tool calls (its text is the answer) or MaxIterations.
//
// The model is called through github.com/openai/openai-go/v3 with its own retries disabled: a
// 429, a 5xx, a network error, an empty choice list or a stream cut before its end is retried
// here, at most Config.MaxRetries times, with exponential backoff and jitter, honouring
// Retry-After. Nothing already committed is lost by any failure; cancelling the context (Ctrl-C)
// stops the request and the running tools, and what was said so far stays saved.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/store"
)

// Defaults for Config's zero fields.
const (
	DefaultMaxIterations   = 20
	DefaultMaxParallel     = 4
	DefaultToolResultLimit = 20_000
	DefaultMaxRetries      = 3
	DefaultBaseBackoff     = 500 * time.Millisecond
)

// Config configures an Agent. Zero fields take the defaults above.
type Config struct {
	// BaseURL of the OpenAI-compatible API, e.g. https://openrouter.ai/api/v1 or
	// http://127.0.0.1:11434/v1 (Ollama). Required.
	BaseURL string
	// APIKey is sent as a bearer token; "" sends none (local servers).
	APIKey string
	// Model is the model's name. "" uses the session's Model.
	Model string
	// SystemPrompt, if not empty, is sent first in every request. It is not stored.
	SystemPrompt string

	MaxIterations   int // model requests per user turn (default 20)
	MaxParallel     int // tool calls run at once (default 4)
	ToolResultLimit int // characters of a tool result the model sees; head and tail are kept (default 20,000)

	// Allow and Deny are globs (path.Match) over tool names, matched against the model-facing
	// name ("files__read") and the plugin form ("files.read"). An empty Allow allows every tool;
	// Deny wins. Tools not allowed are not offered to the model, and calls to them are refused.
	Allow, Deny []string

	// MaxRetries bounds retries of one model request after a 408, 409, 429 or 5xx status, a
	// network error, an empty choice list or a stream cut before its end (default 3; negative:
	// none). Backoff is exponential from BaseBackoff (default 500ms) with jitter; a Retry-After
	// (or retry-after-ms) header is honoured, up to MaxRetryAfter.
	MaxRetries  int
	BaseBackoff time.Duration

	// HTTPClient makes the requests; nil uses a client with the default transport.
	HTTPClient *http.Client

	// Redact is applied to every string before it is stored, streamed to the caller or sent
	// back to the model (secrets from .env become [REDACTED:NAME]). nil leaves text as it is.
	Redact func(string) string

	// Reload, if set, is asked before every model request whether the tools changed (a plugin
	// was disabled, removed or updated, by this process or another: see PluginReload). When it
	// says so, the tools it returns replace the agent's, checked as New checks them, from that
	// request on; a call already running finishes. Its error ends the turn. Calls of Reload
	// never overlap, even when turns run concurrently.
	Reload func(ctx context.Context) (tools []Tool, changed bool, err error)
}

// MaxRetryAfter is the longest Retry-After honoured; a server asking for more ends the retries.
const MaxRetryAfter = 2 * time.Minute

// maxBackoff caps the exponential backoff.
const maxBackoff = 30 * time.Second

// Store is the part of store.DB the agent needs. *store.DB satisfies it.
type Store interface {
	AppendMessage(ctx context.Context, m store.Message) (store.Message, error)
	AppendMessages(ctx context.Context, ms []store.Message) ([]store.Message, error)
	Messages(ctx context.Context, sessionID string, f store.SessionFilter) ([]store.Message, error)
}

var _ Store = (*store.DB)(nil)

// Event kinds.
const (
	EventText      = "text"       // Text: a piece of the assistant's reply, as it streams
	EventToolStart = "tool_start" // Tool, Args: a tool call starts
	EventToolEnd   = "tool_end"   // Tool, Args, Result (what the model sees), Err (the tool's error, if any), Notices
	EventRetry     = "retry"      // Text: what failed and when it is retried; Err
	EventError     = "error"      // Text, Err: Run ends with this error
	EventUsage     = "usage"      // Usage: the tokens one model request used, as its server counted them (none when it does not)
)

// Event is something the caller may show while Run works. Every string in it has been through
// Config.Redact. Events are delivered on Run's goroutine, one at a time; tool_start and tool_end
// come in the order of the model's calls.
type Event struct {
	Kind   string
	Text   string
	Tool   string
	Args   string
	Result string
	Err    error
	Usage  Usage
	// Notices are lines the host told about a tool call beyond its result (tool_end), such as
	// "denied: /home/x/.env is outside the plugin's file grants"; the model reads them too.
	Notices []string
}

// ErrMaxIterations is wrapped by Run's error when the turn used Config.MaxIterations model
// requests without a final answer.
var ErrMaxIterations = errors.New("too many steps without a final answer")

// Agent runs conversations. It is safe for concurrent use by several Runs (on different
// sessions).
type Agent struct {
	cfg      Config
	st       Store
	svc      openai.ChatCompletionService
	set      atomic.Pointer[toolSet]
	reloadMu sync.Mutex // one Reload at a time
}

// toolSet is the tools of one model request. Replaced whole (Config.Reload), never changed.
type toolSet struct {
	tools    map[string]*Tool // every tool, by model-facing name
	allowed  map[string]bool
	toolList []openai.ChatCompletionToolUnionParam // the allowed tools, as offered
	names    []string                              // the allowed tools' names, sorted as given
}

// New returns an Agent over tools, keeping conversations in st.
func New(cfg Config, tools []Tool, st Store) (*Agent, error) {
	if st == nil {
		return nil, errors.New("agent: no store")
	}
	if cfg.BaseURL == "" {
		return nil, errors.New("agent: no base URL for the model API (model.base_url)")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent: base URL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.MaxIterations <= 0 {
		cfg.MaxIterations = DefaultMaxIterations
	}
	if cfg.MaxParallel <= 0 {
		cfg.MaxParallel = DefaultMaxParallel
	}
	if cfg.ToolResultLimit <= 0 {
		cfg.ToolResultLimit = DefaultToolResultLimit
	}
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = DefaultMaxRetries
	} else if cfg.MaxRetries < 0 {
		cfg.MaxRetries = 0
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = DefaultBaseBackoff
	}
	for _, g := range append(append([]string{}, cfg.Allow...), cfg.Deny...) {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("agent: tool glob %q: %w", g, err)
		}
	}
	cfg.Allow = append([]string(nil), cfg.Allow...)
	cfg.Deny = append([]string(nil), cfg.Deny...)

	a := &Agent{cfg: cfg, st: st}
	ts, err := a.buildTools(tools)
	if err != nil {
		return nil, err
	}
	a.set.Store(ts)

	// The service is built from explicit options only: openai.NewClient would also read
	// OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_CUSTOM_HEADERS, … from the
	// environment and send them to whatever endpoint is configured.
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	opts := []option.RequestOption{
		option.WithBaseURL(cfg.BaseURL),
		option.WithHTTPClient(hc),
		option.WithMaxRetries(0), // retries are ours: bounded, with events
	}
	if cfg.APIKey != "" {
		opts = append(opts, option.WithAPIKey(cfg.APIKey))
	}
	a.svc = openai.NewChatCompletionService(opts...)
	return a, nil
}

// buildTools checks tools and makes them the set offered to the model (after Allow and Deny).
func (a *Agent) buildTools(tools []Tool) (*toolSet, error) {
	ts := &toolSet{tools: map[string]*Tool{}, allowed: map[string]bool{}}
	for i := range tools {
		t := tools[i]
		if !validToolName(t.Name) {
			return nil, fmt.Errorf("agent: tool name %q: must be 1 to 64 of a-z A-Z 0-9 _ - (see ToolName)", t.Name)
		}
		if t.Call == nil {
			return nil, fmt.Errorf("agent: tool %s has no Call", t.Name)
		}
		if _, dup := ts.tools[t.Name]; dup {
			return nil, fmt.Errorf("agent: two tools are named %s", t.Name)
		}
		params := map[string]any{}
		if len(strings.TrimSpace(string(t.Parameters))) > 0 && string(t.Parameters) != "null" {
			if err := json.Unmarshal(t.Parameters, &params); err != nil {
				return nil, fmt.Errorf("agent: tool %s: parameters are not a JSON Schema object: %w", t.Name, err)
			}
		}
		if _, ok := params["type"]; !ok {
			params["type"] = "object"
		}
		if _, ok := params["properties"]; !ok && params["type"] == "object" {
			params["properties"] = map[string]any{}
		}
		ts.tools[t.Name] = &t
		if !a.permitted(t.Name) {
			continue
		}
		ts.allowed[t.Name] = true
		ts.names = append(ts.names, t.Name)
		def := shared.FunctionDefinitionParam{Name: t.Name, Parameters: shared.FunctionParameters(params)}
		if t.Description != "" {
			def.Description = openai.String(t.Description)
		}
		tool := openai.ChatCompletionFunctionTool(def)
		// Every request offers the same tools: their JSON is encoded once here rather than by
		// openai-go's reflective encoder in every request, where it was most of building one.
		if raw, err := json.Marshal(tool.OfFunction); err == nil {
			param.SetJSON(raw, tool.OfFunction)
		}
		ts.toolList = append(ts.toolList, tool)
	}
	return ts, nil
}

// tools returns the tools of the next model request, asking Config.Reload first.
func (a *Agent) tools(ctx context.Context) (*toolSet, error) {
	if a.cfg.Reload == nil {
		return a.set.Load(), nil
	}
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	tools, changed, err := a.cfg.Reload(ctx)
	if err != nil {
		return nil, fmt.Errorf("agent: tools: %w", err)
	}
	if changed {
		ts, err := a.buildTools(tools)
		if err != nil {
			return nil, err
		}
		a.set.Store(ts)
	}
	return a.set.Load(), nil
}

// Tools returns the names of the tools offered to the model, after Allow and Deny.
func (a *Agent) Tools() []string { return append([]string(nil), a.set.Load().names...) }

// permitted applies Allow and Deny to a model-facing tool name.
func (a *Agent) permitted(name string) bool {
	forms := []string{name}
	if dotted := strings.Replace(name, "__", ".", 1); dotted != name {
		forms = append(forms, dotted)
	}
	match := func(globs []string) bool {
		for _, g := range globs {
			for _, f := range forms {
				if ok, _ := path.Match(g, f); ok {
					return true
				}
			}
		}
		return false
	}
	if match(a.cfg.Deny) {
		return false
	}
	return len(a.cfg.Allow) == 0 || match(a.cfg.Allow)
}

func (a *Agent) redact(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if a.cfg.Redact == nil {
		return s
	}
	return a.cfg.Redact(s)
}

// saveCtx is the context of store writes: what happened is saved even when the turn is being
// cancelled (SQLite's busy timeout bounds the wait).
func saveCtx(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// Run answers userText in session: it loads the session's messages, commits the user's message
// and loops model → tools → model until the model answers without calling tools. It returns
// the answer (redacted). onEvent, if not nil, receives progress (see Event).
//
// Errors: the context's error when ctx is cancelled (everything said until then is saved; a
// reply cut short is saved with "[interrupted]"); an error wrapping ErrMaxIterations; "model:
// …" when the model API fails for good (after retries, or at once for errors like 401 or 404).
func (a *Agent) Run(ctx context.Context, session store.Session, userText string, onEvent func(Event)) (final string, err error) {
	emit := func(e Event) {
		if onEvent != nil {
			onEvent(e)
		}
	}
	defer func() {
		if err != nil {
			emit(Event{Kind: EventError, Text: a.redact(err.Error()), Err: err})
		}
	}()
	model := a.cfg.Model
	if model == "" {
		model = session.Model
	}
	if model == "" {
		return "", errors.New("agent: no model configured (model.name)")
	}
	if session.ID == "" {
		return "", errors.New("agent: session has no id")
	}
	ctx = activity.WithSession(ctx, session.ID)
	prior, err := a.st.Messages(ctx, session.ID, store.SessionFilter{Source: session.Source, AllSources: session.Source == ""})
	if err != nil {
		return "", fmt.Errorf("agent: load session: %w", err)
	}
	c := &conversation{agent: a, session: session.ID}
	if a.cfg.SystemPrompt != "" {
		c.params = append(c.params, openai.SystemMessage(a.redact(a.cfg.SystemPrompt)))
	}
	c.load(prior)
	if err := c.save(ctx, store.Message{Role: store.RoleUser, Content: a.redact(userText)}); err != nil {
		return "", err
	}

	for iter := 0; iter < a.cfg.MaxIterations; iter++ {
		ts, err := a.tools(ctx)
		if err != nil {
			return "", err
		}
		r, err := a.complete(ctx, model, c.params, ts, emit)
		if err != nil {
			if r.content != "" {
				// What was streamed is kept, marked as cut short.
				_ = c.save(ctx, store.Message{Role: store.RoleAssistant, Content: a.redact(r.content) + "\n[interrupted]"})
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return "", ctxErr
			}
			return "", err
		}
		msg := store.Message{Role: store.RoleAssistant, Content: a.redact(r.content)}
		for _, call := range r.calls {
			msg.ToolCalls = append(msg.ToolCalls, store.ToolCall{ID: call.id, Name: a.redact(call.name), Arguments: a.redact(call.args)})
		}
		if err := c.save(ctx, msg); err != nil {
			return "", err
		}
		if len(r.calls) == 0 {
			return msg.Content, nil
		}
		if err := a.runTools(ctx, c, ts, r.calls, emit); err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("agent: %w: stopped after %d model requests (agent.max_iterations); the conversation is saved, send a message to continue", ErrMaxIterations, a.cfg.MaxIterations)
}

// conversation is the session's messages as the model is sent them, kept in step with what is
// committed.
type conversation struct {
	agent   *Agent
	session string
	params  []openai.ChatCompletionMessageParamUnion
}

// save commits m and appends it to the request messages.
func (c *conversation) save(ctx context.Context, m store.Message) error {
	m.SessionID = c.session
	saved, err := c.agent.st.AppendMessage(saveCtx(ctx), m)
	if err != nil {
		return fmt.Errorf("agent: save %s message: %w", m.Role, err)
	}
	c.params = append(c.params, toParam(saved))
	return nil
}

// saveAll commits ms in one transaction.
func (c *conversation) saveAll(ctx context.Context, ms []store.Message) error {
	if len(ms) == 0 {
		return nil
	}
	for i := range ms {
		ms[i].SessionID = c.session
	}
	saved, err := c.agent.st.AppendMessages(saveCtx(ctx), ms)
	if err != nil {
		return fmt.Errorf("agent: save tool results: %w", err)
	}
	for _, m := range saved {
		c.params = append(c.params, toParam(m))
	}
	return nil
}

// load turns stored messages into request messages, repairing what an interrupted process
// may have left: tool calls without a result get one saying so, and tool results that answer
// no call are dropped (APIs reject both).
func (c *conversation) load(ms []store.Message) {
	var pending []string // call ids of the last assistant message still without a result
	answered := map[string]bool{}
	flush := func() {
		for _, id := range pending {
			if !answered[id] {
				c.params = append(c.params, openai.ToolMessage("error: canceled: no result was recorded (the turn was interrupted)", id))
			}
		}
		pending = nil
		clear(answered)
	}
	for _, m := range ms {
		if m.Role == store.RoleTool {
			if !answered[m.ToolCallID] && contains(pending, m.ToolCallID) {
				answered[m.ToolCallID] = true
				c.params = append(c.params, toParam(m))
			}
			continue
		}
		flush()
		c.params = append(c.params, toParam(m))
		for _, tc := range m.ToolCalls {
			pending = append(pending, tc.ID)
		}
	}
	flush()
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// toParam converts a stored message into a request message.
func toParam(m store.Message) openai.ChatCompletionMessageParamUnion {
	switch m.Role {
	case store.RoleSystem:
		return openai.SystemMessage(m.Content)
	case store.RoleTool:
		content := m.Content
		if content == "" {
			content = "(no output)" // some APIs reject an empty tool result
		}
		return openai.ToolMessage(content, m.ToolCallID)
	case store.RoleAssistant:
		p := openai.ChatCompletionAssistantMessageParam{}
		if m.Content != "" || len(m.ToolCalls) == 0 {
			p.Content.OfString = openai.String(m.Content)
		}
		for _, tc := range m.ToolCalls {
			args := tc.Arguments
			if args == "" {
				args = "{}"
			}
			p.ToolCalls = append(p.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID:       tc.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: tc.Name, Arguments: args},
				},
			})
		}
		return openai.ChatCompletionMessageParamUnion{OfAssistant: &p}
	default:
		return openai.UserMessage(m.Content)
	}
}
