package wasm

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hermes-agent/hermes/abi"
)

// fakeClient answers a hyper-mcp v2 plugin's requests as the test says.
type fakeClient struct {
	answer json.RawMessage
	err    error
	asked  []json.RawMessage
}

func (c *fakeClient) Meta() json.RawMessage                     { return json.RawMessage(`{"progressToken":"t"}`) }
func (c *fakeClient) Log(context.Context, json.RawMessage)      {}
func (c *fakeClient) Progress(context.Context, json.RawMessage) {}
func (c *fakeClient) CreateMessage(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
	c.asked = append(c.asked, p)
	return c.answer, c.err
}
func (c *fakeClient) Elicit(_ context.Context, p json.RawMessage) (json.RawMessage, error) {
	c.asked = append(c.asked, p)
	return c.answer, c.err
}
func (c *fakeClient) ListRoots(context.Context) (json.RawMessage, error) { return c.answer, c.err }

func callTool(name, text string) []byte {
	b, _ := json.Marshal(map[string]any{"request": map[string]any{"name": name, "arguments": map[string]any{"text": text}},
		"context": map[string]any{"id": "1", "_meta": map[string]any{}}})
	return b
}

// TestHyperMCPv2Imports: a hyper-mcp v2 module (recognized by its exports) loads without the
// capabilities of the imports it was not granted, each linked to a function that refuses;
// granted, its requests go to the call's client, whose answer is bounded; the instance keeps
// serving after every refusal.
func TestHyperMCPv2Imports(t *testing.T) {
	e := newTestEngine(t)
	spec := specFor(t, "testdata/compat/hypermcp-v2")
	fc := &fakeClient{}
	ctx := WithClient(context.Background(), fc)
	alive := func(t *testing.T, p *Plugin) {
		t.Helper()
		out, err := p.Call(ctx, abi.ExportHyperMCPCallTool, callTool("shout-text", "ok"))
		if err != nil || !strings.Contains(string(out), `"OK"`) {
			t.Fatalf("shout-text after a refusal: %s %v", out, err)
		}
	}

	t.Run("not granted", func(t *testing.T) {
		p := load(t, e, spec) // log only, and no StubUngranted: the exports say hyper-mcp
		if got := p.UngrantedImports(); !slices.Equal(got, []abi.Capability{abi.CapElicitation, abi.CapRoots, abi.CapSampling}) {
			t.Fatalf("ungranted imports: %v", got)
		}
		for _, tt := range []struct{ tool, capability string }{{"ask-model", "sampling"}, {"ask-user", "elicitation"}, {"roots", "roots"}} {
			_, err := p.Call(ctx, abi.ExportHyperMCPCallTool, callTool(tt.tool, "x"))
			wantCode(t, err, abi.CodeDenied, tt.capability+" was not granted to this plugin")
			alive(t, p)
		}
		if len(fc.asked) > 0 {
			t.Fatalf("the client was asked: %s", fc.asked)
		}
	})

	granted := spec
	granted.Granted.Sampling, granted.Granted.Elicitation, granted.Granted.Roots = true, true, true
	p := load(t, e, granted)
	tests := []struct {
		name   string
		ctx    context.Context
		client *fakeClient
		code   abi.Code
		want   string
	}{
		{"answered", nil, &fakeClient{answer: json.RawMessage(`{"model":"m","role":"assistant","content":{"type":"text","text":"four"}}`)}, "", "m says: four"},
		{"client refuses", nil, &fakeClient{err: errors.New("user said no")}, abi.CodeTrap, "the client refused: user said no"},
		{"answer too large", nil, &fakeClient{answer: json.RawMessage(`{"model":"` + strings.Repeat("m", maxClientJSON) + `"}`)}, abi.CodeLimitExceeded, "exceeds"},
		{"no client", context.Background(), nil, abi.CodeDenied, "there is no client to ask"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.ctx
			if c == nil {
				c = WithClient(context.Background(), tt.client)
			}
			out, err := p.Call(c, abi.ExportHyperMCPCallTool, callTool("ask-model", "2+2?"))
			if tt.code == "" {
				if err != nil || !strings.Contains(string(out), tt.want) {
					t.Fatalf("out=%s err=%v", out, err)
				}
				var req struct {
					MaxTokens int `json:"maxTokens"`
				}
				if json.Unmarshal(tt.client.asked[0], &req); req.MaxTokens != 100 {
					t.Errorf("the client got %s", tt.client.asked[0])
				}
			} else {
				wantCode(t, err, tt.code, tt.want)
			}
			alive(t, p)
		})
	}
}
