//go:build !wasip1

package hermes

// Outside WebAssembly the SDK talks to an in-process fake host, so tools can be tested natively
// with go test. Tests drive it with CallForTest and the SetFake* functions below.

import (
	"github.com/hermes-agent/hermes/abi"

	"encoding/json"
	"errors"
	"maps"
	"strings"
	"sync"
	"time"
)

var (
	callMu sync.Mutex // serialises CallForTest: a plugin instance runs one call at a time

	fakeMu     sync.Mutex
	fakeInput  []byte
	fakeOutput []byte
	fakeErr    *string
	fakeHTTP   func(Request) (Response, error)
	fakeEnv    map[string]string
	fakeExec   func(command string, timeout time.Duration) (ExecResult, error)
	fakeKV     = map[string][]byte{}
	fakeLogs   []LogEntry
)

// LogEntry is a message a tool logged with [Log] or [Logf] under the fake host.
type LogEntry struct {
	Level   Level
	Message string
}

// CallError is the error [CallForTest] returns when the tool reported failure: Message is
// exactly what the tool passed to error_set (what the host reports with the code tool_error).
type CallError struct {
	Tool    string
	Message string
}

func (e *CallError) Error() string { return e.Tool + ": " + e.Message }

// CallForTest calls the registered tool name the way the host would, with args (a JSON object;
// nil means {}) as its input, and returns its JSON output. When the tool fails the error is a
// *CallError carrying its message. It also checks what the host checks: that the arguments are
// a JSON object, that the plugin's description can be produced, and that the output is JSON.
// Available only outside WebAssembly.
func CallForTest(name string, args []byte) ([]byte, error) {
	if _, err := Describe(); err != nil {
		return nil, err
	}
	if args == nil {
		args = []byte("{}")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(args, &obj); err != nil || obj == nil {
		return nil, errors.New("hermes.CallForTest: arguments must be a JSON object")
	}
	callMu.Lock()
	defer callMu.Unlock()
	fakeMu.Lock()
	fakeInput, fakeOutput, fakeErr = args, nil, nil
	fakeMu.Unlock()

	rc := Run(name)

	fakeMu.Lock()
	out, msg := fakeOutput, fakeErr
	fakeInput, fakeOutput, fakeErr = nil, nil, nil
	fakeMu.Unlock()
	if rc != 0 {
		m := "(no message)"
		if msg != nil {
			m = *msg
		}
		return nil, &CallError{Tool: name, Message: m}
	}
	if !json.Valid(out) {
		return nil, errors.New("hermes.CallForTest: tool " + name + " returned output that is not JSON: " + string(out))
	}
	return out, nil
}

// SetFakeHTTP installs the function that answers [HTTP] under the fake host; nil (the default)
// makes HTTP fail. A handler error stands for a request the host refused or that failed.
func SetFakeHTTP(handler func(Request) (Response, error)) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	fakeHTTP = handler
}

// SetFakeEnv sets the values [Env] sees under the fake host, replacing earlier ones.
func SetFakeEnv(vars map[string]string) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	fakeEnv = maps.Clone(vars)
}

// SetFakeExec installs the function that answers [Exec] under the fake host; nil (the default)
// makes Exec fail.
func SetFakeExec(handler func(command string, timeout time.Duration) (ExecResult, error)) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	fakeExec = handler
}

// FakeKV returns a copy of the fake host's key-value store.
func FakeKV() map[string][]byte {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	return maps.Clone(fakeKV)
}

// FakeLogs returns the messages logged under the fake host since the last [ResetFakes].
func FakeLogs() []LogEntry {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	return append([]LogEntry(nil), fakeLogs...)
}

// ResetFakes clears the fake host: HTTP and Exec handlers, settings, the key-value store and
// logged messages. Registered tools stay.
func ResetFakes() {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	fakeHTTP, fakeEnv, fakeExec = nil, nil, nil
	fakeKV = map[string][]byte{}
	fakeLogs = nil
}

func hostInput() []byte {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	return append([]byte(nil), fakeInput...)
}

func hostSetOutput(out []byte) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	fakeOutput = append([]byte(nil), out...)
}

func hostSetError(msg string) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	fakeErr = &msg
}

func hostConfigGet(key string) (string, bool) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	v, ok := fakeEnv[key]
	return v, ok
}

func hostVarGet(key string) ([]byte, bool) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	v, ok := fakeKV[key]
	return append([]byte(nil), v...), ok
}

func hostVarSet(key string, value []byte) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	if value == nil {
		delete(fakeKV, key)
		return
	}
	fakeKV[key] = append([]byte(nil), value...)
}

func hostHTTP(req Request) (Response, error) {
	fakeMu.Lock()
	h := fakeHTTP
	fakeMu.Unlock()
	if h == nil {
		return Response{}, errors.New("hermes.HTTP: no fake HTTP handler (call hermes.SetFakeHTTP in the test)")
	}
	resp, err := h(req)
	if err != nil {
		return Response{}, err
	}
	if resp.Status == 0 {
		resp.Status = 200
	}
	// Hosts report header names in lower case.
	headers := make(map[string]string, len(resp.Headers))
	for k, v := range resp.Headers {
		headers[strings.ToLower(k)] = v
	}
	resp.Headers = headers
	return resp, nil
}

func hostLog(level Level, msg string) {
	fakeMu.Lock()
	defer fakeMu.Unlock()
	fakeLogs = append(fakeLogs, LogEntry{Level: level, Message: msg})
}

func hostExec(req abi.ExecRequest) (ExecResult, error) {
	fakeMu.Lock()
	h := fakeExec
	fakeMu.Unlock()
	if h == nil {
		return ExecResult{}, errors.New("hermes.Exec: no fake exec handler (call hermes.SetFakeExec in the test)")
	}
	return h(req.Command, time.Duration(req.TimeoutMS)*time.Millisecond)
}
