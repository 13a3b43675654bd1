package approval

import (
	"github.com/hermes-agent/hermes/sandbox/classify"
)

// whyDenyRule is the Why of a DeniedError for a command that matches terminal.deny.
const whyDenyRule = "terminal.deny rules never run, on any backend; change the command or the rule in config.toml"

// CheckDeny refuses command, with a *DeniedError, when it matches one of rules.Deny (an invalid
// rule counts as a match, as does a line that cannot be analysed well enough to tell while deny
// rules are set); nil otherwise. Only the deny rules are looked at: it is the check every
// backend makes, the docker one included, whatever else its policy is.
func CheckDeny(command, origin string, rules classify.Rules) error {
	if len(rules.Deny) == 0 {
		return nil
	}
	v := classify.Classify(command, classify.Rules{Deny: rules.Deny, Home: rules.Home})
	var hits []classify.Finding
	for _, f := range v.Findings {
		switch f.Category {
		case "deny-rule", "unparsable", "too-complex":
			hits = append(hits, f)
		}
	}
	if len(hits) == 0 {
		return nil
	}
	v.Class, v.Findings = classify.Hardline, hits
	return &DeniedError{Command: command, Origin: origin, Verdict: v, Why: whyDenyRule}
}
