package hermes

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"sync"

	"github.com/hermes-agent/hermes/abi"
)

// Handler is a tool in its raw form: it receives the JSON arguments object and returns a JSON
// value. [Tool] wraps typed functions into Handlers; [RawTool] registers one directly.
type Handler func(args []byte) ([]byte, error)

type tool struct {
	name        string
	description string
	handler     Handler
	// Exactly one of schema and argsType is set: schema for RawTool, argsType for Tool, whose
	// schema is derived by reflection when describe is first called.
	schema   []byte
	argsType reflect.Type
}

var (
	registryMu sync.Mutex
	tools      []*tool
	toolIndex  = map[string]*tool{}
)

// Tool registers fn as the tool name. The arguments object is decoded into A with encoding/json
// and fn's result is encoded as the tool's JSON output; a non-nil error becomes the tool's error
// message (the caller sees it verbatim, with the code tool_error).
//
// The JSON Schema of the arguments is derived from A, which must be a struct (or a map with
// string keys): each exported field is a property named by its `json` tag; a field is required
// unless its tag has omitempty (or omitzero); `desc:"..."` describes it and `enum:"a,b,c"` lists
// its allowed values. Strings, booleans, integers, floats, slices, arrays, maps with string keys,
// nested structs and pointers are supported; encoding.TextMarshaler types are strings; interface
// and json.RawMessage fields accept any JSON value. Struct objects do not allow properties
// beyond their fields (additionalProperties is false).
//
// Call Tool from an init function: plugins are built with -buildmode=c-shared, where main is
// never run. Tool panics when name is not a valid tool name ([a-z][a-z0-9_]{0,63}, not
// "describe" or "memory"), is registered twice, or when there are more than 64 tools.
func Tool[A, R any](name, description string, fn func(A) (R, error)) {
	if fn == nil {
		panic("hermes.Tool(" + strconv.Quote(name) + "): nil function")
	}
	argsType := reflect.TypeFor[A]()
	register(&tool{
		name:        name,
		description: description,
		argsType:    argsType,
		handler: func(input []byte) ([]byte, error) {
			var args A
			if err := json.Unmarshal(input, &args); err != nil {
				return nil, errors.New("invalid arguments: " + err.Error())
			}
			result, err := fn(args)
			if err != nil {
				return nil, err
			}
			out, err := json.Marshal(result)
			if err != nil {
				return nil, errors.New("cannot encode the result as JSON: " + err.Error())
			}
			return out, nil
		},
	})
}

// RawTool registers a tool that works on raw JSON: fn receives the arguments object exactly as
// the host sent it and returns the tool's output, which must be a JSON value. schema is the JSON
// Schema of the arguments (a JSON object with "type": "object"). RawTool does no reflection or
// JSON decoding per call, which makes it the fastest kind of tool.
//
// Like [Tool], call it from an init function; it panics on an invalid or duplicate name or on a
// schema that is not a JSON object.
func RawTool(name, description, schema string, fn func(args []byte) ([]byte, error)) {
	if fn == nil {
		panic("hermes.RawTool(" + strconv.Quote(name) + "): nil function")
	}
	s := trimSpace(schema)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		panic("hermes.RawTool(" + strconv.Quote(name) + "): schema must be a JSON object")
	}
	register(&tool{name: name, description: description, schema: []byte(s), handler: fn})
}

func register(t *tool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if !abi.ValidToolName(t.name) {
		panic("hermes: tool name " + strconv.Quote(t.name) + " must match [a-z][a-z0-9_]{0,63} and not be \"describe\" or \"memory\"")
	}
	if _, dup := toolIndex[t.name]; dup {
		panic("hermes: tool " + strconv.Quote(t.name) + " registered twice")
	}
	if len(tools) >= abi.MaxTools {
		panic("hermes: more than " + strconv.Itoa(abi.MaxTools) + " tools")
	}
	if t.description == "" || len(t.description) > abi.MaxToolDescription {
		panic("hermes: tool " + strconv.Quote(t.name) + " needs a description of 1-" + strconv.Itoa(abi.MaxToolDescription) + " bytes")
	}
	tools = append(tools, t)
	toolIndex[t.name] = t
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// Describe returns the JSON the plugin's describe export sets as its output:
// {"tools": [{"name", "description", "parameters"}, ...]}, in registration order.
// It fails when no tool is registered or an argument type has no JSON Schema.
func Describe() ([]byte, error) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if len(tools) == 0 {
		return nil, errors.New("hermes: no tools registered (call hermes.Tool from an init function)")
	}
	out := make([]byte, 0, 256*len(tools))
	out = append(out, `{"tools":[`...)
	for i, t := range tools {
		if t.schema == nil {
			s, err := schemaFor(t.argsType)
			if err != nil {
				return nil, errors.New("hermes: tool " + strconv.Quote(t.name) + ": " + err.Error())
			}
			t.schema = s
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"name":`...)
		out = appendJSONString(out, t.name)
		out = append(out, `,"description":`...)
		out = appendJSONString(out, t.description)
		out = append(out, `,"parameters":`...)
		out = append(out, t.schema...)
		out = append(out, '}')
	}
	out = append(out, "]}"...)
	if len(out) > abi.MaxDescriptionBytes {
		return nil, errors.New("hermes: the description is " + strconv.Itoa(len(out)) + " bytes, more than " + strconv.Itoa(abi.MaxDescriptionBytes))
	}
	return out, nil
}

// Run calls the registered tool name with the call's input and sets its output or error; it is
// what a tool's export returns:
//
//	//go:wasmexport read
//	func readExport() int32 { return hermes.Run("read") }
//
// It returns 0 on success and 1 on failure, after setting the error message with error_set.
// A panic in the tool is recovered and reported as the error "panic: ...".
func Run(name string) (rc int32) {
	defer func() {
		if r := recover(); r != nil {
			hostSetError("panic: " + panicString(r))
			rc = 1
		}
	}()
	registryMu.Lock()
	t := toolIndex[name]
	registryMu.Unlock()
	if t == nil {
		hostSetError("hermes: no tool " + strconv.Quote(name) + " is registered (call hermes.Tool in init)")
		return 1
	}
	input := hostInput()
	if len(input) == 0 {
		input = []byte("{}")
	}
	out, err := t.handler(input)
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = "tool " + name + " failed"
		}
		hostSetError(msg)
		return 1
	}
	if len(out) == 0 {
		out = []byte("null")
	}
	hostSetOutput(out)
	return 0
}

func panicString(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string:
		return v
	case interface{ String() string }:
		return v.String()
	}
	return "(" + reflect.TypeOf(r).String() + " value)"
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
