package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/wasm"
)

// fakeRegistry offers one tool, "fake.run"; its calls run call (nil: answer {"ok":true}).
type fakeRegistry struct {
	call func(ctx context.Context) ([]byte, error)
}

func (f *fakeRegistry) Tools(context.Context) ([]registry.ToolInfo, error) {
	return []registry.ToolInfo{{Name: "fake.run", Plugin: "fake", Tool: "run", Description: "a fake tool"}}, nil
}

func (f *fakeRegistry) Call(ctx context.Context, name string, args []byte) ([]byte, error) {
	if f.call == nil {
		return []byte(`{"ok":true}`), nil
	}
	return f.call(ctx)
}

func (f *fakeRegistry) Refresh(context.Context) (int64, error) { return 1, nil }

// lockedBuffer is what the server writes to, read once Run returned.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const (
	initLine   = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`
	initedLine = `{"jsonrpc":"2.0","method":"notifications/initialized"}`
)

type rawReply struct {
	ID     any             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Method string `json:"method"`
}

// replies parses what the server wrote, by id ("null" for a reply without one); notifications
// are left out.
func replies(t *testing.T, out string) map[string][]rawReply {
	t.Helper()
	got := map[string][]rawReply{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r rawReply
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("server wrote %q: %v", sc.Text(), err)
		}
		if r.Method != "" {
			continue
		}
		key := fmt.Sprint(r.ID)
		if r.ID == nil {
			key = "null"
		}
		got[key] = append(got[key], r)
	}
	return got
}

func serveStdio(t *testing.T, reg Registry, in io.Reader, drain time.Duration) string {
	t.Helper()
	srv, err := New(context.Background(), reg, Options{Version: "test", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	if err := srv.Run(context.Background(), &StdioTransport{Reader: in, Writer: out, DrainTimeout: drain}); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	return out.String()
}

// TestStdioAnswersEverythingBeforeEOF: input that ends right after the requests still gets
// every reply, the parse error of a malformed line included, before Run returns.
func TestStdioAnswersEverythingBeforeEOF(t *testing.T) {
	input := strings.Join([]string{
		initLine,
		initedLine,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`this is not json`,
		`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"fake.run","arguments":{}}}`,
	}, "\n") + "\n"
	for i := range 50 {
		out := serveStdio(t, &fakeRegistry{}, strings.NewReader(input), 0)
		got := replies(t, out)
		if r := got["1"]; len(r) != 1 || r[0].Error != nil || !strings.Contains(string(r[0].Result), "protocolVersion") {
			t.Fatalf("run %d: initialize: %+v\n%s", i, r, out)
		}
		if r := got["2"]; len(r) != 1 || r[0].Error != nil || !strings.Contains(string(r[0].Result), "fake.run") {
			t.Fatalf("run %d: tools/list: %+v\n%s", i, r, out)
		}
		if r := got["3"]; len(r) != 1 || r[0].Error != nil || !strings.Contains(string(r[0].Result), `\"ok\":true`) {
			t.Fatalf("run %d: tools/call: %+v\n%s", i, r, out)
		}
		if r := got["null"]; len(r) != 1 || r[0].Error == nil || r[0].Error.Code != -32700 {
			t.Fatalf("run %d: malformed line: %+v\n%s", i, r, out)
		}
	}
}

// TestStdioInitializeAloneBeforeEOF: `echo '<initialize>' | hermes mcp serve` prints the answer.
func TestStdioInitializeAloneBeforeEOF(t *testing.T) {
	for i := range 50 {
		out := serveStdio(t, &fakeRegistry{}, strings.NewReader(initLine+"\n"), 0)
		if r := replies(t, out)["1"]; len(r) != 1 || r[0].Error != nil || len(r[0].Result) == 0 {
			t.Fatalf("run %d: initialize: %+v\n%s", i, r, out)
		}
	}
}

// TestStdioCallRunningAtEOF: a call still running when the input ends is not cancelled; its
// result is written before Run returns.
func TestStdioCallRunningAtEOF(t *testing.T) {
	for i := range 20 {
		started, release := make(chan struct{}), make(chan struct{})
		reg := &fakeRegistry{call: func(ctx context.Context) ([]byte, error) {
			close(started)
			select {
			case <-release:
				return []byte(`{"done":true}`), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}
		pr, pw := io.Pipe()
		go func() {
			io.WriteString(pw, initLine+"\n"+initedLine+"\n"+
				`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"fake.run","arguments":{}}}`+"\n")
			<-started
			pw.Close() // the input ends while the call runs
			close(release)
		}()
		out := serveStdio(t, reg, pr, 0)
		if r := replies(t, out)["5"]; len(r) != 1 || r[0].Error != nil || !strings.Contains(string(r[0].Result), `\"done\":true`) {
			t.Fatalf("run %d: tools/call: %+v\n%s", i, r, out)
		}
	}
}

// TestStdioDrainTimeout: a call that never finishes does not keep Run from returning once the
// input ended; it is cancelled when the drain timeout passes.
func TestStdioDrainTimeout(t *testing.T) {
	cancelled := make(chan error, 1)
	reg := &fakeRegistry{call: func(ctx context.Context) ([]byte, error) {
		<-ctx.Done()
		cancelled <- ctx.Err()
		return nil, ctx.Err()
	}}
	input := initLine + "\n" + initedLine + "\n" +
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}` + "\n" +
		`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"fake.run","arguments":{}}}` + "\n"
	out := serveStdio(t, reg, strings.NewReader(input), 50*time.Millisecond)
	if r := replies(t, out)["2"]; len(r) != 1 || r[0].Error != nil {
		t.Fatalf("tools/list: %+v\n%s", r, out)
	}
	// The call's context is always ended once it is cancelled (ctx.Err() is never nil after
	// Done), so what can fail here is the cancellation not coming at all.
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the hung call was not cancelled")
	}
}

// TestStdioCallToClientAfterEOF: a call the server makes to a client whose input ended fails
// at once, so the tool call waiting on it finishes and is answered.
func TestStdioCallToClientAfterEOF(t *testing.T) {
	started, asked := make(chan struct{}), make(chan error, 1)
	reg := &fakeRegistry{call: func(ctx context.Context) ([]byte, error) {
		close(started)
		_, err := wasm.ClientOf(ctx).Elicit(ctx, json.RawMessage(`{"message":"ok?","requestedSchema":{"type":"object","properties":{}}}`))
		asked <- err
		if err != nil {
			return nil, fmt.Errorf("elicit: %w", err)
		}
		return []byte(`{}`), nil
	}}
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{"elicitation":{}},"clientInfo":{"name":"raw","version":"1"}}}`+"\n"+
			initedLine+"\n"+
			`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"fake.run","arguments":{}}}`+"\n")
		<-started
		pw.Close()
	}()
	out := serveStdio(t, reg, pr, time.Minute)
	if err := <-asked; err == nil || !strings.Contains(err.Error(), "closed its input") {
		t.Fatalf("elicitation after the input ended: %v", err)
	}
	if r := replies(t, out)["7"]; len(r) != 1 || r[0].Error != nil || !strings.Contains(string(r[0].Result), `"isError":true`) {
		t.Fatalf("tools/call: %+v\n%s", r, out)
	}
}
