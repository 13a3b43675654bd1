//go:build wasip1

package hermes

import (
	"github.com/hermes-agent/hermes/abi"

	"encoding/binary"
	"encoding/json"
	"errors"
)

// Host functions of extism:host/env. Each is only imported into the module when something that
// is linked calls it, so a plugin that never calls HTTP does not import http_request, and so on.

//go:wasmimport extism:host/env alloc
func extismAlloc(length uint64) uint64

//go:wasmimport extism:host/env length
func extismLength(offset uint64) uint64

//go:wasmimport extism:host/env load_u8
func extismLoadU8(offset uint64) uint32

//go:wasmimport extism:host/env load_u64
func extismLoadU64(offset uint64) uint64

//go:wasmimport extism:host/env store_u8
func extismStoreU8(offset uint64, value uint32)

//go:wasmimport extism:host/env store_u64
func extismStoreU64(offset uint64, value uint64)

//go:wasmimport extism:host/env input_length
func extismInputLength() uint64

//go:wasmimport extism:host/env input_load_u8
func extismInputLoadU8(index uint64) uint32

//go:wasmimport extism:host/env input_load_u64
func extismInputLoadU64(index uint64) uint64

//go:wasmimport extism:host/env output_set
func extismOutputSet(offset, length uint64)

//go:wasmimport extism:host/env error_set
func extismErrorSet(offset uint64)

//go:wasmimport extism:host/env config_get
func extismConfigGet(key uint64) uint64

//go:wasmimport extism:host/env var_get
func extismVarGet(key uint64) uint64

//go:wasmimport extism:host/env var_set
func extismVarSet(key, value uint64)

//go:wasmimport extism:host/env http_request
func extismHTTPRequest(request, body uint64) uint64

//go:wasmimport extism:host/env http_status_code
func extismHTTPStatusCode() int32

//go:wasmimport extism:host/env http_headers
func extismHTTPHeaders() uint64

//go:wasmimport extism:host/env log_trace
func extismLogTrace(message uint64)

//go:wasmimport extism:host/env log_debug
func extismLogDebug(message uint64)

//go:wasmimport extism:host/env log_info
func extismLogInfo(message uint64)

//go:wasmimport extism:host/env log_warn
func extismLogWarn(message uint64)

//go:wasmimport extism:host/env log_error
func extismLogError(message uint64)

//go:wasmimport extism:host/user hermes_exec
func hermesExec(request uint64) uint64

// describe is the export hermes calls to learn the plugin's tools.
//
//go:wasmexport describe
func describeExport() int32 {
	out, err := Describe()
	if err != nil {
		hostSetError(err.Error())
		return 1
	}
	hostSetOutput(out)
	return 0
}

// readBlock copies the host memory block at offset (0 means none) into a new slice.
// The host frees its scratch memory between calls, so blocks are never freed here.
func readBlock(offset uint64) []byte {
	if offset == 0 {
		return nil
	}
	n := int(extismLength(offset))
	buf := make([]byte, n)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], extismLoadU64(offset+uint64(i)))
	}
	for ; i < n; i++ {
		buf[i] = byte(extismLoadU8(offset + uint64(i)))
	}
	return buf
}

// writeBlock allocates a host block holding data and returns its offset.
func writeBlock(data []byte) uint64 {
	n := len(data)
	offset := extismAlloc(uint64(n))
	i := 0
	for ; i+8 <= n; i += 8 {
		extismStoreU64(offset+uint64(i), binary.LittleEndian.Uint64(data[i:]))
	}
	for ; i < n; i++ {
		extismStoreU8(offset+uint64(i), uint32(data[i]))
	}
	return offset
}

func writeString(s string) uint64 { return writeBlock([]byte(s)) }

func hostInput() []byte {
	n := int(extismInputLength())
	buf := make([]byte, n)
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(buf[i:], extismInputLoadU64(uint64(i)))
	}
	for ; i < n; i++ {
		buf[i] = byte(extismInputLoadU8(uint64(i)))
	}
	return buf
}

func hostSetOutput(out []byte) {
	extismOutputSet(writeBlock(out), uint64(len(out)))
}

func hostSetError(msg string) {
	extismErrorSet(writeString(msg))
}

func hostConfigGet(key string) (string, bool) {
	offset := extismConfigGet(writeString(key))
	if offset == 0 {
		return "", false
	}
	return string(readBlock(offset)), true
}

func hostVarGet(key string) ([]byte, bool) {
	offset := extismVarGet(writeString(key))
	if offset == 0 {
		return nil, false
	}
	return readBlock(offset), true
}

func hostVarSet(key string, value []byte) {
	k := writeString(key)
	var v uint64
	if len(value) > 0 {
		v = writeBlock(value)
	}
	extismVarSet(k, v)
}

func hostHTTP(req Request) (Response, error) {
	reqJSON, err := json.Marshal(abi.HTTPRequest{URL: req.URL, Method: req.Method, Headers: req.Headers})
	if err != nil {
		return Response{}, errors.New("hermes.HTTP: " + err.Error())
	}
	var body uint64
	if len(req.Body) > 0 {
		body = writeBlock(req.Body)
	}
	respBody := readBlock(extismHTTPRequest(writeBlock(reqJSON), body))
	resp := Response{Status: int(extismHTTPStatusCode()), Body: respBody}
	if h := readBlock(extismHTTPHeaders()); len(h) > 0 {
		if err := json.Unmarshal(h, &resp.Headers); err != nil {
			return resp, errors.New("hermes.HTTP: host sent malformed response headers: " + err.Error())
		}
	}
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	return resp, nil
}

func hostLog(level Level, msg string) {
	m := writeString(msg)
	switch level {
	case LevelTrace:
		extismLogTrace(m)
	case LevelDebug:
		extismLogDebug(m)
	case LevelInfo:
		extismLogInfo(m)
	case LevelWarn:
		extismLogWarn(m)
	default:
		extismLogError(m)
	}
}

func hostExec(req abi.ExecRequest) (ExecResult, error) {
	reqJSON, err := json.Marshal(req)
	if err != nil {
		return ExecResult{}, errors.New("hermes.Exec: " + err.Error())
	}
	out := readBlock(hermesExec(writeBlock(reqJSON)))
	var res ExecResult
	if err := json.Unmarshal(out, &res); err != nil {
		return ExecResult{}, errors.New("hermes.Exec: host sent malformed result: " + err.Error())
	}
	return res, nil
}
