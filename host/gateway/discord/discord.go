// Package discord is the gateway's Discord adapter: the gateway websocket for incoming
// messages and the REST API for replies, with github.com/bwmarrin/discordgo v0.28.1.
//
// Pointing it at another server (gateway.discord.api_url, a test's fake): discordgo builds
// every REST URL from package-level variables (discordgo.EndpointAPI and the endpoints made from
// it at init). Assigning them would change every Session in the process and race with any
// request in flight, so this package never does. Instead each Adapter's Session gets its own
// http.Client whose transport moves a request under discordgo's built-in EndpointAPI to the
// same path under api_url, and refuses any request outside it (the token is sent with every
// request, so it goes nowhere else). The websocket address is whatever GET /gateway at api_url
// answers, as with Discord itself. discordgo's own websocket dialer (websocket.DefaultDialer, a
// shared value) and logger (the standard log package, outside slog and the redactor) are not
// used either: the Session gets its own dialer and its logging is off; this package logs what
// matters through slog, with the token replaced by "[redacted]".
//
// Reconnecting is done here rather than by discordgo (whose loop cannot be stopped): when the
// connection drops, a heartbeat goes unacknowledged or Discord asks for a reconnect (op 7),
// Receive opens it again with backoff, and discordgo resumes the session (op 6) so the messages
// sent meanwhile are replayed; a message seen twice is skipped by the gateway by its id.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/hermes-agent/hermes/host/gateway"
)

// Platform is the adapter's name and its sessions' source.
const Platform = "discord"

// Limit is the most characters of one Discord message. Discord counts code points (its API
// measures strings as Python does), as gateway.Split does by default.
const Limit = 2000

// DefaultAPIURL is Discord's REST API.
const DefaultAPIURL = "https://discord.com/api/v10"

// Intents are the gateway events the bot asks for: messages in servers and in direct
// messages, with their text. Message Content is a privileged intent: it must be switched on
// for the bot in Discord's developer portal, or every message arrives empty.
const Intents = discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages | discordgo.IntentsMessageContent

// Adapter talks to one bot.
type Adapter struct {
	token string
	s     *discordgo.Session
	log   *slog.Logger
	// backoff bounds the wait between attempts to reach Discord.
	backoff time.Duration

	botID string
	h     atomic.Pointer[gateway.Handler] // set by Receive
	down  chan struct{}                   // a value when the connection was closed

	mu   sync.Mutex
	sock net.Conn // the gateway connection's socket, last dialled
}

// openTimeout bounds connecting to the gateway: the handshake, HELLO and READY. A server
// that accepts the websocket and then says nothing has its socket closed.
const openTimeout = 30 * time.Second

// dial is the websocket dialer's: it keeps the socket so Receive can cut a connection attempt
// that hangs.
func (a *Adapter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: openTimeout}).DialContext(ctx, network, addr)
	if err == nil {
		a.mu.Lock()
		a.sock = c
		a.mu.Unlock()
	}
	return c, err
}

// cut closes the last dialled socket.
func (a *Adapter) cut() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sock != nil {
		a.sock.Close()
	}
}

// open opens the gateway connection, or gives up when ctx ends or it takes openTimeout.
func (a *Adapter) open(ctx context.Context) error {
	opened := make(chan error, 1)
	go func() { opened <- a.s.Open() }()
	t := time.NewTimer(openTimeout)
	defer t.Stop()
	select {
	case err := <-opened:
		return err
	case <-ctx.Done():
		a.cut()
		<-opened
		return ctx.Err()
	case <-t.C:
		a.cut()
		if err := <-opened; err != nil {
			return fmt.Errorf("no HELLO and READY within %s: %w", openTimeout, err)
		}
		return nil
	}
}

var _ gateway.Adapter = (*Adapter)(nil)

// rebase is the Session's transport: requests under from go to the same path under to.
type rebase struct {
	from string
	to   *url.URL
	rt   http.RoundTripper
}

func (b rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	rest, ok := strings.CutPrefix(r.URL.String(), b.from)
	if !ok {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("discord: refused a request outside the API to %s", r.URL.Host)
	}
	u, err := b.to.Parse(strings.TrimSuffix(b.to.Path, "/") + "/" + rest)
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("discord: request path: %w", err)
	}
	r = r.Clone(r.Context())
	r.URL, r.Host = u, ""
	return b.rt.RoundTrip(r)
}

// New makes an adapter for the bot with token at apiURL ("" is Discord's own). It does not
// connect: Receive does.
func New(token, apiURL string, log *slog.Logger) (*Adapter, error) {
	token = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(token), "Bot "))
	if token == "" {
		return nil, errors.New("discord: DISCORD_BOT_TOKEN is not set; make a bot in Discord's developer portal (Bot, Reset Token) and run: hermes config set DISCORD_BOT_TOKEN <token>")
	}
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	base, err := url.Parse(apiURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("discord: gateway.discord.api_url %q is not an http(s) URL; set it with: hermes config set gateway.discord.api_url %s", apiURL, DefaultAPIURL)
	}
	if log == nil {
		log = slog.Default()
	}
	s, err := discordgo.New("Bot " + token)
	if err != nil {
		return nil, errors.New("discord: " + strings.ReplaceAll(err.Error(), token, "[redacted]"))
	}
	a := &Adapter{token: token, s: s, log: log.With("platform", Platform), backoff: 5 * time.Second, down: make(chan struct{}, 1)}
	s.Client = &http.Client{Timeout: 30 * time.Second, Transport: rebase{from: discordgo.EndpointAPI, to: base, rt: http.DefaultTransport}}
	s.Dialer = &websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: openTimeout, NetDialContext: a.dial}
	s.LogLevel = -1 // below LogError: discordgo logs nothing
	s.ShouldReconnectOnError = false
	s.ShouldReconnectVoiceOnSessionError = false
	s.StateEnabled = false
	// In order: the gateway's handling is quick (turns run on their own goroutines), and an
	// answer to an approval must not overtake the message before it.
	s.SyncEvents = true
	s.Identify.Intents = Intents
	return a, nil
}

func (a *Adapter) redact(err error) string {
	return strings.ReplaceAll(err.Error(), a.token, "[redacted]")
}

func (a *Adapter) fail(what string, err error) error {
	return errors.New("discord: " + what + ": " + a.redact(err))
}

// Platform is "discord".
func (a *Adapter) Platform() string { return Platform }

// Limit is 2000.
func (a *Adapter) Limit() int { return Limit }

// sleep waits d or until ctx ends; false when it ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Receive learns the bot's id (GET /users/@me, retried with backoff), then keeps the gateway
// connection open until ctx ends, opening it again with backoff whenever it closes.
func (a *Adapter) Receive(ctx context.Context, h gateway.Handler) error {
	wait := 100 * time.Millisecond
	for {
		me, err := a.s.User("@me", discordgo.WithContext(ctx))
		if err == nil {
			a.botID = me.ID
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var rest *discordgo.RESTError
		if errors.As(err, &rest) && rest.Response != nil && rest.Response.StatusCode == http.StatusUnauthorized {
			return errors.New("discord: the bot token was refused (401 Unauthorized); copy it again from Discord's developer portal and run: hermes config set DISCORD_BOT_TOKEN <token>")
		}
		a.log.Warn("discord: cannot reach the API; retrying", "err", a.redact(err), "in", wait)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(wait*2, a.backoff)
	}
	a.h.Store(&h)
	defer a.s.AddHandler(a.message)()
	defer a.s.AddHandler(func(*discordgo.Session, *discordgo.Connect) { h.Connected(true) })()
	defer a.s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) {
		select {
		case a.down <- struct{}{}:
		default:
		}
	})()
	wait = 100 * time.Millisecond
	for {
		select {
		case <-a.down: // from an earlier connection
		default:
		}
		err := a.open(ctx)
		if ctx.Err() != nil {
			a.s.Close()
			return ctx.Err()
		}
		if err == nil || errors.Is(err, discordgo.ErrWSAlreadyOpen) {
			if err == nil {
				a.log.Info("discord: connected", "bot", a.botID)
			}
			wait = 100 * time.Millisecond
			select {
			case <-ctx.Done():
				a.s.Close()
				return ctx.Err()
			case <-a.down:
				h.Connected(false)
				a.log.Warn("discord: gateway connection closed; reconnecting")
				continue
			}
		}
		h.Connected(false)
		a.log.Warn("discord: cannot connect to the gateway; retrying", "err", a.redact(err), "in", wait)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		wait = min(wait*2, a.backoff)
	}
}

func (a *Adapter) message(_ *discordgo.Session, m *discordgo.MessageCreate) {
	h := a.h.Load()
	if m.Message == nil || m.Author == nil || m.Author.ID == a.botID || h == nil {
		return // its own replies come back as MESSAGE_CREATE too
	}
	msg := gateway.Message{
		ID:         m.ID,
		Chat:       gateway.Chat{ID: m.ChannelID, Private: m.GuildID == ""},
		UserID:     m.Author.ID,
		Attachment: len(m.Attachments) > 0 || len(m.StickerItems) > 0,
	}
	mentioned := false
	for _, u := range m.Mentions {
		if u != nil && u.ID == a.botID {
			mentioned = true
		}
	}
	replied := m.ReferencedMessage != nil && m.ReferencedMessage.Author != nil && m.ReferencedMessage.Author.ID == a.botID
	msg.ToBot = msg.Chat.Private || mentioned || replied
	text := strings.NewReplacer("<@"+a.botID+">", "", "<@!"+a.botID+">", "").Replace(m.Content)
	msg.Text = strings.TrimSpace(text)
	(*h).Message(msg)
}

// noMentions lets a reply ping nobody: the model's text may say @everyone or <@id>.
var noMentions = &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}

// Send posts text as a plain message that mentions nobody.
func (a *Adapter) Send(ctx context.Context, chat gateway.Chat, text string) error {
	if _, err := a.s.ChannelMessageSendComplex(chat.ID, &discordgo.MessageSend{Content: text, AllowedMentions: noMentions}, discordgo.WithContext(ctx)); err != nil {
		return a.fail("send message", err)
	}
	return nil
}

// Typing shows "typing…" in the channel (Discord shows it for 10 seconds).
func (a *Adapter) Typing(ctx context.Context, chat gateway.Chat) error {
	if err := a.s.ChannelTyping(chat.ID, discordgo.WithContext(ctx)); err != nil {
		return a.fail("send typing", err)
	}
	return nil
}
