package wasm

import (
	"errors"
	"fmt"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/netguard"
)

// ErrImport is wrapped by the error Load returns when the module imports something it may not:
// a function the ABI does not have, one whose capability was not granted, a wrong signature, or
// a memory. An installer reports it after its other checks.
var ErrImport = errors.New("module imports what hermes does not give it")

// limitError is a per-call limit the plugin ran into inside a host function.
type limitError struct{ limit, detail string }

func (e *limitError) Error() string { return e.detail + " (limit " + e.limit + ")" }

// deniedError is a capability refusing a request.
type deniedError struct {
	capability abi.Capability
	detail     string
}

func (e *deniedError) Error() string {
	return fmt.Sprintf("%s (capability %q)", e.detail, e.capability)
}

// classify turns an error raised inside a host function into the *abi.Error a caller sees.
func classify(fn string, err error) *abi.Error {
	var (
		ae  *abi.Error
		le  *limitError
		de  *deniedError
		nde *netguard.DeniedError
		nle *netguard.LimitError
		nre *netguard.RequestError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &le):
		return &abi.Error{Code: abi.CodeLimitExceeded, Message: fn + ": " + le.Error(), Err: err}
	case errors.As(err, &de):
		return &abi.Error{Code: abi.CodeDenied, Message: fn + ": " + de.Error(), Err: err}
	case errors.As(err, &nde):
		return &abi.Error{Code: abi.CodeDenied, Message: nde.Error(), Err: err}
	case errors.As(err, &nle):
		return &abi.Error{Code: abi.CodeLimitExceeded, Message: nle.Error(), Err: err}
	case errors.As(err, &nre) && nre.Timeout:
		return &abi.Error{Code: abi.CodeLimitExceeded, Message: nre.Error(), Err: err}
	case errors.As(err, &nre):
		return &abi.Error{Code: abi.CodeToolError, Message: nre.Error(), Err: err}
	}
	return &abi.Error{Code: abi.CodeTrap, Message: fn + ": " + err.Error(), Err: err}
}
