package evolve

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/sandbox"
	"github.com/hermes-agent/hermes/sandbox/classify"
)

// ShellTool is the terminal tool of an evaluation run: only on the docker backend, and every
// command the classifier finds dangerous is refused before the backend sees it (no one is
// asked: an evaluation runs a model's text unattended).
func ShellTool(b sandbox.Backend, rules classify.Rules, env map[string]string) (agent.Tool, error) {
	if b == nil || b.Name() != "docker" {
		return agent.Tool{}, fmt.Errorf("evaluation runs use the shell on the docker backend only; set up Docker (hermes doctor)")
	}
	t := agent.TerminalTool(b, env, 0)
	call := t.Call
	t.Call = func(ctx context.Context, args []byte) ([]byte, error) {
		var in struct {
			Command string `json:"command"`
		}
		if err := json.Unmarshal(args, &in); err == nil {
			if v := classify.Classify(in.Command, rules); v.Class >= classify.Dangerous {
				reason := v.Class.String()
				if len(v.Findings) > 0 {
					reason = v.Findings[0].Reason
				}
				return nil, &abi.Error{Code: abi.CodeDenied, Message: "dangerous commands are denied in evaluation runs: " + reason}
			}
		}
		return call(ctx, args)
	}
	return t, nil
}
