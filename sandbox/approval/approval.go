// Package approval decides whether a shell command may run on the host (the local backend).
//
// A [Gate] classifies the command (sandbox/classify). Safe commands run. Hardline commands —
// and everything matched by the user's deny rules, which classify makes hardline — are refused
// without asking and cannot be approved, not even by a stored "always". Dangerous commands run
// only when the user approves them: once, for the rest of the session (the Gate's life), or
// always (remembered per profile in the state database, keyed by the command's shape).
//
// The user is asked through a [Prompter]: a [TerminalPrompter] on an interactive terminal, or
// [NoPrompt] where there is no one to ask (no TTY, CI, the API server), which denies.
// Everything that is not an explicit yes is no: Enter, EOF, an unknown answer, a read error
// and a timeout all deny.
package approval

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/store"
)

// Decision is the user's answer about one dangerous command.
type Decision int

const (
	// Deny refuses the command. It is the zero value: anything unclear is a denial.
	Deny Decision = iota
	// Once runs the command this time only.
	Once
	// Session runs commands of this shape without asking for the rest of the Gate's life.
	Session
	// Always runs commands of this shape without asking from now on, in this profile.
	Always
)

func (d Decision) String() string {
	switch d {
	case Deny:
		return "deny"
	case Once:
		return "once"
	case Session:
		return "session"
	case Always:
		return "always"
	}
	return fmt.Sprintf("Decision(%d)", int(d))
}

// Question is what a Prompter asks about.
type Question struct {
	Command string           // the command line as given
	Origin  string           // who asks: "you", "the agent", "plugin files"
	Verdict classify.Verdict // why it was flagged; Verdict.Shape is what "always" remembers
}

// Prompter asks the user about a dangerous command. Anything but an explicit Once, Session or
// Always is a denial; a non-nil error is a denial too, and its text says why.
type Prompter interface {
	Ask(ctx context.Context, q Question) (Decision, error)
}

// ErrNotAsked is wrapped by the error of a [DeniedError] for a dangerous command that was
// refused because there was no one to ask (see [NoPrompt]).
var ErrNotAsked = errors.New("no one to ask")

// NoPrompt is the Prompter where no one can answer: no terminal, CI, the API server. It denies
// every question. Reason says why no one is asked, e.g. "no terminal" or "CI=true".
type NoPrompt struct{ Reason string }

// Ask denies, with an error wrapping [ErrNotAsked].
func (p NoPrompt) Ask(ctx context.Context, q Question) (Decision, error) {
	if p.Reason == "" {
		return Deny, ErrNotAsked
	}
	return Deny, fmt.Errorf("%w (%s)", ErrNotAsked, p.Reason)
}

// Store remembers "always" approvals. *store.DB satisfies it.
type Store interface {
	AddApproval(ctx context.Context, shape, reason string) (store.Approval, error)
	FindApproval(ctx context.Context, shape string) (store.Approval, bool, error)
}

var _ Store = (*store.DB)(nil)

// DeniedError is a refusal to run a command on the host.
type DeniedError struct {
	Command string
	Origin  string
	Verdict classify.Verdict
	// Why says why it was not approved: a hardline command, the user's denial, no one to ask.
	Why string
	// Err is the Prompter's error, if any (wrapping [ErrNotAsked], context.Canceled, ...).
	Err error
}

// Error is one line: "refused: <reason> (<category>)[ (+N more)]; <why>".
func (e *DeniedError) Error() string {
	var b strings.Builder
	b.WriteString("refused: ")
	fs := deciding(e.Verdict)
	if len(fs) == 0 {
		fmt.Fprintf(&b, "classified %s", e.Verdict.Class)
	} else {
		b.WriteString(oneLine(fs[0].Reason))
		if fs[0].Category != "" {
			fmt.Fprintf(&b, " (%s)", oneLine(fs[0].Category))
		}
		if len(fs) > 1 {
			fmt.Fprintf(&b, " (+%d more)", len(fs)-1)
		}
	}
	if e.Why != "" {
		b.WriteString("; ")
		b.WriteString(oneLine(e.Why))
	}
	return b.String()
}

func (e *DeniedError) Unwrap() error { return e.Err }

// deciding returns the findings of the verdict's own class, the ones that decided it, or all
// findings when none has that class.
func deciding(v classify.Verdict) []classify.Finding {
	var out []classify.Finding
	for _, f := range v.Findings {
		if f.Class == v.Class {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return v.Findings
	}
	return out
}

// reasons joins the deciding findings' reasons, as stored with an "always" approval.
func reasons(v classify.Verdict) string {
	var rs []string
	for _, f := range deciding(v) {
		r := oneLine(f.Reason)
		if f.Category != "" {
			r += " (" + oneLine(f.Category) + ")"
		}
		rs = append(rs, r)
	}
	return strings.Join(rs, "; ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(sanitize(s)), " ")
}

// Why texts of DeniedError.
const (
	whyHardline    = "never run on the host, not even with approval"
	whyUserDenied  = "denied at the prompt"
	whyNotApproved = "not approved"
	howToAllowHint = "run it yourself, or approve it in an interactive hermes session"
)

// Gate decides whether commands may run on the host. It is safe for concurrent use; questions
// are asked one at a time.
type Gate struct {
	Rules    classify.Rules
	Prompter Prompter // nil asks no one: like NoPrompt
	Store    Store    // nil: "always" answers last for the session only

	mu      sync.Mutex
	session map[string]bool // shapes approved for the session

	askMu sync.Mutex // one question at a time on the terminal
}

// NewGate returns a Gate over rules that asks p about dangerous commands and keeps "always"
// answers in st (which may be nil).
func NewGate(rules classify.Rules, p Prompter, st Store) *Gate {
	return &Gate{Rules: rules, Prompter: p, Store: st, session: map[string]bool{}}
}

func (g *Gate) sessionApproved(shape string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.session[shape]
}

func (g *Gate) approveSession(shape string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.session == nil {
		g.session = map[string]bool{}
	}
	g.session[shape] = true
}

// approved reports whether shape was approved for the session or always. A store error counts
// as not approved: the user is asked.
func (g *Gate) approved(ctx context.Context, shape string) bool {
	if shape == "" {
		return false
	}
	if g.sessionApproved(shape) {
		return true
	}
	if g.Store == nil {
		return false
	}
	_, found, err := g.Store.FindApproval(ctx, shape)
	return err == nil && found
}

// Check classifies command and decides whether it may run. It returns the verdict and nil when
// it may, or a *DeniedError when it may not: hardline commands (deny rules included) are
// refused without asking; dangerous ones run if their shape was approved for the session or
// always, and otherwise only if the Prompter approves. Any class other than Safe and Dangerous
// is treated as hardline.
func (g *Gate) Check(ctx context.Context, command, origin string) (classify.Verdict, error) {
	v := classify.Classify(command, g.Rules)
	deny := func(why string, err error) (classify.Verdict, error) {
		return v, &DeniedError{Command: command, Origin: origin, Verdict: v, Why: why, Err: err}
	}
	switch v.Class {
	case classify.Safe:
		return v, nil
	case classify.Dangerous:
	default: // Hardline, and anything newer than this code: never asked, never approvable.
		return deny(whyHardline, nil)
	}

	if g.approved(ctx, v.Shape) {
		return v, nil
	}
	g.askMu.Lock()
	defer g.askMu.Unlock()
	// Approved "for the session" or "always" by the question we may have waited behind?
	if g.approved(ctx, v.Shape) {
		return v, nil
	}
	if err := ctx.Err(); err != nil {
		return deny(whyNotApproved+": "+err.Error(), err)
	}
	p := g.Prompter
	if p == nil {
		p = NoPrompt{}
	}
	d, err := p.Ask(ctx, Question{Command: command, Origin: origin, Verdict: v})
	if err != nil {
		if errors.Is(err, ErrNotAsked) {
			return deny(err.Error()+": "+howToAllowHint, err)
		}
		return deny(whyNotApproved+": "+err.Error(), err)
	}
	switch d {
	case Once:
		return v, nil
	case Session:
		if v.Shape != "" {
			g.approveSession(v.Shape)
		}
		return v, nil
	case Always:
		if v.Shape == "" {
			return v, nil // nothing to remember it by: once
		}
		// Remembered for the session in any case, so a store failure only loses persistence;
		// the user did approve the command.
		g.approveSession(v.Shape)
		if g.Store != nil {
			g.Store.AddApproval(ctx, v.Shape, reasons(v))
		}
		return v, nil
	}
	return deny(whyUserDenied, nil)
}

// Interactive reports whether a user can be asked through in and out: both are terminals and
// the environment variable CI is not "true" or "1".
func Interactive(in, out *os.File) bool {
	if in == nil || out == nil {
		return false
	}
	if ci := strings.TrimSpace(os.Getenv("CI")); strings.EqualFold(ci, "true") || ci == "1" {
		return false
	}
	return term.IsTerminal(int(in.Fd())) && term.IsTerminal(int(out.Fd()))
}
