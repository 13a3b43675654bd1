package hermes

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/abi"
)

// ExecResult is what [Exec] returns: the command's exit code and its combined output.
type ExecResult = abi.ExecResult

// Request is an HTTP request made with [HTTP]. Method defaults to GET.
type Request struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    []byte
}

// Response is the answer to an [HTTP] request. The body is cut at the host's
// http_response_bytes limit (a larger body ends the call with limit_exceeded).
type Response struct {
	Status  int
	Headers map[string]string
	Body    []byte
}

// Header returns the value of the response header name, compared case-insensitively
// (hosts may report header names in any case), or "" when absent.
func (r Response) Header(name string) string {
	if v, ok := r.Headers[name]; ok {
		return v
	}
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// HTTP sends an HTTP request through the host (capability http; the URL's host must be in the
// manifest's allow-list). A request the host refuses or that fails ends the whole call with an
// error the caller sees (code denied or tool_error); it does not return here. The error result
// only reports a request that could not be sent at all.
func HTTP(req Request) (Response, error) {
	if req.URL == "" {
		return Response{}, errors.New("hermes.HTTP: empty URL")
	}
	if req.Method == "" {
		req.Method = "GET"
	}
	req.Method = strings.ToUpper(req.Method)
	return hostHTTP(req)
}

// Env returns the value of the setting or secret key (capability env: key must be listed in the
// manifest; asking for an unlisted key ends the call with a denied error). The boolean is false
// when the key is listed but has no value.
func Env(key string) (string, bool) {
	return hostConfigGet(key)
}

// KVGet returns the value stored under key in the plugin's private key-value store
// (capability kv), and whether there was one.
func KVGet(key string) ([]byte, bool) {
	return hostVarGet(key)
}

// KVSet stores value under key (keys up to 256 bytes, values up to 1 MiB) in the plugin's
// private key-value store (capability kv). An empty value deletes the key.
func KVSet(key string, value []byte) {
	if len(value) == 0 {
		hostVarSet(key, nil)
		return
	}
	hostVarSet(key, value)
}

// KVDelete removes key from the plugin's private key-value store (capability kv).
func KVDelete(key string) {
	hostVarSet(key, nil)
}

// Level is a log level for [Log].
type Level int

const (
	LevelTrace Level = iota
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

func (l Level) String() string {
	switch l {
	case LevelTrace:
		return "trace"
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// Log writes msg to hermes' log (capability log). The host prefixes it with the plugin's name,
// cuts it at 4 KiB and rate-limits it. Standard output and error also end up in the log, without
// needing the capability, but without levels.
func Log(level Level, msg string) {
	hostLog(level, msg)
}

// Logf is [Log] with fmt.Sprintf formatting.
func Logf(level Level, format string, args ...any) {
	hostLog(level, fmt.Sprintf(format, args...))
}

// Exec runs a shell command through the user's sandbox backend and approval rules
// (capability exec) and returns its exit code and combined output. timeout 0 means the host's
// default. A refused command ends the call with a denied error.
func Exec(command string, timeout time.Duration) (ExecResult, error) {
	if command == "" {
		return ExecResult{}, errors.New("hermes.Exec: empty command")
	}
	return hostExec(abi.ExecRequest{Command: command, TimeoutMS: timeout.Milliseconds()})
}
