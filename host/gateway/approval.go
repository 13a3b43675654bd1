package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/hermes-agent/hermes/sandbox/approval"
)

// Prompter asks about dangerous commands in the chat whose turn runs them: "reply /approve or
// /deny". Only the user who sent the turn's message can answer; any other answer from them, a
// timeout (Config.ApprovalTimeout), /stop and shutdown all deny. Anything run outside a
// gateway turn is denied without asking. It never answers "session" or "always": each command
// is asked about on its own. Hardline commands never reach it (approval.Gate refuses them).
type Prompter struct{}

var _ approval.Prompter = Prompter{}

// Ask posts the question to the turn's chat and waits for its sender's answer.
func (Prompter) Ask(ctx context.Context, q approval.Question) (approval.Decision, error) {
	t, ok := ctx.Value(turnKey{}).(*turn)
	if !ok {
		return approval.NoPrompt{Reason: "not run from a chat"}.Ask(ctx, q)
	}
	return t.g.ask(ctx, t, q)
}

func (g *Gateway) ask(ctx context.Context, t *turn, q approval.Question) (approval.Decision, error) {
	key := t.chat.key()
	p := &pendingApproval{user: t.user, answer: make(chan bool, 1)}
	g.mu.Lock()
	g.pending[key] = p
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		if g.pending[key] == p {
			delete(g.pending, key)
		}
		g.mu.Unlock()
	}()
	why := q.Verdict.Class.String()
	if len(q.Verdict.Findings) > 0 {
		why = q.Verdict.Findings[0].Reason
	}
	g.reply(t.chat, fmt.Sprintf("%s wants to run a dangerous command (%s):\n\n%s\n\nReply /approve or /deny, expires in %s.",
		q.Origin, why, q.Command, durationText(g.cfg.ApprovalTimeout)))
	timer := time.NewTimer(g.cfg.ApprovalTimeout)
	defer timer.Stop()
	select {
	case yes := <-p.answer:
		if yes {
			return approval.Once, nil
		}
		g.reply(t.chat, "Denied.")
		return approval.Deny, nil
	case <-timer.C:
		g.reply(t.chat, "No answer in time: denied.")
		return approval.Deny, fmt.Errorf("no answer in the chat within %s", durationText(g.cfg.ApprovalTimeout))
	case <-ctx.Done():
		return approval.Deny, ctx.Err()
	}
}

func durationText(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		if d == time.Minute {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
