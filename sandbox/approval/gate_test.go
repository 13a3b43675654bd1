package approval

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/store"
)

// Commands whose class the tests rely on.
const (
	safeCmd      = "echo hi"
	dangerousCmd = "rm -rf ./build"
	otherDanger  = "rm -rf ./dist"
	hardlineCmd  = "rm -rf ~"
)

// scripted answers with a fixed decision and records what it was asked.
type scripted struct {
	mu    sync.Mutex
	d     Decision
	err   error
	asked []Question
}

func (s *scripted) Ask(ctx context.Context, q Question) (Decision, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, q)
	return s.d, s.err
}

func (s *scripted) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.asked)
}

// mustNotAsk fails the test when asked.
type mustNotAsk struct{ t *testing.T }

func (m mustNotAsk) Ask(ctx context.Context, q Question) (Decision, error) {
	m.t.Errorf("asked about %q, which must never be asked", q.Command)
	return Once, nil // what a careless user might answer: must not matter
}

func openStore(t *testing.T) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func testRules(t *testing.T) classify.Rules {
	return classify.Rules{Home: t.TempDir()}
}

// The tests below rely on these classes; check them first so a classifier change reads clearly.
func TestCommandClasses(t *testing.T) {
	rules := testRules(t)
	for _, tc := range []struct {
		name    string
		command string
		want    classify.Class
	}{
		{name: "safe", command: safeCmd, want: classify.Safe},
		{name: "dangerous", command: dangerousCmd, want: classify.Dangerous},
		{name: "other dangerous", command: otherDanger, want: classify.Dangerous},
		{name: "hardline", command: hardlineCmd, want: classify.Hardline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := classify.Classify(tc.command, rules)
			if v.Class != tc.want {
				t.Fatalf("%q is %v, want %v (%+v)", tc.command, v.Class, tc.want, v)
			}
			if tc.want != classify.Safe && (len(v.Findings) == 0 || v.Shape == "") {
				t.Errorf("%q: no findings or shape: %+v", tc.command, v)
			}
		})
	}
	if a, b := classify.Classify(dangerousCmd, rules).Shape, classify.Classify(otherDanger, rules).Shape; a == b {
		t.Errorf("%q and %q have one shape %q", dangerousCmd, otherDanger, a)
	}
}

func TestGateDecisions(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		command   string
		answer    Decision
		answerErr error
		wantAsked int
		wantErr   string // "" means allowed
	}{
		{name: "safe runs without asking", command: safeCmd, wantAsked: 0},
		{name: "dangerous once", command: dangerousCmd, answer: Once, wantAsked: 1},
		{name: "dangerous session", command: dangerousCmd, answer: Session, wantAsked: 1},
		{name: "dangerous always", command: dangerousCmd, answer: Always, wantAsked: 1},
		{name: "dangerous denied", command: dangerousCmd, answer: Deny, wantAsked: 1, wantErr: "; denied at the prompt"},
		{name: "unknown decision denies", command: dangerousCmd, answer: Decision(42), wantAsked: 1, wantErr: "denied at the prompt"},
		{name: "prompter error denies even with a yes", command: dangerousCmd, answer: Once, answerErr: errors.New("no answer in 5m0s"), wantAsked: 1, wantErr: "; not approved: no answer in 5m0s"},
		{name: "hardline never asks", command: hardlineCmd, answer: Once, wantAsked: 0, wantErr: "; never run on the host, not even with approval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openStore(t)
			p := &scripted{d: tc.answer, err: tc.answerErr}
			g := NewGate(testRules(t), p, db)
			v, err := g.Check(ctx, tc.command, "the agent")
			if p.count() != tc.wantAsked {
				t.Errorf("asked %d times, want %d", p.count(), tc.wantAsked)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var denied *DeniedError
			if !errors.As(err, &denied) {
				t.Fatalf("err = %v, want *DeniedError", err)
			}
			if denied.Command != tc.command || denied.Origin != "the agent" || denied.Verdict.Class != v.Class {
				t.Errorf("DeniedError %+v", denied)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "refused: ") || !strings.Contains(msg, tc.wantErr) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting \"refused: \" containing %q", msg, tc.wantErr)
			}
			first := deciding(v)[0]
			if !strings.Contains(msg, first.Reason+" ("+first.Category+")") {
				t.Errorf("error %q lacks the first reason %q (%s)", msg, first.Reason, first.Category)
			}
		})
	}
}

func TestGateAsksWithCommandOriginAndVerdict(t *testing.T) {
	p := &scripted{d: Once}
	g := NewGate(testRules(t), p, nil)
	v, err := g.Check(context.Background(), dangerousCmd, "plugin files")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.asked) != 1 {
		t.Fatalf("asked %d times", len(p.asked))
	}
	q := p.asked[0]
	if q.Command != dangerousCmd || q.Origin != "plugin files" || q.Verdict.Shape != v.Shape || q.Verdict.Class != classify.Dangerous {
		t.Errorf("question %+v", q)
	}
}

func TestGateSessionLastsForTheGate(t *testing.T) {
	ctx := context.Background()
	rules := testRules(t)
	db, _ := openStore(t)
	p := &scripted{d: Session}
	g := NewGate(rules, p, db)
	for i := range 3 {
		if _, err := g.Check(ctx, dangerousCmd, "the agent"); err != nil {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if p.count() != 1 {
		t.Errorf("asked %d times for one shape approved for the session", p.count())
	}
	// Another shape is asked about.
	p.d = Deny
	if _, err := g.Check(ctx, otherDanger, "the agent"); err == nil {
		t.Error("another shape ran without approval")
	}
	if p.count() != 2 {
		t.Errorf("another shape: asked %d times in all, want 2", p.count())
	}
	// Nothing was stored, so a new gate (a new session) asks again.
	if list, _ := db.ListApprovals(ctx); len(list) != 0 {
		t.Errorf("session answer stored: %+v", list)
	}
	p2 := &scripted{d: Deny}
	if _, err := NewGate(rules, p2, db).Check(ctx, dangerousCmd, "the agent"); err == nil {
		t.Error("new gate honoured the old gate's session approval")
	}
	if p2.count() != 1 {
		t.Errorf("new gate asked %d times", p2.count())
	}
}

func TestGateOnceIsOnce(t *testing.T) {
	ctx := context.Background()
	p := &scripted{d: Once}
	g := NewGate(testRules(t), p, nil)
	for range 2 {
		if _, err := g.Check(ctx, dangerousCmd, "you"); err != nil {
			t.Fatal(err)
		}
	}
	if p.count() != 2 {
		t.Errorf("asked %d times, want 2: once is once", p.count())
	}
}

func TestGateAlwaysStoredAndHonouredByNewGate(t *testing.T) {
	ctx := context.Background()
	rules := testRules(t)
	db, path := openStore(t)
	p := &scripted{d: Always}
	v, err := NewGate(rules, p, db).Check(ctx, dangerousCmd, "the agent")
	if err != nil {
		t.Fatal(err)
	}
	list, err := db.ListApprovals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Shape != v.Shape {
		t.Fatalf("stored %+v, want one approval of %q", list, v.Shape)
	}
	for _, f := range deciding(v) {
		if !strings.Contains(list[0].Reason, f.Reason) {
			t.Errorf("stored reason %q lacks %q", list[0].Reason, f.Reason)
		}
	}
	log, _ := db.AuditLog(ctx, v.Shape, 0)
	if len(log) != 1 || log[0].Event != "approval.add" {
		t.Errorf("audit %+v", log)
	}

	// A new gate over the same database file — a later session — does not ask.
	db.Close()
	db2, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if _, err := NewGate(rules, mustNotAsk{t}, db2).Check(ctx, dangerousCmd, "the agent"); err != nil {
		t.Errorf("stored approval not honoured: %v", err)
	}
	if a, found, _ := db2.FindApproval(ctx, v.Shape); !found || a.Uses != 2 {
		t.Errorf("approval uses %d, want 2 (the new gate's and this lookup)", a.Uses)
	}
	// Revoked: asked again.
	if err := db2.RevokeApproval(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	p3 := &scripted{d: Deny}
	if _, err := NewGate(rules, p3, db2).Check(ctx, dangerousCmd, "the agent"); err == nil || p3.count() != 1 {
		t.Errorf("after revoke: err %v, asked %d", err, p3.count())
	}
}

func TestGateAlwaysWithoutStoreLastsTheSession(t *testing.T) {
	ctx := context.Background()
	p := &scripted{d: Always}
	g := NewGate(testRules(t), p, nil)
	for range 2 {
		if _, err := g.Check(ctx, dangerousCmd, "you"); err != nil {
			t.Fatal(err)
		}
	}
	if p.count() != 1 {
		t.Errorf("asked %d times", p.count())
	}
}

func TestGateHardlineIgnoresStoredApproval(t *testing.T) {
	ctx := context.Background()
	rules := testRules(t)
	db, _ := openStore(t)
	v := classify.Classify(hardlineCmd, rules)
	if _, err := db.AddApproval(ctx, v.Shape, "planted"); err != nil {
		t.Fatal(err)
	}
	g := NewGate(rules, mustNotAsk{t}, db)
	g.approveSession(v.Shape) // not even a session approval
	_, err := g.Check(ctx, hardlineCmd, "the agent")
	var denied *DeniedError
	if !errors.As(err, &denied) || denied.Verdict.Class != classify.Hardline {
		t.Fatalf("err = %v, want a hardline *DeniedError", err)
	}
	if a, _, _ := db.FindApproval(ctx, v.Shape); a.Uses != 1 {
		t.Errorf("the gate looked the hardline shape up in the store (%d uses)", a.Uses-1)
	}
}

func TestGateDenyRulesWin(t *testing.T) {
	ctx := context.Background()
	home := t.TempDir()
	db, _ := openStore(t)
	// Approved always, before the deny rule was written.
	v := classify.Classify(dangerousCmd, classify.Rules{Home: home})
	if _, err := db.AddApproval(ctx, v.Shape, "approved earlier"); err != nil {
		t.Fatal(err)
	}
	if _, err := NewGate(classify.Rules{Home: home}, mustNotAsk{t}, db).Check(ctx, dangerousCmd, "you"); err != nil {
		t.Fatalf("without the rule: %v", err)
	}

	for _, tc := range []struct {
		name    string
		command string
		deny    []string
	}{
		{name: "rule over an approved dangerous command", command: dangerousCmd, deny: []string{`rm -rf \./build`}},
		{name: "rule over a safe command", command: "git push origin main", deny: []string{`^git push`}},
		{name: "one of several rules", command: safeCmd, deny: []string{`nomatch`, `echo`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := classify.Rules{Home: home, Deny: tc.deny}
			g := NewGate(rules, mustNotAsk{t}, db)
			g.approveSession(classify.Classify(tc.command, rules).Shape)
			_, err := g.Check(ctx, tc.command, "you")
			var denied *DeniedError
			if !errors.As(err, &denied) || denied.Verdict.Class != classify.Hardline {
				t.Fatalf("err = %v, want a hardline *DeniedError", err)
			}
		})
	}
}

func TestGateNoPrompt(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		p    Prompter
		want string
	}{
		{name: "NoPrompt with reason", p: NoPrompt{Reason: "CI=true"}, want: "; no one to ask (CI=true): run it yourself, or approve it in an interactive hermes session"},
		{name: "nil prompter", p: nil, want: "; no one to ask: run it yourself, or approve it in an interactive hermes session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewGate(testRules(t), tc.p, nil).Check(ctx, dangerousCmd, "the agent")
			var denied *DeniedError
			if !errors.As(err, &denied) || !errors.Is(err, ErrNotAsked) {
				t.Fatalf("err = %v, want *DeniedError wrapping ErrNotAsked", err)
			}
			if !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to end %q", err, tc.want)
			}
			// Safe commands still run; hardline ones are refused without the hint.
			g := NewGate(testRules(t), tc.p, nil)
			if _, err := g.Check(ctx, safeCmd, "you"); err != nil {
				t.Errorf("safe command refused: %v", err)
			}
			if _, err := g.Check(ctx, hardlineCmd, "you"); err == nil || strings.Contains(err.Error(), "approve it") {
				t.Errorf("hardline: %v", err)
			}
		})
	}
}

func TestGateCancelledContextDenies(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewGate(testRules(t), mustNotAsk{t}, nil).Check(ctx, dangerousCmd, "you")
	var denied *DeniedError
	if !errors.As(err, &denied) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want *DeniedError wrapping context.Canceled", err)
	}
}

// Questions are asked one at a time, and a session answer given while others waited lets
// them through without asking again.
func TestGateConcurrentQuestions(t *testing.T) {
	var inFlight, maxInFlight, asked atomic.Int32
	p := promptFunc(func(ctx context.Context, q Question) (Decision, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		if n > maxInFlight.Load() {
			maxInFlight.Store(n)
		}
		asked.Add(1)
		return Session, nil
	})
	g := NewGate(testRules(t), p, nil)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := g.Check(context.Background(), dangerousCmd, "the agent"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if maxInFlight.Load() != 1 || asked.Load() != 1 {
		t.Errorf("%d questions at once, %d in all; want 1 and 1", maxInFlight.Load(), asked.Load())
	}
}

type promptFunc func(ctx context.Context, q Question) (Decision, error)

func (f promptFunc) Ask(ctx context.Context, q Question) (Decision, error) { return f(ctx, q) }

func TestDeniedErrorText(t *testing.T) {
	v := testQuestion().Verdict
	for _, tc := range []struct {
		name string
		err  *DeniedError
		want string
	}{
		{name: "two findings", err: &DeniedError{Verdict: v, Why: "denied at the prompt"},
			want: "refused: deletes files recursively (delete) (+1 more); denied at the prompt"},
		{name: "no findings", err: &DeniedError{Verdict: classify.Verdict{Class: classify.Hardline}, Why: whyHardline},
			want: "refused: classified " + classify.Hardline.String() + "; " + whyHardline},
		{name: "newlines flattened", err: &DeniedError{Verdict: classify.Verdict{Class: classify.Dangerous,
			Findings: []classify.Finding{{Class: classify.Dangerous, Category: "x", Reason: "a\nb"}}}, Why: "c\nd"},
			want: "refused: a b (x); c d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestInteractive(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	t.Setenv("CI", "")
	if Interactive(r, w) {
		t.Error("pipes are interactive")
	}
	if Interactive(nil, nil) {
		t.Error("nil files are interactive")
	}
	// Terminals: see TestPromptThroughPTY.
}
