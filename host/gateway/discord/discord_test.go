package discord_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/gateway"
	"github.com/hermes-agent/hermes/host/gateway/discord"
	"github.com/hermes-agent/hermes/host/gateway/discord/discordtest"
	"github.com/hermes-agent/hermes/host/gateway/gatewaytest"
)

const token = "MTIzNDU2.TEST-discord-token.never-shown"

// quiet is the adapters' logger: the tests log nothing.
var quiet = slog.New(slog.DiscardHandler)

// guild is the server every group chat of the conformance test is in.
const guild = "5550001"

type fake struct{ srv *discordtest.Server }

func newFake(t *testing.T) gatewaytest.Fake {
	srv := discordtest.New(token)
	t.Cleanup(srv.Close)
	return &fake{srv: srv}
}

func (f *fake) Adapter(t *testing.T) gateway.Adapter {
	a, err := discord.New(token, f.srv.URL, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func message(m gatewaytest.Incoming) discordtest.Message {
	msg := discordtest.Message{ChannelID: m.Chat, UserID: m.User, Content: m.Text, Attachment: m.Attachment}
	if m.Group {
		msg.GuildID = guild
		if m.ToBot {
			msg.Content = "<@" + discordtest.BotID + "> " + m.Text
		}
	}
	return msg
}

func (f *fake) Push(m gatewaytest.Incoming) func() {
	msg := message(m)
	id := f.srv.Push(msg)
	return func() { f.srv.Redeliver(id, msg) }
}

func (f *fake) Drop(t *testing.T) {
	f.srv.Drop()
}

func (f *fake) Next(t *testing.T) gatewaytest.Outgoing {
	t.Helper()
	select {
	case s := <-f.srv.Sent:
		if strings.Contains(s.Content, token) {
			t.Fatalf("a reply carries the bot token: %q", s.Content)
		}
		return gatewaytest.Outgoing{Chat: s.ChannelID, Text: s.Content}
	case why := <-f.srv.Rejected:
		t.Fatalf("the fake refused a request: %s", why)
	case <-time.After(time.Minute):
		t.Fatal("the bot sent nothing within a minute")
	}
	return gatewaytest.Outgoing{}
}

func (f *fake) Typed(t *testing.T) string {
	t.Helper()
	select {
	case chat := <-f.srv.Typing:
		return chat
	case <-time.After(time.Minute):
		t.Fatal("the bot showed no typing within a minute")
		return ""
	}
}

func TestConformance(t *testing.T) {
	gatewaytest.Run(t, discord.Platform, discord.Limit, newFake)
}

// handler records what the adapter delivers.
type handler struct {
	msgs      chan gateway.Message
	connected chan bool
}

func newHandler() *handler {
	return &handler{msgs: make(chan gateway.Message, 64), connected: make(chan bool, 64)}
}

func (h *handler) Message(m gateway.Message) { h.msgs <- m }
func (h *handler) Connected(ok bool)         { h.connected <- ok }

func (h *handler) next(t *testing.T) gateway.Message {
	t.Helper()
	select {
	case m := <-h.msgs:
		return m
	case <-time.After(time.Minute):
		t.Fatal("no message delivered within a minute")
		return gateway.Message{}
	}
}

func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("%s: nothing within a minute", what)
		var zero T
		return zero
	}
}

// receive runs the adapter against srv until the test ends.
func receive(t *testing.T, srv *discordtest.Server) (*discord.Adapter, *handler) {
	t.Helper()
	a, err := discord.New(token, srv.URL, quiet)
	if err != nil {
		t.Fatal(err)
	}
	h := newHandler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Receive(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("receive: %v", err)
		}
	})
	if got := wait(t, srv.Sessions, "identify"); got != "identify" {
		t.Fatalf("first session: %s", got)
	}
	return a, h
}

// The gateway websocket as Discord runs it: the identify asks for message content; a
// reconnect request (op 7), a cut connection and a missed heartbeat ACK all end in a resumed
// session that replays what was sent meanwhile; a refused resume identifies anew.
func TestGatewayConnection(t *testing.T) {
	t.Run("identify asks for message content", func(t *testing.T) {
		srv := discordtest.New(token)
		defer srv.Close()
		receive(t, srv)
		if got := srv.Intents(); got&(1<<15) == 0 || got&(1<<9) == 0 || got&(1<<12) == 0 {
			t.Fatalf("intents %b", got)
		}
		if seq := wait(t, srv.Heartbeats, "heartbeat"); seq < 0 {
			t.Fatalf("heartbeat %d", seq)
		}
	})
	for _, tc := range []struct {
		name    string
		setup   func(srv *discordtest.Server)
		disrupt func(srv *discordtest.Server)
		want    string
	}{
		{"reconnect op 7", nil, (*discordtest.Server).Reconnect, "resume"},
		{"connection cut", nil, (*discordtest.Server).Drop, "resume"},
		{"heartbeat not acknowledged", func(srv *discordtest.Server) { srv.Heartbeat(20*time.Millisecond, false) }, func(*discordtest.Server) {}, "resume"},
		{"resume refused", nil, func(srv *discordtest.Server) { srv.Forget(); srv.Drop() }, "identify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := discordtest.New(token)
			defer srv.Close()
			if tc.setup != nil {
				tc.setup(srv)
			}
			_, h := receive(t, srv)
			if ok := wait(t, h.connected, "connected"); !ok {
				t.Fatal("not connected")
			}
			srv.Heartbeat(time.Minute, true) // the next connection is healthy
			tc.disrupt(srv)
			srv.Push(discordtest.Message{ChannelID: "42", UserID: "42", Content: "while away"})
			if got := wait(t, srv.Sessions, "reconnect"); got != tc.want {
				t.Fatalf("reconnected with %s, want %s", got, tc.want)
			}
			if tc.want == "resume" {
				if m := h.next(t); m.Text != "while away" || !m.Chat.Private || m.UserID != "42" {
					t.Fatalf("replayed %+v", m)
				}
			}
			srv.Push(discordtest.Message{ChannelID: "42", UserID: "42", Content: "after"})
			for {
				if m := h.next(t); m.Text == "after" {
					break
				}
			}
		})
	}
}

// A gateway that accepts the websocket and then says nothing does not keep Receive from
// returning when it is told to stop (SIGTERM).
func TestReceiveStopsWhileConnecting(t *testing.T) {
	srv := discordtest.New(token)
	defer srv.Close()
	srv.Silent()
	a, err := discord.New(token, srv.URL, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Receive(ctx, newHandler()) }()
	wait(t, srv.Dialled, "websocket")
	cancel()
	if err := wait(t, done, "receive to return"); err != context.Canceled {
		t.Fatalf("receive: %v", err)
	}
}

// What a message becomes: mentions and replies in a server, attachments, the bot's own
// messages ignored.
func TestMessages(t *testing.T) {
	srv := discordtest.New(token)
	defer srv.Close()
	_, h := receive(t, srv)
	mention := "<@" + discordtest.BotID + ">"
	for _, tc := range []struct {
		name string
		in   discordtest.Message
		want gateway.Message
	}{
		{"direct", discordtest.Message{ChannelID: "10", UserID: "42", Content: "hi"},
			gateway.Message{Chat: gateway.Chat{ID: "10", Private: true}, UserID: "42", Text: "hi", ToBot: true}},
		{"server, not addressed", discordtest.Message{ChannelID: "11", GuildID: guild, UserID: "42", Content: "chatting"},
			gateway.Message{Chat: gateway.Chat{ID: "11"}, UserID: "42", Text: "chatting"}},
		{"server, mention", discordtest.Message{ChannelID: "11", GuildID: guild, UserID: "42", Content: mention + " do it"},
			gateway.Message{Chat: gateway.Chat{ID: "11"}, UserID: "42", Text: "do it", ToBot: true}},
		{"server, nickname mention", discordtest.Message{ChannelID: "11", GuildID: guild, UserID: "42", Content: "<@!" + discordtest.BotID + "> do it"},
			gateway.Message{Chat: gateway.Chat{ID: "11"}, UserID: "42", Text: "do it", ToBot: true}},
		{"server, mention of someone else", discordtest.Message{ChannelID: "11", GuildID: guild, UserID: "42", Content: "<@123> look"},
			gateway.Message{Chat: gateway.Chat{ID: "11"}, UserID: "42", Text: "<@123> look"}},
		{"server, reply to the bot", discordtest.Message{ChannelID: "11", GuildID: guild, UserID: "42", Content: "and then?", ReplyToBot: true},
			gateway.Message{Chat: gateway.Chat{ID: "11"}, UserID: "42", Text: "and then?", ToBot: true}},
		{"attachment", discordtest.Message{ChannelID: "10", UserID: "42", Content: "see", Attachment: true},
			gateway.Message{Chat: gateway.Chat{ID: "10", Private: true}, UserID: "42", Text: "see", ToBot: true, Attachment: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.Push(discordtest.Message{ChannelID: "10", UserID: discordtest.BotID, Content: "my own reply"})
			id := srv.Push(tc.in)
			got := h.next(t)
			tc.want.ID = id
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A reply pings nobody, whatever the model wrote; the token is refused with a clear error and
// never shown.
func TestSendAndErrors(t *testing.T) {
	srv := discordtest.New(token)
	defer srv.Close()
	a, err := discord.New(token, srv.URL, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Send(t.Context(), gateway.Chat{ID: "900"}, "@everyone look <@1>"); err != nil {
		t.Fatal(err)
	}
	if s := <-srv.Sent; s.Mentions != `{"parse":[],"replied_user":false}` {
		t.Fatalf("allowed mentions %q", s.Mentions)
	}

	wrong, err := discord.New("other.token", srv.URL, quiet)
	if err != nil {
		t.Fatal(err)
	}
	err = wrong.Send(t.Context(), gateway.Chat{ID: "1"}, "hi")
	if err == nil || strings.Contains(err.Error(), "other.token") {
		t.Fatalf("send with a wrong token: %v", err)
	}
	err = wrong.Receive(t.Context(), newHandler())
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") || !strings.Contains(err.Error(), "hermes config set DISCORD_BOT_TOKEN") {
		t.Fatalf("receive with a wrong token: %v", err)
	}

	for _, tc := range []struct{ name, token, url, want string }{
		{"no token", "", srv.URL, "hermes config set DISCORD_BOT_TOKEN"},
		{"bad url", token, "ftp://example.com", "gateway.discord.api_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := discord.New(tc.token, tc.url, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), token) {
				t.Fatalf("error %v", err)
			}
		})
	}
}
