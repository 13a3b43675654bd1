// Package telegram is the gateway's Telegram adapter: the Bot API over long polling
// (getUpdates), with github.com/go-telegram/bot. The bot token appears in every request's URL,
// so every error this package returns or logs has it replaced by "[redacted]".
package telegram

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/hermes-agent/hermes/host/gateway"
)

// Platform is the adapter's name and its sessions' source.
const Platform = "telegram"

// Limit is the most characters of one Telegram message, counted as Telegram does, in UTF-16
// code units (see Width).
const Limit = 4096

// DefaultAPIURL is Telegram's Bot API.
const DefaultAPIURL = "https://api.telegram.org"

// Adapter talks to one bot.
type Adapter struct {
	token string
	b     *bot.Bot
	log   *slog.Logger
	// backoff bounds the wait between attempts to reach the service; the client library backs
	// off the same way (100ms doubling to 5s) while polling.
	backoff time.Duration

	botID    int64
	username string
	h        atomic.Pointer[gateway.Handler] // set by Receive
}

// pollTimeout bounds one long poll (the library's default).
const pollTimeout = time.Minute

// watch is the bot's HTTP client: it tells the handler whether the Bot API answers.
type watch struct {
	c *http.Client
	a *Adapter
}

func (w watch) Do(r *http.Request) (*http.Response, error) {
	resp, err := w.c.Do(r)
	if h := w.a.h.Load(); h != nil && strings.HasSuffix(r.URL.Path, "/getUpdates") && r.Context().Err() == nil {
		(*h).Connected(err == nil && resp.StatusCode < 500)
	}
	return resp, err
}

var _ gateway.Adapter = (*Adapter)(nil)

// New makes an adapter for the bot with token at apiURL ("" is Telegram's own). It does not
// connect: Receive does.
func New(token, apiURL string, log *slog.Logger) (*Adapter, error) {
	if token == "" {
		return nil, errors.New("telegram: TELEGRAM_BOT_TOKEN is not set; get one from @BotFather and run: hermes config set TELEGRAM_BOT_TOKEN <token>")
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if log == nil {
		log = slog.Default()
	}
	a := &Adapter{token: token, log: log.With("platform", Platform), backoff: 5 * time.Second}
	b, err := bot.New(token,
		bot.WithServerURL(strings.TrimSuffix(apiURL, "/")),
		bot.WithSkipGetMe(),
		bot.WithHTTPClient(pollTimeout, watch{c: &http.Client{Timeout: pollTimeout}, a: a}),
		bot.WithDefaultHandler(a.update),
		bot.WithErrorsHandler(func(err error) {
			a.log.Warn("telegram: polling failed; retrying with backoff", "err", a.redact(err))
		}),
		bot.WithAllowedUpdates(bot.AllowedUpdates{"message"}),
		// In order: the gateway's handling is quick (turns run on their own goroutines), and an
		// answer to an approval must not overtake the message before it.
		bot.WithNotAsyncHandlers(),
	)
	if err != nil {
		return nil, errors.New("telegram: " + a.redact(err))
	}
	a.b = b
	return a, nil
}

func (a *Adapter) redact(err error) string {
	return strings.ReplaceAll(err.Error(), a.token, "[redacted]")
}

func (a *Adapter) fail(what string, err error) error {
	return errors.New("telegram: " + what + ": " + a.redact(err))
}

// Platform is "telegram".
func (a *Adapter) Platform() string { return Platform }

// Limit is 4096.
func (a *Adapter) Limit() int { return Limit }

var _ gateway.Measurer = (*Adapter)(nil)

// Width is r's length in UTF-16 code units, Telegram's unit for message length: an emoji
// above U+FFFF is 2.
func (a *Adapter) Width(r rune) int { return gateway.UTF16Width(r) }

// Receive learns the bot's name (getMe, retried with backoff), then long-polls until ctx ends.
func (a *Adapter) Receive(ctx context.Context, h gateway.Handler) error {
	wait := 100 * time.Millisecond
	for {
		me, err := a.b.GetMe(ctx)
		if err == nil {
			a.botID, a.username = me.ID, me.Username
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.Warn("telegram: cannot reach the Bot API; retrying", "err", a.redact(err), "in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, a.backoff)
	}
	a.h.Store(&h)
	h.Connected(true)
	a.log.Info("telegram: connected", "bot", a.username)
	a.b.Start(ctx) // returns when ctx ends
	return ctx.Err()
}

func (a *Adapter) update(ctx context.Context, _ *bot.Bot, u *models.Update) {
	m := u.Message
	h := a.h.Load()
	if m == nil || m.From == nil || m.From.IsBot || h == nil {
		return
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	msg := gateway.Message{
		ID:     strconv.FormatInt(u.ID, 10),
		Chat:   gateway.Chat{ID: strconv.FormatInt(m.Chat.ID, 10), Private: m.Chat.Type == models.ChatTypePrivate},
		UserID: strconv.FormatInt(m.From.ID, 10),
		Attachment: m.Photo != nil || m.Document != nil || m.Voice != nil || m.Video != nil || m.Audio != nil ||
			m.Sticker != nil || m.VideoNote != nil || m.Animation != nil,
	}
	if m.IsTopicMessage && m.MessageThreadID != 0 {
		msg.Chat.Thread = strconv.Itoa(m.MessageThreadID)
	}
	mention := "@" + a.username
	msg.ToBot = msg.Chat.Private ||
		(a.username != "" && strings.Contains(strings.ToLower(text), strings.ToLower(mention))) ||
		(m.ReplyToMessage != nil && m.ReplyToMessage.From != nil && m.ReplyToMessage.From.ID == a.botID)
	if a.username != "" {
		text = strings.ReplaceAll(text, mention, "")
	}
	msg.Text = strings.TrimSpace(text)
	(*h).Message(msg)
}

func chatParams(chat gateway.Chat) (any, int) {
	thread, _ := strconv.Atoi(chat.Thread)
	if id, err := strconv.ParseInt(chat.ID, 10, 64); err == nil {
		return id, thread
	}
	return chat.ID, thread
}

// Send posts text as a plain message.
func (a *Adapter) Send(ctx context.Context, chat gateway.Chat, text string) error {
	id, thread := chatParams(chat)
	if _, err := a.b.SendMessage(ctx, &bot.SendMessageParams{ChatID: id, MessageThreadID: thread, Text: text}); err != nil {
		return a.fail("send message", err)
	}
	return nil
}

// Typing sends the "typing" chat action.
func (a *Adapter) Typing(ctx context.Context, chat gateway.Chat) error {
	id, thread := chatParams(chat)
	if _, err := a.b.SendChatAction(ctx, &bot.SendChatActionParams{ChatID: id, MessageThreadID: thread, Action: models.ChatActionTyping}); err != nil {
		return a.fail("send typing", err)
	}
	return nil
}
