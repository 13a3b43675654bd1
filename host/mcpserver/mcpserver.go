// Package mcpserver offers every enabled plugin tool to Model Context Protocol clients, with
// the official Go SDK (github.com/modelcontextprotocol/go-sdk).
//
// A tool's name ("files.read"), description and input schema are the ones its plugin described
// when it was added. A call goes through the registry exactly as `hermes tools call` does — the
// arguments are checked against the schema, the plugin runs with the capabilities the user
// granted and nothing more — and its result comes back as JSON text (and as structured content
// when it is an object); a failed call is a result with isError set and "<tool>: <code>:
// <message>" as its text, so the client's model can read it and try again. When the client
// cancels a request, the plugin call's context is cancelled, which stops the module.
//
// The tools follow the lock: before every tools/list and tools/call the server asks the registry
// whether the lock changed (one small query, see registry.Refresh), and when it did, it offers
// the tools as they are now and tells the client (notifications/tools/list_changed). A plugin
// disabled, removed or updated by another process is gone from the next tools/list; calling a
// tool that went away is a result saying why (disabled, removed, its signer untrusted, its files
// changed), and a call already running finishes.
//
// The client gets tools and the log messages plugins send (hyper-mcp's notify_logging_message,
// once the client sets a level); a tool call's progressToken receives the plugin's progress
// notifications. The server advertises no prompts, resources or completions. It asks the
// client for sampling (create_message), elicitation or roots only on behalf of a plugin the
// user granted that capability, during that plugin's call; and it ignores roots a client
// announces otherwise. Grants stay with `hermes plugins install`: no request can install a
// plugin or widen what one may do, and plugins see the workspace of config.toml, not a
// client's roots.
package mcpserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/wasm"
)

// Registry is the part of *registry.Registry the server needs.
type Registry interface {
	Tools(ctx context.Context) ([]registry.ToolInfo, error)
	Call(ctx context.Context, name string, args []byte) ([]byte, error)
	// Refresh returns the lock version the registry reflects (see registry.Registry.Refresh).
	Refresh(ctx context.Context) (int64, error)
}

var _ Registry = (*registry.Registry)(nil)

// Options configure a Server.
type Options struct {
	// Version is reported to clients as the server's version; "" reports "dev".
	Version string
	// Redact is applied to every result and error text before it is sent (secrets from .env
	// become [REDACTED:NAME]); nil leaves text as it is.
	Redact func(string) string
	// Logger receives a line per call (tool, outcome, never arguments or results) and the
	// SDK's own messages; nil uses slog.Default().
	Logger *slog.Logger
}

// Server is an MCP server over a registry's tools.
type Server struct {
	mcp  *mcp.Server
	reg  Registry
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	seen    int64                        // the lock version the offered tools were listed at
	offered map[string]registry.ToolInfo // by name
	leftOut map[string]bool              // listed by the registry, refused by the SDK
	gone    map[string]bool              // offered once, no longer: calls get the registry's reason
}

// New lists the registry's enabled tools and returns a server offering them; they are listed
// again whenever the lock changes.
func New(ctx context.Context, reg Registry, opts Options) (*Server, error) {
	if reg == nil {
		return nil, errors.New("mcpserver: no registry")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	s := &Server{reg: reg, opts: opts, log: log, seen: -1,
		offered: map[string]registry.ToolInfo{}, leftOut: map[string]bool{}, gone: map[string]bool{}}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "hermes", Title: "hermes plugin tools", Version: version}, &mcp.ServerOptions{
		Logger: log,
		Instructions: "Tools of the user's hermes plugins, each running as sandboxed WebAssembly with only the " +
			"capabilities the user granted. A failed call says why as '<tool>: <code>: <message>'.",
		// Tools (which change when the user changes the plugins), and the plugins' log messages.
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{ListChanged: true}, Logging: &mcp.LoggingCapabilities{}},
	})
	if err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mcp.AddReceivingMiddleware(s.followLock)
	return s, nil
}

// sync offers the registry's tools as they are now, when the lock changed since they were
// listed: tools that went away are removed, new and changed ones added.
func (s *Server) sync(ctx context.Context) error {
	v, err := s.reg.Refresh(ctx)
	if err != nil {
		return fmt.Errorf("mcp serve: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == s.seen {
		return nil
	}
	infos, err := s.reg.Tools(ctx)
	if err != nil {
		return fmt.Errorf("mcp serve: list plugin tools: %w", err)
	}
	now := make(map[string]registry.ToolInfo, len(infos))
	for _, info := range infos {
		now[info.Name] = info
	}
	var removed []string
	for name := range s.offered {
		if _, ok := now[name]; !ok {
			removed = append(removed, name)
			delete(s.offered, name)
			s.gone[name] = true
		}
	}
	if len(removed) > 0 {
		sort.Strings(removed)
		s.mcp.RemoveTools(removed...)
		if s.seen >= 0 {
			s.log.Info("mcp serve: tools withdrawn after a plugin change", "tools", removed)
		}
	}
	leftOut := map[string]bool{}
	for _, info := range infos {
		if prev, ok := s.offered[info.Name]; ok && sameTool(prev, info) {
			continue
		}
		schema, err := inputSchema(info.Parameters)
		if err == nil {
			tool := &mcp.Tool{Name: info.Name, Description: info.Description, InputSchema: schema}
			err = addTool(s.mcp, tool, s.handler(info.Name))
		}
		if err != nil {
			log := s.log.Warn
			if s.leftOut[info.Name] {
				log = s.log.Debug // said already
			}
			log("mcp serve: tool left out", "tool", info.Name, "err", err)
			leftOut[info.Name] = true
			if _, ok := s.offered[info.Name]; ok {
				s.mcp.RemoveTools(info.Name)
				delete(s.offered, info.Name)
			}
			continue
		}
		s.offered[info.Name] = info
		delete(s.gone, info.Name)
	}
	s.leftOut = leftOut
	s.seen = v
	return nil
}

func sameTool(a, b registry.ToolInfo) bool {
	return a.Description == b.Description && bytes.Equal(a.Parameters, b.Parameters)
}

// followLock is the server's middleware: tools/list and tools/call first bring the offered
// tools up to date with the lock, and a call to a tool that went away gets the registry's
// reason as its result rather than the SDK's "unknown tool".
func (s *Server) followLock(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list":
			if err := s.sync(ctx); err != nil {
				s.log.Warn("mcp serve: tools not listed", "err", err)
				return nil, err
			}
		case "tools/call":
			if err := s.sync(ctx); err != nil {
				s.log.Warn("mcp serve: tools not brought up to date", "err", err) // the call reports it
			}
			if call, ok := req.(*mcp.CallToolRequest); ok && call.Params != nil {
				s.mu.Lock()
				gone := s.gone[call.Params.Name]
				s.mu.Unlock()
				if gone {
					return s.handler(call.Params.Name)(ctx, call)
				}
			}
		}
		return next(ctx, method, req)
	}
}

// Tools returns the names of the tools offered.
func (s *Server) Tools() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.offered))
	for name := range s.offered {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Run serves one client over t until the client disconnects (nil) or ctx ends (ctx's error).
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	err := s.mcp.Run(ctx, t)
	if errors.Is(err, io.EOF) {
		return nil // the client closed the stream: the normal end of a stdio session
	}
	return err
}

// MCPServer is the SDK's server, to connect it to another transport.
func (s *Server) MCPServer() *mcp.Server { return s.mcp }

// handler calls one registry tool.
func (s *Server) handler(name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := []byte("{}")
		if req.Params != nil && len(bytes.TrimSpace(req.Params.Arguments)) > 0 && string(bytes.TrimSpace(req.Params.Arguments)) != "null" {
			args = req.Params.Arguments
		}
		s.log.Debug("mcp tool call started", "tool", name)
		if req.Session != nil {
			c := &client{s: s, ss: req.Session}
			if req.Params != nil {
				c.token = req.Params.GetProgressToken()
			}
			ctx = wasm.WithClient(ctx, c)
		}
		ctx, notices := activity.WithNotices(ctx)
		out, err := s.reg.Call(ctx, name, args)
		if err != nil {
			code := abi.CodeOf(err)
			if code == "" && ctx.Err() != nil {
				code = abi.CodeCanceled
			}
			s.log.Info("mcp tool call failed", "tool", name, "code", code)
			// What the host saw beyond the plugin's own error (a path outside the file grants,
			// which the plugin reports as "Bad file number") follows it, one line each.
			msg := errorText(name, err)
			for _, l := range notices.Take() {
				msg += "\n" + l
			}
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: s.redact(msg)}}}, nil
		}
		s.log.Debug("mcp tool call done", "tool", name, "bytes", len(out))
		text := s.redact(string(out))
		res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
		if obj := bytes.TrimSpace([]byte(text)); len(obj) > 0 && obj[0] == '{' && json.Valid(obj) {
			res.StructuredContent = json.RawMessage(obj)
		}
		// A plugin may swallow the refusal and succeed; what the host saw is told after the
		// result, as content of its own, so the result's JSON stays as the plugin made it.
		if lines := notices.Take(); len(lines) > 0 {
			res.Content = append(res.Content, &mcp.TextContent{Text: s.redact(strings.Join(lines, "\n"))})
		}
		return res, nil
	}
}

// errorText is what the client reads for a failed call: "<tool>: <code>: <message>".
func errorText(tool string, err error) string {
	var ae *abi.Error
	if errors.As(err, &ae) {
		msg := ae.Message
		if msg == "" && ae.Err != nil {
			msg = ae.Err.Error()
		}
		return tool + ": " + string(ae.Code) + ": " + msg
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return tool + ": " + string(abi.CodeCanceled) + ": " + err.Error()
	}
	return tool + ": " + string(abi.CodeToolError) + ": " + err.Error()
}

func (s *Server) redact(text string) string {
	if s.opts.Redact == nil {
		return text
	}
	return s.opts.Redact(text)
}

// inputSchema is a tool's parameters as the SDK wants them: a JSON object whose type is
// "object" (an empty schema becomes {"type":"object"}), otherwise as described. "x-mcp-header" keywords are dropped: they mean
// something only to the SDK's HTTP transport, which panics on ones it dislikes, and a plugin's
// schema must not be able to stop the server.
func inputSchema(params json.RawMessage) (map[string]any, error) {
	schema := map[string]any{}
	if p := bytes.TrimSpace(params); len(p) > 0 && string(p) != "null" {
		if err := json.Unmarshal(p, &schema); err != nil {
			return nil, fmt.Errorf("parameters are not a JSON Schema object: %w", err)
		}
	}
	if _, ok := schema["type"]; !ok {
		schema["type"] = "object"
	}
	if schema["type"] != "object" {
		return nil, fmt.Errorf("parameters schema has type %v; MCP tools take an object", schema["type"])
	}
	dropKeyword(schema, "x-mcp-header")
	return schema, nil
}

func dropKeyword(v any, keyword string) {
	switch x := v.(type) {
	case map[string]any:
		delete(x, keyword)
		for _, e := range x {
			dropKeyword(e, keyword)
		}
	case []any:
		for _, e := range x {
			dropKeyword(e, keyword)
		}
	}
}

// addTool adds a tool, turning a panic of the SDK's checks into an error: the checks are the
// SDK's to change, and one plugin's odd schema must not take the others down with it.
func addTool(srv *mcp.Server, tool *mcp.Tool, h mcp.ToolHandler) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the MCP SDK refused the tool: %v", r)
		}
	}()
	srv.AddTool(tool, h)
	return nil
}

// client is the MCP client of one tools/call, as the plugin it runs sees it (wasm.Client):
// what the plugin sends is redacted, as its results are; its progress goes to this call's
// progressToken only, whatever token it names.
type client struct {
	s     *Server
	ss    *mcp.ServerSession
	token any
}

var _ wasm.Client = (*client)(nil)

func (c *client) Meta() json.RawMessage {
	if c.token == nil {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"progressToken": c.token})
	return b
}

// decode unmarshals a plugin's message, redacted, into v.
func (c *client) decode(params json.RawMessage, v any) error {
	if err := json.Unmarshal([]byte(c.s.redact(string(params))), v); err != nil {
		return fmt.Errorf("not the MCP shape: %w", err)
	}
	return nil
}

func (c *client) Log(ctx context.Context, params json.RawMessage) {
	var p mcp.LoggingMessageParams
	if c.decode(params, &p) == nil {
		if err := c.ss.Log(ctx, &p); err != nil {
			c.s.log.Debug("mcp serve: plugin log message not sent", "err", err)
		}
	}
}

func (c *client) Progress(ctx context.Context, params json.RawMessage) {
	var p mcp.ProgressNotificationParams
	if c.token == nil || c.decode(params, &p) != nil {
		return
	}
	p.ProgressToken = c.token
	if err := c.ss.NotifyProgress(ctx, &p); err != nil {
		c.s.log.Debug("mcp serve: plugin progress not sent", "err", err)
	}
}

func (c *client) capabilities() *mcp.ClientCapabilities {
	if ip := c.ss.InitializeParams(); ip != nil && ip.Capabilities != nil {
		return ip.Capabilities
	}
	return &mcp.ClientCapabilities{}
}

func (c *client) CreateMessage(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
	if c.capabilities().Sampling == nil {
		return nil, errors.New("the MCP client does not support sampling")
	}
	var p mcp.CreateMessageParams
	if err := c.decode(params, &p); err != nil {
		return nil, err
	}
	res, err := c.ss.CreateMessage(ctx, &p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

func (c *client) Elicit(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
	var p mcp.ElicitParams
	if err := c.decode(params, &p); err != nil {
		return nil, err
	}
	res, err := c.ss.Elicit(ctx, &p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}

func (c *client) ListRoots(ctx context.Context) (json.RawMessage, error) {
	if c.capabilities().RootsV2 == nil {
		return nil, errors.New("the MCP client does not share roots")
	}
	res, err := c.ss.ListRoots(ctx, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(res)
}
