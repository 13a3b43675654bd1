package telegram_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/host/gateway"
	"github.com/hermes-agent/hermes/host/gateway/gatewaytest"
	"github.com/hermes-agent/hermes/host/gateway/telegram"
	"github.com/hermes-agent/hermes/host/gateway/telegram/telegramtest"
)

const token = "123456:TEST-token-never-shown"

type fake struct{ srv *telegramtest.Server }

func newFake(t *testing.T) gatewaytest.Fake {
	srv := telegramtest.New(token)
	t.Cleanup(srv.Close)
	return &fake{srv: srv}
}

func (f *fake) Adapter(t *testing.T) gateway.Adapter {
	a, err := telegram.New(token, f.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func id(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func (f *fake) Push(m gatewaytest.Incoming) func() {
	text := m.Text
	if m.Group && m.ToBot {
		text = "@" + telegramtest.BotUsername + " " + text
	}
	msg := telegramtest.Message{ChatID: id(m.Chat), UserID: id(m.User), Group: m.Group, Text: text, Photo: m.Attachment}
	update := f.srv.Push(msg)
	return func() { f.srv.Redeliver(update, msg) }
}

func (f *fake) Drop(t *testing.T) {
	f.srv.DropPolls(1)
	select {
	case <-f.srv.Dropped:
	case <-time.After(time.Minute):
		t.Fatal("the bot never polled again")
	}
}

func (f *fake) Next(t *testing.T) gatewaytest.Outgoing {
	t.Helper()
	select {
	case s := <-f.srv.Sent:
		if strings.Contains(s.Text, token) {
			t.Fatalf("a reply carries the bot token: %q", s.Text)
		}
		return gatewaytest.Outgoing{Chat: strconv.FormatInt(s.ChatID, 10), Text: s.Text}
	case n := <-f.srv.TooLong:
		t.Fatalf("the bot sent a message of %d UTF-16 code units, over %d", n, telegramtest.MaxText)
		return gatewaytest.Outgoing{}
	case <-time.After(time.Minute):
		t.Fatal("the bot sent nothing within a minute")
		return gatewaytest.Outgoing{}
	}
}

func (f *fake) Typed(t *testing.T) string {
	t.Helper()
	select {
	case chat := <-f.srv.Typing:
		return strconv.FormatInt(chat, 10)
	case <-time.After(time.Minute):
		t.Fatal("the bot showed no typing within a minute")
		return ""
	}
}

func TestConformance(t *testing.T) {
	gatewaytest.Run(t, telegram.Platform, telegram.Limit, newFake)
}

// The token is in every request's URL; an error never shows it.
func TestErrorsHideToken(t *testing.T) {
	srv := telegramtest.New("other:token")
	defer srv.Close()
	a, err := telegram.New(token, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Send(t.Context(), gateway.Chat{ID: "1"}, "hi")
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "TEST-token") {
		t.Fatalf("error %v", err)
	}
	if _, err := telegram.New("", srv.URL, nil); err == nil || !strings.Contains(err.Error(), "hermes config set TELEGRAM_BOT_TOKEN") {
		t.Fatalf("missing token: %v", err)
	}
}

type heard chan gateway.Message

func (h heard) Message(m gateway.Message) { h <- m }
func (h heard) Connected(bool)            {}

// An update a poll took but never confirmed (the process that polled exited, or the answer
// was lost) is returned again to the next poll, as by Telegram: the fake honours offset.
func TestUnconfirmedUpdateComesAgain(t *testing.T) {
	srv := telegramtest.New(token)
	defer srv.Close()
	id := srv.Push(telegramtest.Message{ChatID: 42, UserID: 42, Text: "once more"})
	resp, err := http.PostForm(srv.URL+"/bot"+token+"/getUpdates", url.Values{"timeout": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"update_id":`+strconv.FormatInt(id, 10)) {
		t.Fatalf("the first poll got %s", body)
	}

	a, err := telegram.New(token, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := make(heard, 8)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { a.Receive(ctx, h); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case m := <-h:
		if m.ID != strconv.FormatInt(id, 10) || m.Text != "once more" {
			t.Fatalf("got %+v", m)
		}
	case <-time.After(time.Minute):
		t.Fatal("the unconfirmed update never came again")
	}
}
