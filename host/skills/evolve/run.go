package evolve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/store"
)

// Model is an OpenAI-compatible endpoint: the evaluation model runs the cases (and judges
// rubrics), the optimizer model proposes variants.
type Model struct {
	BaseURL, APIKey, Name string
	HTTPClient            *http.Client // nil: the agent's default
}

// Meter counts the tokens spent, estimated as the bytes sent to and received from the models
// divided by four (OpenAI-compatible servers do not all report usage when streaming), and
// stops spending at its budget.
type Meter struct {
	budget int64 // 0: none
	bytes  atomic.Int64
}

// NewMeter returns a meter with a budget of tokens; 0 means no budget.
func NewMeter(budget int) *Meter { return &Meter{budget: int64(budget)} }

// ErrBudget is returned when the token budget is spent.
var ErrBudget = errors.New("token budget spent")

// Tokens returns the tokens counted so far.
func (m *Meter) Tokens() int { return int(m.bytes.Load() / 4) }

// Exhausted reports whether the budget is spent.
func (m *Meter) Exhausted() bool { return m.budget > 0 && int64(m.Tokens()) >= m.budget }

// client wraps hc (or the default transport) so every byte to and from the model is counted
// by the meter and by n.
func (m *Meter) client(hc *http.Client, n *atomic.Int64) *http.Client {
	base := http.DefaultTransport
	if hc != nil && hc.Transport != nil {
		base = hc.Transport
	}
	c := &http.Client{}
	if hc != nil {
		*c = *hc
	}
	c.Transport = meterTransport{base: base, add: func(k int64) { m.bytes.Add(k); n.Add(k) }, m: m}
	return c
}

type meterTransport struct {
	base http.RoundTripper
	add  func(int64)
	m    *Meter
}

func (t meterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.m.Exhausted() {
		return nil, ErrBudget
	}
	if r.ContentLength > 0 {
		t.add(r.ContentLength)
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{rc: resp.Body, add: t.add, m: t.m}
	return resp, nil
}

// MaxReplyBytes bounds one response of a model: a reply that goes on past it is cut with an
// error, so a runaway or hostile endpoint cannot fill memory (a SKILL.md may be 15 KB).
const MaxReplyBytes = 4 << 20

// ErrReplyTooLarge is the error of a reply longer than MaxReplyBytes.
var ErrReplyTooLarge = fmt.Errorf("the model's reply is longer than %d MiB", MaxReplyBytes>>20)

type countingBody struct {
	rc   io.ReadCloser
	add  func(int64)
	m    *Meter
	read int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= MaxReplyBytes {
		return 0, ErrReplyTooLarge
	}
	if b.m.Exhausted() {
		return 0, ErrBudget // mid-reply: the rest is not read
	}
	if rest := MaxReplyBytes - b.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	b.add(int64(n))
	return n, err
}
func (b *countingBody) Close() error { return b.rc.Close() }

// memStore keeps one evaluation run's conversation in memory: evaluation runs are not
// sessions of the user's, and are not written to the session store.
type memStore struct {
	mu   sync.Mutex
	msgs []store.Message
}

func (s *memStore) AppendMessage(_ context.Context, m store.Message) (store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.ID = int64(len(s.msgs) + 1)
	s.msgs = append(s.msgs, m)
	return m, nil
}

func (s *memStore) AppendMessages(ctx context.Context, ms []store.Message) ([]store.Message, error) {
	out := make([]store.Message, len(ms))
	for i, m := range ms {
		out[i], _ = s.AppendMessage(ctx, m)
	}
	return out, nil
}

func (s *memStore) Messages(context.Context, string, store.SessionFilter) ([]store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Message(nil), s.msgs...), nil
}

// Trace is one run of a case: what the agent saw and did.
type Trace struct {
	Case     string          `json:"case"`
	Passed   bool            `json:"passed"`
	Why      string          `json:"why,omitempty"` // why it failed
	Tokens   int             `json:"tokens"`
	Wall     time.Duration   `json:"wall_ns"`
	Messages []store.Message `json:"messages"`
}

// Runner runs cases with a skill's text, through hermes' agent loop.
type Runner struct {
	Eval  Model
	Tools []agent.Tool // the tools the run may use: the skill's own (and the docker shell)
	// Allow and Deny restrict Tools further (see agent.Config).
	Allow, Deny []string
	// Redact is applied to everything the agent stores or shows (secrets from .env).
	Redact        func(string) string
	MaxIterations int // per case; 0: 8
	Meter         *Meter
}

// skillPrompt is the system prompt of an evaluation run.
func skillPrompt(skillMD string) string {
	return "You have one skill. Follow its instructions for the task you are given.\n\n<skill>\n" + skillMD + "\n</skill>"
}

// run runs one conversation with systemPrompt and tools, and returns the answer, the tools
// called and the messages, counting its tokens into n.
func (r *Runner) run(ctx context.Context, m Model, systemPrompt, task string, tools []agent.Tool, allow []string, n *atomic.Int64) (string, []store.Message, error) {
	iters := r.MaxIterations
	if iters <= 0 {
		iters = 8
	}
	st := &memStore{}
	a, err := agent.New(agent.Config{BaseURL: m.BaseURL, APIKey: m.APIKey, Model: m.Name, SystemPrompt: systemPrompt,
		MaxIterations: iters, Allow: allow, Deny: r.Deny, Redact: r.Redact, MaxRetries: -1,
		HTTPClient: r.Meter.client(m.HTTPClient, n)}, tools, st)
	if err != nil {
		return "", nil, err
	}
	answer, err := a.Run(ctx, store.Session{ID: "evolve", Source: "evolve"}, task, nil)
	msgs, _ := st.Messages(ctx, "", store.SessionFilter{})
	if errors.Is(err, ErrBudget) || r.Meter.Exhausted() && err != nil {
		err = fmt.Errorf("%w: %w", ErrBudget, err)
	}
	return answer, msgs, err
}

// Evaluate runs every case with skillMD and scores it. When the budget runs out it stops and
// returns what it measured, with Complete false; only a cancelled ctx is an error.
func (r *Runner) Evaluate(ctx context.Context, skillMD string, cases []Case) (Score, []Trace, error) {
	score := Score{Complete: true}
	var traces []Trace
	for i := range cases {
		if r.Meter.Exhausted() {
			score.Complete = false
			break
		}
		t, err := r.runCase(ctx, skillMD, &cases[i])
		if err := ctx.Err(); err != nil {
			return score, traces, err
		}
		if errors.Is(err, ErrBudget) {
			score.Complete = false
			break
		}
		score.Passed = append(score.Passed, t.Passed)
		score.Tokens += t.Tokens
		score.Wall += t.Wall
		traces = append(traces, t)
	}
	return score, traces, nil
}

func (r *Runner) runCase(ctx context.Context, skillMD string, c *Case) (Trace, error) {
	var n atomic.Int64
	start := time.Now()
	allow := r.Allow
	if allow == nil {
		allow = []string{}
		for _, t := range r.Tools {
			allow = append(allow, t.Name)
		}
		if len(allow) == 0 {
			allow = []string{"\x00none"} // no tool matches: an empty Allow would allow all
		}
	}
	answer, msgs, err := r.run(ctx, r.Eval, skillPrompt(skillMD), c.Task, r.Tools, allow, &n)
	t := Trace{Case: c.Name, Messages: msgs}
	switch {
	case errors.Is(err, ErrBudget):
		return t, err
	case err != nil:
		t.Why = "the run failed: " + err.Error()
	default:
		out := Outcome{Answer: answer}
		for _, m := range msgs {
			for _, tc := range m.ToolCalls {
				out.Calls = append(out.Calls, tc.Name)
			}
		}
		t.Why = c.check(out)
		if t.Why == "" && c.Rubric != "" {
			t.Why, err = r.judge(ctx, c, answer, &n)
			if errors.Is(err, ErrBudget) {
				return t, err
			}
		}
		t.Passed = t.Why == ""
	}
	t.Tokens, t.Wall = int(n.Load()/4), time.Since(start)
	return t, nil
}

// judge asks the evaluation model whether answer meets the case's rubric.
func (r *Runner) judge(ctx context.Context, c *Case, answer string, n *atomic.Int64) (string, error) {
	prompt := "You grade an AI agent's answer against a rubric. Reply with PASS or FAIL on the first line, then one line of reason."
	task := fmt.Sprintf("Task given to the agent:\n%s\n\nRubric:\n%s\n\nThe agent's answer:\n%s", c.Task, c.Rubric, answer)
	verdict, _, err := r.run(ctx, r.Eval, prompt, task, nil, []string{"\x00none"}, n)
	if err != nil {
		return "the judge failed: " + err.Error(), err
	}
	first, rest, _ := strings.Cut(strings.TrimSpace(verdict), "\n")
	if strings.EqualFold(strings.TrimSpace(first), "PASS") {
		return "", nil
	}
	return "the judge said: " + oneLine(first+" "+rest), nil
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
