package abi

import "errors"

// Code classifies why a tool call failed. Callers (the CLI's exit code, the agent loop, the API
// server) decide on the code, never on message text.
type Code string

const (
	CodeToolError     Code = "tool_error"        // the plugin reported failure itself
	CodeInvalidArgs   Code = "invalid_arguments" // arguments did not match the tool's schema
	CodeInvalidOutput Code = "invalid_output"    // the plugin returned something other than JSON
	CodeDenied        Code = "denied"            // a capability refused what the plugin asked
	CodeLimitExceeded Code = "limit_exceeded"    // memory, time, output or HTTP size
	CodeTrap          Code = "trap"              // the module crashed
	CodeBadPlugin     Code = "bad_plugin"        // the manifest or module cannot be used
	CodeNotFound      Code = "not_found"         // no such plugin or tool
	CodeCanceled      Code = "canceled"          // the caller gave up (Ctrl-C, a closed request)
)

// Error is a failed call, with the code that classifies it. Plugin and Tool say where it happened.
type Error struct {
	Code    Code
	Plugin  string
	Tool    string
	Message string
	Err     error // underlying cause, if any
}

func (e *Error) Error() string {
	where := e.Plugin
	if e.Tool != "" {
		where += "." + e.Tool
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if where == "" {
		return string(e.Code) + ": " + msg
	}
	return where + ": " + string(e.Code) + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the first *Error in err's chain, or "" when there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
