package wasm

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/hermes-agent/hermes/abi"
)

// Client is the party a call was made for, which a hyper-mcp v2 plugin may notify or ask
// (notify_logging_message, notify_progress, create_message, create_elicitation, list_roots):
// under hermes mcp serve, the MCP client whose tools/call it is. Each method takes and returns
// the JSON of hyper-mcp's xtp-plugin-schema.json, already checked to be a bounded JSON object.
// A call made for nobody (hermes tools call, the agent) has no Client: logging and progress
// then go to hermes' log only, and the requests are refused.
type Client interface {
	// Meta is the request's _meta (with the client's progressToken), passed to call_tool as
	// its context; nil for none.
	Meta() json.RawMessage
	Log(ctx context.Context, params json.RawMessage)
	Progress(ctx context.Context, params json.RawMessage)
	CreateMessage(ctx context.Context, params json.RawMessage) (json.RawMessage, error)
	Elicit(ctx context.Context, params json.RawMessage) (json.RawMessage, error)
	ListRoots(ctx context.Context) (json.RawMessage, error)
}

type clientKey struct{}

// WithClient returns a context whose plugin calls are made for c.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientOf is the Client a call's context carries, or nil.
func ClientOf(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// maxClientJSON bounds what a plugin may send its client in one request or notification.
const maxClientJSON = 64 << 10

// clientJSON reads a plugin's JSON argument from block off and checks that it is one object
// of at most maxClientJSON bytes.
func (in *instance) clientJSON(off uint64) (json.RawMessage, error) {
	b, err := in.arena.block(off)
	if err != nil {
		return nil, err
	}
	if len(b) > maxClientJSON {
		return nil, &limitError{limit: "client message bytes", detail: fmt.Sprintf("a %d-byte message exceeds %d", len(b), maxClientJSON)}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, fmt.Errorf("the argument is not a JSON object: %w", err)
	}
	return append(json.RawMessage(nil), b...), nil
}

// syslog levels of MCP logging, as slog levels.
var mcpLevels = map[string]slog.Level{
	"debug": slog.LevelDebug, "info": slog.LevelInfo, "notice": slog.LevelInfo, "warning": slog.LevelWarn,
	"error": slog.LevelError, "critical": slog.LevelError, "alert": slog.LevelError, "emergency": slog.LevelError,
}

func notifyLoggingMessage(in *instance, ctx context.Context, s []uint64) error {
	params, err := in.clientJSON(s[0])
	if err != nil {
		return err
	}
	var msg struct {
		Level  string          `json:"level"`
		Logger string          `json:"logger"`
		Data   json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(params, &msg)
	level, ok := mcpLevels[msg.Level]
	if !ok {
		return fmt.Errorf("level %q is not an MCP logging level (debug, info, notice, warning, error, critical, alert, emergency)", truncate(msg.Level, 40))
	}
	text := string(msg.Data)
	var str string
	if json.Unmarshal(msg.Data, &str) == nil {
		text = str
	}
	if msg.Logger != "" {
		text = truncate(msg.Logger, 80) + ": " + text
	}
	in.plugin.log(ctx, level, text)
	if c := ClientOf(ctx); c != nil && in.plugin.clientAllowed(time.Now()) {
		c.Log(ctx, params)
	}
	return nil
}

func notifyProgress(in *instance, ctx context.Context, s []uint64) error {
	params, err := in.clientJSON(s[0])
	if err != nil {
		return err
	}
	var p struct {
		Progress *float64 `json:"progress"`
		Token    any      `json:"progressToken"`
		Total    *float64 `json:"total"`
		Message  string   `json:"message"`
	}
	if json.Unmarshal(params, &p) != nil || p.Progress == nil {
		return fmt.Errorf("the argument is not {\"progress\": number, \"progressToken\": ...}")
	}
	if !in.plugin.clientAllowed(time.Now()) {
		return nil // progress is advisory: past the rate, it is dropped
	}
	in.plugin.logger.Debug("plugin progress", "plugin", in.plugin.spec.Name, "progress", *p.Progress, "total", p.Total, "message", truncate(p.Message, 200))
	if c := ClientOf(ctx); c != nil && p.Token != nil {
		c.Progress(ctx, params)
	}
	return nil
}

// notifyListChanged accepts hyper-mcp's list-changed notifications: hermes reads a plugin's
// tools when it is added, so they change nothing.
func notifyListChanged(in *instance, _ context.Context, _ []uint64) error {
	in.plugin.logger.Debug("plugin list-changed notification ignored (tools are read when a plugin is added)", "plugin", in.plugin.spec.Name)
	return nil
}

// clientRequest is create_message, create_elicitation and list_roots: the grant was checked
// when they were linked; the request goes to the call's client, whose answer must be bounded.
func clientRequest(name string, capability abi.Capability, ask func(c Client, ctx context.Context, params json.RawMessage) (json.RawMessage, error), takesParams bool) hostFunc {
	return func(in *instance, ctx context.Context, s []uint64) (err error) {
		var params json.RawMessage
		if takesParams {
			if params, err = in.clientJSON(s[0]); err != nil {
				return err
			}
		}
		defer func() { in.record(string(capability), name, "", err) }()
		c := ClientOf(ctx)
		if c == nil {
			return &deniedError{capability: capability, detail: "there is no client to ask: only hermes mcp serve forwards " + name + ", to the MCP client whose call it is"}
		}
		out, err := ask(c, ctx, params)
		if err != nil {
			return fmt.Errorf("the client refused: %s", firstLine(err.Error()))
		}
		if len(out) > maxClientJSON {
			return &limitError{limit: "client message bytes", detail: fmt.Sprintf("the client's %d-byte answer exceeds %d", len(out), maxClientJSON)}
		}
		s[0], err = in.arena.allocBytes(out)
		return err
	}
}

func init() {
	hostFuncs["notify_logging_message"] = notifyLoggingMessage
	hostFuncs["notify_progress"] = notifyProgress
	for _, n := range []string{"notify_tool_list_changed", "notify_prompt_list_changed", "notify_resource_list_changed", "notify_resource_updated"} {
		hostFuncs[n] = notifyListChanged
	}
	hostFuncs["create_message"] = clientRequest("create_message", abi.CapSampling, Client.CreateMessage, true)
	hostFuncs["create_elicitation"] = clientRequest("create_elicitation", abi.CapElicitation, Client.Elicit, true)
	hostFuncs["list_roots"] = clientRequest("list_roots", abi.CapRoots, func(c Client, ctx context.Context, _ json.RawMessage) (json.RawMessage, error) {
		return c.ListRoots(ctx)
	}, false)
}

// clientAllowed rate-limits what a plugin sends its client, as its log is.
func (p *Plugin) clientAllowed(now time.Time) bool {
	_, ok := p.clientLimiter.allow(now)
	return ok
}
