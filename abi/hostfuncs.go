package abi

// ValueType is a WebAssembly value type in a host function signature.
type ValueType byte

const (
	I32 ValueType = 0x7f
	I64 ValueType = 0x7e
)

// HostFunc describes one host function a plugin may import.
type HostFunc struct {
	Module  string
	Name    string
	Params  []ValueType
	Results []ValueType
	// Capability is the capability that links this function; "" means always linked.
	Capability Capability
}

func fn(module, name string, capability Capability, params []ValueType, results ...ValueType) HostFunc {
	return HostFunc{Module: module, Name: name, Params: params, Results: results, Capability: capability}
}

var (
	none = []ValueType{}
	i64  = []ValueType{I64}
	i64s = []ValueType{I64, I64}
)

// HostFuncs is every host function of ABI version 1. Nothing outside this list is ever linked.
var HostFuncs = []HostFunc{
	fn(ModuleEnv, "alloc", "", i64, I64),
	fn(ModuleEnv, "free", "", i64),
	fn(ModuleEnv, "length", "", i64, I64),
	fn(ModuleEnv, "length_unsafe", "", i64, I64),
	fn(ModuleEnv, "load_u8", "", i64, I32),
	fn(ModuleEnv, "load_u64", "", i64, I64),
	fn(ModuleEnv, "store_u8", "", []ValueType{I64, I32}),
	fn(ModuleEnv, "store_u64", "", i64s),
	fn(ModuleEnv, "input_length", "", none, I64),
	fn(ModuleEnv, "input_offset", "", none, I64),
	fn(ModuleEnv, "input_load_u8", "", i64, I32),
	fn(ModuleEnv, "input_load_u64", "", i64, I64),
	fn(ModuleEnv, "output_set", "", i64s),
	fn(ModuleEnv, "error_set", "", i64),

	fn(ModuleEnv, "config_get", CapEnv, i64, I64),

	fn(ModuleEnv, "var_get", CapKV, i64, I64),
	fn(ModuleEnv, "var_set", CapKV, i64s),

	fn(ModuleEnv, "http_request", CapHTTP, i64s, I64),
	fn(ModuleEnv, "http_status_code", CapHTTP, none, I32),
	fn(ModuleEnv, "http_headers", CapHTTP, none, I64),

	fn(ModuleEnv, "log_trace", CapLog, i64),
	fn(ModuleEnv, "log_debug", CapLog, i64),
	fn(ModuleEnv, "log_info", CapLog, i64),
	fn(ModuleEnv, "log_warn", CapLog, i64),
	fn(ModuleEnv, "log_error", CapLog, i64),
	fn(ModuleEnv, "get_log_level", CapLog, none, I32),

	fn(ModuleUser, "hermes_exec", CapExec, i64, I64),

	// hyper-mcp's v2 imports (its xtp-plugin-schema.json), each taking and returning JSON.
	// Logging goes to hermes' log (and the MCP client's, under hermes mcp serve) as log_* does;
	// progress and the list-changed notifications need no grant; what reaches the model or the
	// user through the client needs its own.
	fn(ModuleUser, "notify_logging_message", CapLog, i64),
	fn(ModuleUser, "notify_progress", "", i64),
	fn(ModuleUser, "notify_tool_list_changed", "", none),
	fn(ModuleUser, "notify_prompt_list_changed", "", none),
	fn(ModuleUser, "notify_resource_list_changed", "", none),
	fn(ModuleUser, "notify_resource_updated", "", i64),
	fn(ModuleUser, "create_message", CapSampling, i64, I64),
	fn(ModuleUser, "create_elicitation", CapElicitation, i64, I64),
	fn(ModuleUser, "list_roots", CapRoots, none, I64),
}

// LookupHostFunc finds a host function by module and name.
func LookupHostFunc(module, name string) (HostFunc, bool) {
	for _, f := range HostFuncs {
		if f.Module == module && f.Name == name {
			return f, true
		}
	}
	return HostFunc{}, false
}

// ExecRequest is the JSON a plugin passes to hermes_exec.
type ExecRequest struct {
	Command   string `json:"command"`
	TimeoutMS int64  `json:"timeout_ms,omitempty"`
}

// ExecResult is the JSON hermes_exec returns.
type ExecResult struct {
	ExitCode int    `json:"exit_code"`
	Output   string `json:"output"`
}

// HTTPRequest is the JSON block a plugin passes to http_request.
type HTTPRequest struct {
	URL     string            `json:"url"`
	Method  string            `json:"method,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}
