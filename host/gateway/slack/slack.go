// Package slack is the gateway's Slack adapter: Socket Mode (an outbound websocket opened with
// the app-level token, SLACK_APP_TOKEN) for events, and the Web API with the bot token
// (SLACK_BOT_TOKEN) for replies, both through github.com/slack-go/slack. Every error this
// package returns or logs has both tokens replaced by "[redacted]".
//
// What reaches the gateway:
//   - message events (message.im, message.channels, message.groups, message.mpim) and
//     app_mention events. A message in a direct message ("im") is private; elsewhere it is for
//     the bot when it mentions it (<@BOT>) or is in a thread the bot started. Slack sends a
//     mention twice when the app subscribes to both kinds; the copy (same channel and ts) is
//     dropped here, as is an event Slack retries.
//   - a message in a thread is its own chat (its own session) and is answered in that thread;
//     a message outside threads is answered in the channel.
//   - slash commands: "/hermes approve" is the message "/approve" (any "/hermes WORD REST" is
//     "/WORD REST"); another command ("/approve") is its own name. Slack's clients send a
//     message that starts with "/" as a command, so this is how /approve, /deny, /new, /stop
//     and /status are typed in a direct message; in a channel "@hermes /approve" works too.
//     Slash commands carry no thread: in a thread, answer with "@hermes /approve".
//   - messages with files are refused (the gateway says so); edits, deletions, joins and bot
//     messages are ignored.
//
// Replies are posted as text with &, < and > escaped, so the agent's answer can never ping
// @channel or a user, and split at 3000 characters (see [Limit]). Slack has no "typing…" for
// apps: while a turn runs, the message that started it gets an :eyes: reaction.
package slack

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/hermes-agent/hermes/host/gateway"
)

// Platform is the adapter's name and its sessions' source.
const Platform = "slack"

// Limit is the most characters of one reply. Slack truncates a message's text at 40,000
// characters, advises keeping it under 4,000, and a section block holds 3,000: 3,000 fits
// however Slack shows it, and escaping (&, <, > take 4-5 characters) stays far below 40,000.
const Limit = 3000

// DefaultAPIURL is Slack's Web API.
const DefaultAPIURL = "https://slack.com/api/"

// Reaction is the emoji added to the message a running turn answers.
const Reaction = "eyes"

// seenMax bounds the (channel, ts) pairs remembered to drop copies of a message, and the
// chats remembered for the reaction.
const seenMax = 4096

// ReadLimit bounds one Socket Mode message. Slack's largest events (a 40,000-character
// message with its blocks) are far smaller; a bigger one ends the connection, which is opened
// again.
const ReadLimit = 4 << 20

// Adapter talks to one Slack app.
type Adapter struct {
	botToken, appToken string
	api                *slack.Client
	log                *slog.Logger
	// backoff bounds the wait between attempts to reach the Web API before connecting; the
	// client library backs off reconnecting the websocket itself.
	backoff time.Duration

	botUser string // the bot's user id, from auth.test

	seen     map[string]bool // channel/ts of recent messages; used by Receive's goroutine only
	seenList []string

	mu      sync.Mutex
	last    map[string]string // chat key → ts of the last message for the bot there
	reacted map[string]bool   // channel/ts already given the reaction
}

var _ gateway.Adapter = (*Adapter)(nil)

// New makes an adapter for the app with botToken (xoxb-…) and appToken (xapp-…, with the
// connections:write scope) at apiURL ("" is Slack's own). It does not connect: Receive does.
func New(botToken, appToken, apiURL string, logger *slog.Logger) (*Adapter, error) {
	if botToken == "" {
		return nil, errors.New("slack: SLACK_BOT_TOKEN is not set; install the app to the workspace, copy its Bot User OAuth Token (xoxb-…) and run: hermes config set SLACK_BOT_TOKEN <token>")
	}
	if appToken == "" {
		return nil, errors.New("slack: SLACK_APP_TOKEN is not set; enable Socket Mode, make an app-level token with connections:write (xapp-…) and run: hermes config set SLACK_APP_TOKEN <token>")
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	if logger == nil {
		logger = slog.Default()
	}
	a := &Adapter{
		botToken: botToken, appToken: appToken, log: logger.With("platform", Platform), backoff: 5 * time.Second,
		seen: map[string]bool{}, last: map[string]string{}, reacted: map[string]bool{},
	}
	a.api = slack.New(botToken,
		slack.OptionAPIURL(apiURL),
		slack.OptionAppLevelToken(appToken),
		slack.OptionHTTPClient(&http.Client{Timeout: time.Minute}),
		// Past a channel's rate (about one message a second) Slack answers 429 with Retry-After:
		// a long reply's parts wait and go rather than being lost. After OptionHTTPClient, which
		// it wraps.
		slack.OptionRetry(3),
		slack.OptionLog(log.New(io.Discard, "", 0)),
	)
	return a, nil
}

func (a *Adapter) redact(err error) string {
	s := err.Error()
	for _, t := range []string{a.botToken, a.appToken} {
		s = strings.ReplaceAll(s, t, "[redacted]")
	}
	return s
}

func (a *Adapter) fail(what string, err error) error {
	return errors.New("slack: " + what + ": " + a.redact(err))
}

// authError reports whether err is Slack refusing a token, which no retry will change.
func authError(err error) bool {
	switch err.Error() {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type":
		return true
	}
	return false
}

// Platform is "slack".
func (a *Adapter) Platform() string { return Platform }

// Limit is 3000.
func (a *Adapter) Limit() int { return Limit }

// Receive learns the bot's user id (auth.test, retried with backoff), then holds the Socket
// Mode connection until ctx ends; the client library reconnects when Slack asks to or the
// connection drops. A refused token ends it with an error saying which.
func (a *Adapter) Receive(ctx context.Context, h gateway.Handler) error {
	wait := 100 * time.Millisecond
	for {
		me, err := a.api.AuthTestContext(ctx)
		if err == nil {
			a.botUser = me.UserID
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if authError(err) {
			return errors.New("slack: SLACK_BOT_TOKEN was refused (" + a.redact(err) + "); copy the Bot User OAuth Token again and run: hermes config set SLACK_BOT_TOKEN <token>")
		}
		a.log.Warn("slack: cannot reach the Web API; retrying", "err", a.redact(err), "in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, a.backoff)
	}
	client := socketmode.New(a.api, socketmode.OptionLog(log.New(io.Discard, "", 0)), socketmode.OptionReadLimit(ReadLimit))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-ran:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			h.Connected(false)
			if authError(err) {
				return errors.New("slack: SLACK_APP_TOKEN was refused (" + a.redact(err) + "); make an app-level token with connections:write and run: hermes config set SLACK_APP_TOKEN <token>")
			}
			return a.fail("socket mode", err)
		case ev := <-client.Events:
			a.event(ctx, client, ev, h)
		}
	}
}

// event handles one thing the Socket Mode client reports, in the order they came.
func (a *Adapter) event(ctx context.Context, client *socketmode.Client, ev socketmode.Event, h gateway.Handler) {
	switch ev.Type {
	case socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage:
		// A frame that could not be read; the library keeps the connection when it can and
		// reconnects (Connecting) when it cannot.
		return
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth:
		h.Connected(false)
		if e, ok := ev.Data.(*slack.ConnectionErrorEvent); ok && e.ErrorObj != nil {
			a.log.Warn("slack: cannot connect; retrying with backoff", "err", a.redact(e.ErrorObj), "in", e.Backoff)
		}
		return
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		h.Connected(true)
		return
	}
	if ev.Request == nil || ev.Request.EnvelopeID == "" {
		return
	}
	// Slack wants every envelope acknowledged within 3 seconds, or it sends it again: ack
	// first, then hand the message on (the gateway's handling is quick; turns run on their
	// own goroutines).
	if err := client.AckCtx(ctx, ev.Request.EnvelopeID, nil); err != nil {
		a.log.Warn("slack: acknowledge an event", "err", a.redact(err))
	}
	switch ev.Type {
	case socketmode.EventTypeEventsAPI:
		e, ok := ev.Data.(slackevents.EventsAPIEvent)
		if !ok {
			return
		}
		var m *gateway.Message
		switch in := e.InnerEvent.Data.(type) {
		case *slackevents.MessageEvent:
			m = a.message(in)
		case *slackevents.AppMentionEvent:
			m = a.mention(in)
		}
		if m != nil {
			h.Message(*m)
		}
	case socketmode.EventTypeSlashCommand:
		if cmd, ok := ev.Data.(slack.SlashCommand); ok {
			h.Message(a.command(cmd, ev.Request.EnvelopeID))
		}
	}
}

// firstTime reports whether the message channel/ts was not seen before, and remembers it.
func (a *Adapter) firstTime(channel, ts string) bool {
	k := channel + "/" + ts
	if a.seen[k] {
		return false
	}
	a.seen[k] = true
	a.seenList = append(a.seenList, k)
	if len(a.seenList) > seenMax {
		delete(a.seen, a.seenList[0])
		a.seenList = a.seenList[1:]
	}
	return true
}

// text is a message's text as the user wrote it: the bot's mention removed, Slack's escapes
// undone; and whether it mentioned the bot.
func (a *Adapter) text(s string) (string, bool) {
	mentioned := false
	if a.botUser != "" {
		mention := "<@" + a.botUser
		var out strings.Builder
		for {
			i := strings.Index(s, mention)
			if i < 0 {
				break
			}
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				break
			}
			if rest := s[i+len(mention) : i+j]; rest != "" && rest[0] != '|' { // another user whose id starts with the bot's
				out.WriteString(s[:i+j+1])
			} else {
				mentioned = true
				out.WriteString(s[:i])
			}
			s = s[i+j+1:]
		}
		out.WriteString(s)
		s = out.String()
	}
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	return strings.TrimSpace(s), mentioned
}

func (a *Adapter) message(e *slackevents.MessageEvent) *gateway.Message {
	msg := e.Message
	if msg == nil {
		return nil
	}
	switch e.SubType {
	case "", "thread_broadcast", "file_share":
	default: // edits, deletions, joins, bot messages, ...
		return nil
	}
	if e.User == "" || e.User == a.botUser || e.BotID != "" || !a.firstTime(e.Channel, e.TimeStamp) {
		return nil
	}
	text, mentioned := a.text(e.Text)
	private := e.ChannelType == slackevents.ChannelTypeIM
	m := &gateway.Message{
		ID:         e.Channel + "/" + e.TimeStamp,
		Chat:       gateway.Chat{ID: e.Channel, Thread: e.ThreadTimeStamp, Private: private},
		UserID:     e.User,
		Text:       text,
		ToBot:      private || mentioned || (e.ThreadTimeStamp != "" && msg.ParentUserId == a.botUser && a.botUser != ""),
		Attachment: e.SubType == "file_share" || len(msg.Files) > 0 || msg.Upload,
	}
	a.remember(m, e.TimeStamp)
	return m
}

func (a *Adapter) mention(e *slackevents.AppMentionEvent) *gateway.Message {
	if e.User == "" || e.User == a.botUser || e.BotID != "" || e.Edited != nil || !a.firstTime(e.Channel, e.TimeStamp) {
		return nil
	}
	text, _ := a.text(e.Text)
	m := &gateway.Message{
		ID:         e.Channel + "/" + e.TimeStamp,
		Chat:       gateway.Chat{ID: e.Channel, Thread: e.ThreadTimeStamp, Private: strings.HasPrefix(e.Channel, "D")},
		UserID:     e.User,
		Text:       text,
		ToBot:      true,
		Attachment: len(e.Files) > 0 || e.Upload,
	}
	a.remember(m, e.TimeStamp)
	return m
}

// remember keeps the ts of the last message for the bot in its chat, for the reaction.
func (a *Adapter) remember(m *gateway.Message, ts string) {
	if !m.ToBot {
		return
	}
	a.mu.Lock()
	if len(a.last) >= seenMax { // strangers' mentions in many threads must not grow it
		clear(a.last)
	}
	a.last[chatKey(m.Chat)] = ts
	a.mu.Unlock()
}

func (a *Adapter) command(c slack.SlashCommand, envelope string) gateway.Message {
	text := strings.TrimSpace(c.Text)
	cmd := strings.ToLower(c.Command)
	if cmd == "/hermes" {
		word, rest, _ := strings.Cut(text, " ")
		cmd, text = "/"+strings.TrimPrefix(word, "/"), strings.TrimSpace(rest)
		if word == "" {
			cmd = "/help"
		}
	}
	id := c.TriggerID // one per invocation, the same if Slack sends it again
	if id == "" {
		id = envelope
	}
	return gateway.Message{
		ID:     "command/" + id,
		Chat:   gateway.Chat{ID: c.ChannelID, Private: strings.HasPrefix(c.ChannelID, "D")},
		UserID: c.UserID,
		Text:   strings.TrimSpace(cmd + " " + text),
		ToBot:  true,
	}
}

func chatKey(c gateway.Chat) string { return c.ID + "/" + c.Thread }

// Send posts text, escaped, in the chat's channel (and thread).
func (a *Adapter) Send(ctx context.Context, chat gateway.Chat, text string) error {
	opts := []slack.MsgOption{slack.MsgOptionText(text, true), slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl()}
	if chat.Thread != "" {
		opts = append(opts, slack.MsgOptionTS(chat.Thread))
	}
	if _, _, err := a.api.PostMessageContext(ctx, chat.ID, opts...); err != nil {
		return a.fail("post message", err)
	}
	return nil
}

// Typing adds the :eyes: reaction to the last message for the bot in chat, once.
func (a *Adapter) Typing(ctx context.Context, chat gateway.Chat) error {
	a.mu.Lock()
	ts := a.last[chatKey(chat)]
	k := chat.ID + "/" + ts
	done := ts == "" || a.reacted[k]
	a.reacted[k] = true
	if len(a.reacted) > seenMax {
		clear(a.reacted)
		a.reacted[k] = true
	}
	a.mu.Unlock()
	if done {
		return nil
	}
	err := a.api.AddReactionContext(ctx, Reaction, slack.NewRefToMessage(chat.ID, ts))
	if err != nil && err.Error() != "already_reacted" {
		return a.fail("add reaction", err)
	}
	return nil
}
