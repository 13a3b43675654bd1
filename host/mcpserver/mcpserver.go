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
// The client gets tools and nothing else: the server advertises no prompts, resources, logging
// or completions, never asks the client for roots, sampling or elicitation, and ignores roots a
// client announces. Grants stay with `hermes plugins install`: no request can install a plugin or widen
// what one may do, and plugins see the workspace of config.toml, not a client's roots.
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
		// Tools only. A non-nil value also drops the SDK's default "logging" capability.
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
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
