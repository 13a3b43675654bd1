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

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/wasm"
)

// Registry is the part of *registry.Registry the server needs.
type Registry interface {
	Tools(ctx context.Context) ([]registry.ToolInfo, error)
	Call(ctx context.Context, name string, args []byte) ([]byte, error)
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
	mcp   *mcp.Server
	reg   Registry
	opts  Options
	log   *slog.Logger
	tools []string
}

// New lists the registry's enabled tools once and returns a server offering them. Plugins
// added or removed later show up when the server is started again.
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
	infos, err := reg.Tools(ctx)
	if err != nil {
		return nil, fmt.Errorf("mcp serve: list plugin tools: %w", err)
	}
	s := &Server{reg: reg, opts: opts, log: log}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "hermes", Title: "hermes plugin tools", Version: version}, &mcp.ServerOptions{
		Logger: log,
		Instructions: "Tools of the user's hermes plugins, each running as sandboxed WebAssembly with only the " +
			"capabilities the user granted. A failed call says why as '<tool>: <code>: <message>'.",
		// Tools, and the plugins' log messages.
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}, Logging: &mcp.LoggingCapabilities{}},
	})
	for _, info := range infos {
		schema, err := inputSchema(info.Parameters)
		if err != nil {
			log.Warn("mcp serve: tool left out", "tool", info.Name, "err", err)
			continue
		}
		tool := &mcp.Tool{Name: info.Name, Description: info.Description, InputSchema: schema}
		if err := addTool(s.mcp, tool, s.handler(info.Name)); err != nil {
			log.Warn("mcp serve: tool left out", "tool", info.Name, "err", err)
			continue
		}
		s.tools = append(s.tools, info.Name)
	}
	sort.Strings(s.tools)
	return s, nil
}

// Tools returns the names of the tools offered.
func (s *Server) Tools() []string { return append([]string(nil), s.tools...) }

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
		out, err := s.reg.Call(ctx, name, args)
		if err != nil {
			code := abi.CodeOf(err)
			if code == "" && ctx.Err() != nil {
				code = abi.CodeCanceled
			}
			s.log.Info("mcp tool call failed", "tool", name, "code", code)
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: s.redact(errorText(name, err))}}}, nil
		}
		s.log.Debug("mcp tool call done", "tool", name, "bytes", len(out))
		text := s.redact(string(out))
		res := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}
		if obj := bytes.TrimSpace([]byte(text)); len(obj) > 0 && obj[0] == '{' && json.Valid(obj) {
			res.StructuredContent = json.RawMessage(obj)
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
