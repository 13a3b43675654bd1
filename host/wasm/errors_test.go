package wasm

import (
	"errors"
	"testing"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/netguard"
)

// Only a fault of the module is a trap: a slow server is a limit, a request that fails for a
// reason of its own is the tool's error, a refusal is denied.
func TestClassifyHTTPErrors(t *testing.T) {
	tests := []struct {
		err  error
		want abi.Code
	}{
		{&netguard.RequestError{URL: "http://a.test/", Reason: "the server did not answer in time", Timeout: true}, abi.CodeLimitExceeded},
		{&netguard.RequestError{URL: "http://a.test/", Reason: "stopped after 5 redirects"}, abi.CodeToolError},
		{&netguard.DeniedError{URL: "http://b.test/", Reason: "not in the plugin's http allow-list"}, abi.CodeDenied},
		{errors.New("offset 9 is not the start of a block"), abi.CodeTrap},
	}
	for _, tt := range tests {
		if got := classify("http_request", tt.err); got.Code != tt.want {
			t.Errorf("classify(%v) = %s, want %s", tt.err, got.Code, tt.want)
		}
	}
}
