package wasm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/activity"
)

type memSink struct {
	mu     sync.Mutex
	events []activity.Event
}

func (m *memSink) Record(e activity.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

func (m *memSink) take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, e := range m.events {
		out = append(out, fmt.Sprintf("%s %s %s %s %s %s", e.Tool, e.Session, e.Kind, e.Op, e.Target, e.Outcome))
	}
	m.events = nil
	return out
}

// Every capability use reaches the sink with its tool and session, allowed or refused, and only
// names: no query string, no value.
func TestActivityIsRecorded(t *testing.T) {
	e := newTestEngine(t)
	ctx := activity.WithSession(context.Background(), "sess-1")
	ws := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ws, "out"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "a.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(ws, "link-out")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		fixture string
		mounts  []Mount
		limits  func(*abi.Limits)
		tool    string
		args    string
		want    []string
	}{
		{name: "env granted", fixture: "envsnoop", tool: "get", args: `{"key":"HOSTILE_ALLOWED"}`,
			want: []string{"get sess-1 env get HOSTILE_ALLOWED ok"}},
		{name: "env denied", fixture: "envsnoop", tool: "get", args: `{"key":"AWS_SECRET"}`,
			want: []string{"get sess-1 env get AWS_SECRET denied"}},
		{name: "kv set and delete", fixture: "kvsnoop", tool: "set", args: `{"key":"k1","value":"secret-value"}`,
			want: []string{"set sess-1 kv set k1 ok"}},
		{name: "kv get", fixture: "kvsnoop", tool: "get", args: `{"key":"k1"}`,
			want: []string{"get sess-1 kv get k1 ok"}},
		{name: "http denied, no query kept", fixture: "httpescape", tool: "fetch", args: `{"url":"http://169.254.169.254/latest/meta-data?token=abc"}`,
			want: []string{"fetch sess-1 http GET 169.254.169.254/latest/meta-data denied"}},
		{name: "file read", fixture: "fsescape", mounts: []Mount{{HostDir: ws, GuestPath: "/workspace"}}, tool: "read", args: `{"path":"/workspace/a.txt"}`,
			want: []string{"read sess-1 fs read /workspace/a.txt ok"}},
		{name: "file write refused on a read-only mount", fixture: "fsescape", mounts: []Mount{{HostDir: ws, GuestPath: "/workspace"}}, tool: "write", args: `{"path":"/workspace/b.txt","content":"x"}`,
			want: []string{"write sess-1 fs write /workspace/b.txt denied"}},
		// Go's runtime finds no preopen holding the path and passes descriptor -1: wazero's EBADF.
		{name: "file read outside every grant", fixture: "fsescape", mounts: []Mount{{HostDir: ws, GuestPath: "/workspace"}}, tool: "read", args: `{"path":"/home/x/.env"}`,
			want: []string{"read sess-1 fs read /home/x/.env denied"}},
		{name: "file read leaving the grant by ..", fixture: "fsescape", mounts: []Mount{{HostDir: ws, GuestPath: "/workspace"}}, tool: "read", args: `{"path":"/workspace/../etc/passwd"}`,
			want: []string{"read sess-1 fs read /etc/passwd denied"}},
		{name: "file write outside every grant", fixture: "fsescape", mounts: []Mount{{HostDir: ws, GuestPath: "/workspace"}}, tool: "write", args: `{"path":"/tmp/evil.txt","content":"x"}`,
			want: []string{"write sess-1 fs write /tmp/evil.txt denied"}},
		{name: "file read through a symlink out of the grant", fixture: "fsescape", mounts: []Mount{{HostDir: ws, GuestPath: "/workspace"}}, tool: "read", args: `{"path":"/workspace/link-out"}`,
			want: []string{"read sess-1 fs read /workspace/link-out denied"}},
		{name: "timeout", fixture: "loop", tool: "spin", limits: func(l *abi.Limits) { l.Timeout = abi.Duration(200 * time.Millisecond) },
			want: []string{"spin sess-1 limit call spin limit"}},
	}
	sink := &memSink{}
	kv := &mapKV{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := specFor(t, "testdata/hostile/"+tt.fixture)
			spec.Activity, spec.KV, spec.Mounts = sink, kv, tt.mounts
			spec.Env = func(string) (string, bool, error) { return "v", true, nil }
			if tt.limits != nil {
				tt.limits(&spec.Limits)
			}
			p := load(t, e, spec)
			_, _ = p.Call(ctx, tt.tool, []byte(tt.args))
			got := sink.take()
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("activity:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, g := range got {
				if strings.Contains(g, "secret-value") || strings.Contains(g, "token") {
					t.Errorf("a value reached the activity: %s", g)
				}
			}
		})
	}
}

// A path outside every file grant reaches a Go plugin as EBADF ("Bad file number"); the host
// records the denial and tells a caller that asked (activity.WithNotices) in one line, the same
// for a path that leaves a mount through a symbolic link; a path inside a grant tells nothing.
// The instance keeps working.
func TestOutsideGrantsIsTold(t *testing.T) {
	e := newTestEngine(t)
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "a.txt"), []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(ws, "link-out")); err != nil {
		t.Fatal(err)
	}
	spec := specFor(t, "testdata/hostile/fsescape")
	spec.Mounts = []Mount{{HostDir: ws, GuestPath: "/workspace"}}
	// Told whether or not the plugin's activity is recorded.
	unrecorded := load(t, e, spec)
	spec.Activity = &memSink{}
	p := load(t, e, spec)
	for _, tt := range []struct{ path, want string }{
		{"/home/x/.env", "denied: /home/x/.env is outside the plugin's file grants"},
		{"/workspace/link-out", "denied: /workspace/link-out is outside the plugin's file grants"},
		{"/workspace/../../etc/passwd", "denied: /etc/passwd is outside the plugin's file grants"}, // Go cleans the path first
		{"/workspace/a.txt", ""},
		{"/workspace/missing.txt", ""},
	} {
		for _, p := range []*Plugin{p, unrecorded} {
			ctx, notices := activity.WithNotices(context.Background())
			_, err := p.Call(ctx, "read", []byte(fmt.Sprintf(`{"path":%q}`, tt.path)))
			lines := notices.Take()
			if got := strings.Join(lines, "\n"); got != tt.want {
				t.Errorf("read %s (recorded %v, err %v): notices %q, want %q", tt.path, p.spec.Activity != nil, err, got, tt.want)
			}
		}
	}
	// Without Notices in the context the call is the same, and nothing is told.
	if _, err := p.Call(context.Background(), "read", []byte(`{"path":"/home/x/.env"}`)); abi.CodeOf(err) != abi.CodeToolError {
		t.Fatalf("want the plugin's own error, got %v", err)
	}
	if out, err := p.Call(context.Background(), "read", []byte(`{"path":"/workspace/a.txt"}`)); err != nil || !strings.Contains(string(out), "hello") {
		t.Fatalf("read inside the grant after the refusals: %s %v", out, err)
	}
}
