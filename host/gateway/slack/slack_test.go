package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/host/gateway"
	"github.com/hermes-agent/hermes/host/gateway/gatewaytest"
	"github.com/hermes-agent/hermes/host/gateway/slack"
	"github.com/hermes-agent/hermes/host/gateway/slack/slacktest"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/store"
)

const (
	botToken = "xoxb-1111-2222-TESTbottokenneverShown"
	appToken = "xapp-1-A0001-3333-TESTapptokenneverShown"
)

var unescape = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

type fake struct{ srv *slacktest.Server }

func newFake(t *testing.T) gatewaytest.Fake {
	srv := slacktest.New(botToken, appToken)
	t.Cleanup(srv.Close)
	return &fake{srv: srv}
}

func (f *fake) Adapter(t *testing.T) gateway.Adapter {
	a, err := slack.New(botToken, appToken, f.srv.APIURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// channel is the Slack channel of a conformance chat: D… for a direct message, C… otherwise.
func channel(m gatewaytest.Incoming) string {
	if m.Group {
		return "C" + m.Chat
	}
	return "D" + m.Chat
}

func (f *fake) Push(m gatewaytest.Incoming) func() {
	msg := slacktest.Message{Channel: channel(m), User: m.User, Text: m.Text, File: m.Attachment}
	if m.Group && m.ToBot {
		msg.Text = "<@" + slacktest.BotUserID + "> " + m.Text
	}
	ev := f.srv.Push(msg)
	if m.Group && m.ToBot {
		// An app subscribed to message.channels and app_mention gets a mention twice.
		mention := msg
		mention.AppMention, mention.TS = true, ev.TS()
		f.srv.Push(mention)
	}
	return func() { f.srv.Redeliver(ev) }
}

func (f *fake) Drop(t *testing.T) {
	f.srv.Disconnect()
	select {
	case <-f.srv.Dropped:
	case <-time.After(time.Minute):
		t.Fatal("the connection was never ended")
	}
}

func (f *fake) Next(t *testing.T) gatewaytest.Outgoing {
	t.Helper()
	return outgoing(t, f.srv)
}

func outgoing(t *testing.T, srv *slacktest.Server) gatewaytest.Outgoing {
	t.Helper()
	s := next(t, srv)
	return gatewaytest.Outgoing{Chat: s.Channel[1:], Text: unescape.Replace(s.Text)}
}

func next(t *testing.T, srv *slacktest.Server) slacktest.Sent {
	t.Helper()
	select {
	case s := <-srv.Sent:
		if strings.Contains(s.Text, botToken) || strings.Contains(s.Text, appToken) {
			t.Fatalf("a reply carries a token: %q", s.Text)
		}
		return s
	case <-time.After(time.Minute):
		t.Fatal("the bot sent nothing within a minute")
		return slacktest.Sent{}
	}
}

func (f *fake) Typed(t *testing.T) string {
	t.Helper()
	select {
	case r := <-f.srv.Reacted:
		if r.Name != slack.Reaction || r.Timestamp == "" {
			t.Fatalf("reaction %+v", r)
		}
		return r.Channel[1:]
	case <-time.After(time.Minute):
		t.Fatal("the bot showed no reaction within a minute")
		return ""
	}
}

func TestConformance(t *testing.T) {
	gatewaytest.Run(t, slack.Platform, slack.Limit, newFake)
}

// echo is a runner that answers "echo: TEXT" and records nothing: the Slack-specific tests
// check what the adapter delivers and where replies go; the conformance test runs the agent.
type echo struct{}

func (echo) Run(ctx context.Context, _ store.Session, text string, _ func(agent.Event)) (string, error) {
	if cmd, ok := strings.CutPrefix(text, "ask: "); ok {
		d, err := gateway.Prompter{}.Ask(ctx, approval.Question{Command: cmd, Origin: "the agent", Verdict: classify.Verdict{Class: classify.Dangerous}})
		return fmt.Sprintf("approved %v", d == approval.Once && err == nil), nil
	}
	if text == "code" {
		return "Here:\n```go\n" + strings.Repeat("x := a < b && c > d // 40 characters....\n", 250) + "```\nDone.", nil
	}
	return "echo: " + text, nil
}

type rig struct {
	srv *slacktest.Server
	db  *store.DB
}

func startRig(t *testing.T) *rig {
	t.Helper()
	srv := slacktest.New(botToken, appToken)
	t.Cleanup(srv.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := slack.New(botToken, appToken, srv.APIURL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Config{Allowed: []string{"U42", "U43"}, Model: "m", Backend: "local",
		ShutdownTimeout: time.Millisecond, Logger: slog.New(slog.DiscardHandler)}, a, echo{}, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway run: %v", err)
		}
		db.Close()
	})
	return &rig{srv: srv, db: db}
}

func TestThreads(t *testing.T) {
	r := startRig(t)
	mention := "<@" + slacktest.BotUserID + "> "
	// A thread is its own chat, answered in the thread; the channel outside threads is another.
	r.srv.Push(slacktest.Message{Channel: "C1", User: "U42", Text: mention + "in the channel"})
	if s := next(t, r.srv); s.Channel != "C1" || s.Thread != "" || s.Text != "echo: in the channel" {
		t.Fatalf("channel reply %+v", s)
	}
	r.srv.Push(slacktest.Message{Channel: "C1", User: "U42", Thread: "1700000000.000001", Text: mention + "thread one"})
	if s := next(t, r.srv); s.Channel != "C1" || s.Thread != "1700000000.000001" || s.Text != "echo: thread one" {
		t.Fatalf("thread reply %+v", s)
	}
	// In a thread the bot started, a reply is for the bot without a mention; elsewhere not.
	r.srv.Push(slacktest.Message{Channel: "C1", User: "U42", Thread: "1700000000.000002", Text: "no mention, other thread"})
	r.srv.Push(slacktest.Message{Channel: "C1", User: "U42", Thread: "1800000000.000009", ParentUser: slacktest.BotUserID, Text: "reply to the bot"})
	if s := next(t, r.srv); s.Thread != "1800000000.000009" || s.Text != "echo: reply to the bot" {
		t.Fatalf("reply in the bot's thread %+v", s)
	}
	ss, err := r.db.ListSessions(context.Background(), store.SessionFilter{Source: slack.Platform})
	if err != nil || len(ss) != 3 {
		t.Fatalf("sessions %+v %v", ss, err)
	}
}

func TestRepliesEscapedAndMentionsRemoved(t *testing.T) {
	r := startRig(t)
	// The user's "<" arrives escaped, a mention of someone else is kept, the bot's removed.
	r.srv.Push(slacktest.Message{Channel: "D42", User: "U42", Text: "ping <!channel> &lt;b&gt; <@UBOTX> <@" + slacktest.BotUserID + "|hermes>"})
	s := next(t, r.srv)
	if want := "echo: ping &lt;!channel&gt; &lt;b&gt; &lt;@UBOTX&gt;"; s.Text != want {
		t.Fatalf("posted %q, want %q", s.Text, want)
	}
}

func TestSlashCommands(t *testing.T) {
	r := startRig(t)
	for _, tc := range []struct{ command, text, want string }{
		{"/hermes", "status", "model m, backend local, idle"},
		{"/hermes", "", "Send a message to talk to the agent."},
		{"/new", "", "New session started."},
	} {
		t.Run(tc.command+" "+tc.text, func(t *testing.T) {
			r.srv.Command("D42", "U42", tc.command, tc.text)
			if s := next(t, r.srv); s.Channel != "D42" || !strings.HasPrefix(s.Text, tc.want) {
				t.Fatalf("answered %+v", s)
			}
		})
	}
	// A question is answered with /hermes approve or /hermes deny, only by its asker.
	for _, tc := range []struct {
		name, channel, user, answer string
		want                        []string
	}{
		{"approve", "D42", "U42", "approve", []string{"approved true"}},
		{"deny", "D42", "U42", "deny", []string{"Denied.", "approved false"}},
		{"another user", "C1", "U43", "approve", []string{"Only the user whose message started this turn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.srv.Push(slacktest.Message{Channel: tc.channel, User: "U42", Text: "<@" + slacktest.BotUserID + "> ask: rm -rf ./x"})
			if s := next(t, r.srv); !strings.Contains(s.Text, "Reply /approve or /deny") {
				t.Fatalf("question %+v", s)
			}
			r.srv.Command(tc.channel, tc.user, "/hermes", tc.answer)
			for _, want := range tc.want {
				if s := next(t, r.srv); !strings.HasPrefix(s.Text, want) {
					t.Fatalf("after %s: %+v, want %q", tc.answer, s, want)
				}
			}
			if tc.name == "another user" {
				r.srv.Command(tc.channel, "U42", "/hermes", "deny")
				next(t, r.srv) // Denied.
				if s := next(t, r.srv); s.Text != "approved false" {
					t.Fatalf("the turn said %+v", s)
				}
			}
		})
	}
	// A stranger's command is dropped like any other message.
	r.srv.Command("D666", "U666", "/hermes", "status")
	r.srv.Command("D42", "U42", "/hermes", "status")
	if s := next(t, r.srv); s.Channel != "D42" {
		t.Fatalf("the stranger was answered: %+v", s)
	}
}

// Envelopes are acknowledged; a connection cut without a word is opened again.
func TestCutConnection(t *testing.T) {
	r := startRig(t)
	<-r.srv.Connected
	r.srv.Push(slacktest.Message{Channel: "D42", User: "U42", Text: "one"})
	next(t, r.srv)
	<-r.srv.Acked
	r.srv.Cut()
	<-r.srv.Dropped
	<-r.srv.Connected
	// Another chat: the first chat's turn may still be ending after its reply.
	r.srv.Push(slacktest.Message{Channel: "D43", User: "U43", Text: "two"})
	if s := next(t, r.srv); s.Text != "echo: two" {
		t.Fatalf("after the cut: %+v", s)
	}
}

// A refused token stops Run with an error that names the variable and never shows the token.
func TestRefusedTokens(t *testing.T) {
	for _, tc := range []struct {
		name, bot, app, want string
	}{
		{"bot token", "xoxb-wrong-SECRETbot", appToken, "SLACK_BOT_TOKEN was refused (invalid_auth)"},
		{"app token", botToken, "xapp-wrong-SECRETapp", "SLACK_APP_TOKEN was refused (invalid_auth)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := slacktest.New(botToken, appToken)
			defer srv.Close()
			a, err := slack.New(tc.bot, tc.app, srv.APIURL, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			err = a.Receive(t.Context(), nopHandler{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error %v", err)
			}
		})
	}
	for _, tc := range []struct{ name, bot, app, want string }{
		{"no bot token", "", appToken, "hermes config set SLACK_BOT_TOKEN"},
		{"no app token", botToken, "", "hermes config set SLACK_APP_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := slack.New(tc.bot, tc.app, "", nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

type nopHandler struct{}

func (nopHandler) Message(gateway.Message) {}
func (nopHandler) Connected(bool)          {}

// What is not a person's new message never reaches the gateway, and frames that are not
// Slack's (malformed, oversized, unknown) leave the connection working or reopen it.
func TestHostileEvents(t *testing.T) {
	r := startRig(t)
	mention := "<@" + slacktest.BotUserID + "> "
	for _, m := range []slacktest.Message{
		{Channel: "D42", User: slacktest.BotUserID, Text: "the bot's own message"},
		{Channel: "D42", User: "U42", BotID: "BOTHER", Text: "another bot as the owner"},
		{Channel: "D42", User: "U42", SubType: "message_changed", Text: "an edit"},
		{Channel: "D42", User: "U42", SubType: "bot_message", Text: "a bot message"},
		{Channel: "C1", User: "U42", SubType: "channel_join", Text: mention + "joined"},
		{Channel: "D42", User: "", Text: "no user"},
	} {
		r.srv.Push(m)
	}
	r.srv.Raw([]byte(`{"type":"events_api","envelope_id":"x","payload":{"type":"event_callback","event":{"type":"message","text":`))
	r.srv.Raw([]byte(`{"type":"what_is_this","envelope_id":"y"}`))
	r.srv.Raw([]byte(`[1,2,3]`))
	r.srv.Raw([]byte(`{"type": nope}`))
	r.srv.Push(slacktest.Message{Channel: "D42", User: "U42", Text: "still here"})
	if s := next(t, r.srv); s.Text != "echo: still here" {
		t.Fatalf("after hostile events the bot said %+v", s)
	}
	if states, err := r.db.GatewayStates(context.Background()); err != nil || len(states) != 1 || states[0].State != "connected" {
		t.Fatalf("states %+v %v", states, err)
	}
	// A frame over the read limit ends the connection; the bot connects again.
	<-r.srv.Connected
	r.srv.Raw([]byte(`{"type":"hello","x":"` + strings.Repeat("a", slack.ReadLimit) + `"}`))
	select {
	case <-r.srv.Connected:
	case <-time.After(time.Minute):
		t.Fatal("the bot did not reconnect after an oversized frame")
	}
	r.srv.Push(slacktest.Message{Channel: "D43", User: "U43", Text: "after"})
	if s := next(t, r.srv); s.Text != "echo: after" {
		t.Fatalf("after an oversized frame the bot said %+v", s)
	}
	ss, err := r.db.ListSessions(context.Background(), store.SessionFilter{Source: slack.Platform})
	if err != nil || len(ss) != 2 {
		t.Fatalf("sessions %+v %v", ss, err)
	}
}

// A 10,000-character code block comes in parts of at most Limit characters, each a whole code
// block (closed, and opened again in the next), escaped, that together are the answer.
func TestCodeBlockSplit(t *testing.T) {
	r := startRig(t)
	r.srv.Push(slacktest.Message{Channel: "D42", User: "U42", Text: "code"})
	want, _ := echo{}.Run(context.Background(), store.Session{}, "code", nil)
	var got []string
	for n := 0; n < len(want); {
		s := next(t, r.srv)
		if strings.Contains(s.Text, "<") || strings.Contains(s.Text, " && ") {
			t.Fatalf("part %d is not escaped: %.80q", len(got), s.Text)
		}
		part := unescape.Replace(s.Text)
		if c := len([]rune(part)); c > slack.Limit {
			t.Fatalf("part %d has %d characters", len(got), c)
		}
		if strings.Count(part, "```")%2 != 0 {
			t.Fatalf("part %d breaks a code block: %q ... %q", len(got), part[:40], part[len(part)-40:])
		}
		got = append(got, part)
		n += len(part)
	}
	if len(got) < 4 {
		t.Fatalf("%d parts", len(got))
	}
	joined := strings.Join(got, "\n")
	joined = strings.ReplaceAll(joined, "\n```\n```go\n", "\n") // the fences added at the cuts
	if strings.ReplaceAll(joined, "\n", "") != strings.ReplaceAll(want, "\n", "") {
		t.Fatal("the parts do not make the answer")
	}
}

// A reply refused for Slack's rate limit is sent again after Retry-After, not lost.
func TestRateLimited(t *testing.T) {
	r := startRig(t)
	r.srv.RateLimit(1)
	r.srv.Push(slacktest.Message{Channel: "D42", User: "U42", Text: "hi"})
	if s := next(t, r.srv); s.Text != "echo: hi" {
		t.Fatalf("reply %+v", s)
	}
}
