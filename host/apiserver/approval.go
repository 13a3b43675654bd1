package apiserver

import (
	"context"
	"fmt"

	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/classify"
)

// CommandPolicy is what happens to a dangerous command an API run reaches (config
// api.dangerous_commands). No policy ever asks anyone: there is no terminal behind a request.
type CommandPolicy string

const (
	// PolicyDeny refuses every dangerous command, even one approved "always" in the CLI: the
	// client is not the user who approved it. The default.
	PolicyDeny CommandPolicy = "deny"
	// PolicyApproved runs the dangerous commands whose shape the user approved "always"
	// (hermes approvals list) and refuses the rest.
	PolicyApproved CommandPolicy = "approved"
	// PolicyUnsafeAllow runs every dangerous command without asking. Hardline commands and
	// terminal.deny still never run.
	PolicyUnsafeAllow CommandPolicy = "unsafe_allow"
)

// ParsePolicy checks a configured policy.
func ParsePolicy(s string) (CommandPolicy, error) {
	switch p := CommandPolicy(s); p {
	case PolicyDeny, PolicyApproved, PolicyUnsafeAllow:
		return p, nil
	case "":
		return PolicyDeny, nil
	}
	return "", fmt.Errorf("api.dangerous_commands %q: use deny, approved or unsafe_allow", s)
}

// Gate returns the approval gate for every command of a process that serves the API: the
// agent's terminal tool and plugins' exec alike. It never prompts; policy decides (see
// CommandPolicy), and its refusals name the request's session. st remembers "always"
// approvals and is consulted only under PolicyApproved.
func Gate(policy CommandPolicy, rules classify.Rules, st approval.Store) *approval.Gate {
	var remembered approval.Store
	if policy == PolicyApproved {
		remembered = st
	}
	return approval.NewGate(rules, requestPrompter{policy: policy}, remembered)
}

// requestPrompter answers the gate's questions for the request whose context asks: never by
// asking a person.
type requestPrompter struct{ policy CommandPolicy }

func (p requestPrompter) Ask(ctx context.Context, q approval.Question) (approval.Decision, error) {
	if p.policy == PolicyUnsafeAllow {
		return approval.Once, nil
	}
	who := "an API request"
	if id, ok := ctx.Value(sessionKey{}).(string); ok {
		who = "API session " + id
	}
	why := `api.dangerous_commands = "deny" refuses every dangerous command`
	if p.policy == PolicyApproved {
		why = `it was not approved "always" (api.dangerous_commands = "approved")`
	}
	_, err := approval.NoPrompt{Reason: who + "; " + why}.Ask(ctx, q)
	return approval.Deny, err
}

// sessionKey carries the session of the request a run belongs to.
type sessionKey struct{}

func withSession(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, sessionKey{}, id)
}
