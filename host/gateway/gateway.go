// Package gateway lets people talk to the agent from chat platforms (Telegram, Discord, Slack),
// and makes sure no one else can.
//
// A platform is an [Adapter] (one package each: host/gateway/telegram, ...); a [Gateway] runs
// one adapter and decides, for every message it delivers, in this order:
//
//  1. Allowlist, fail closed: a user neither in Config.Allowed (TELEGRAM_ALLOWED_USERS, ...)
//     nor granted by pairing is a stranger. A stranger's message never reaches the model, the
//     store or a tool and gets no reply; it is counted (platform, user, time, never content) in
//     the audit log and `hermes gateway status`. The only thing a stranger can do is send a
//     pairing code in a direct message: a right one (single use, made by `hermes gateway pair`,
//     valid 10 minutes) grants them and is confirmed; a wrong, used or expired one is dropped
//     like any other message, so nothing tells whether a code exists, and after
//     MaxPairingFailures wrong codes in PairingWindow even a right one is not tried.
//  2. Group chats: only messages that mention or reply to the bot; others are ignored.
//  3. Redelivery: an update whose id was handled before is skipped.
//  4. An approval the chat's running turn waits for (see [Prompter]) is answered only by the
//     user who sent that turn's message: "/approve" runs the command, anything else denies.
//  5. Attachments are refused with a reply; /new, /stop, /status and /start are commands.
//  6. Otherwise the text is a turn in the chat's own session (source = the platform), one turn
//     per chat at a time, at most Config.MaxConcurrentTurns chats at once.
package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/host/attempts"
	"github.com/hermes-agent/hermes/store"
)

// Chat is where a message came from and where its replies go.
type Chat struct {
	ID      string // the platform's chat or channel id
	Thread  string // a thread or topic within it; "" for none
	Private bool   // a direct message with the bot
}

// key names the chat (and thread) for its session.
func (c Chat) key() string {
	if c.Thread == "" {
		return c.ID
	}
	return c.ID + "/" + c.Thread
}

// Message is one incoming message, as an adapter delivers it.
type Message struct {
	ID         string // the platform's update or event id: a redelivery carries the same
	Chat       Chat
	UserID     string // the sender's platform id
	Text       string // with the bot's mention removed
	ToBot      bool   // mentions the bot or replies to it (always true in a private chat)
	Attachment bool   // carries a file, photo, voice note, ...
}

// Adapter is one chat platform. Asking a yes/no question is done by the Gateway on top of Send
// and Receive (see Prompter), so an adapter only moves text.
type Adapter interface {
	// Platform is the platform's name: the session source and the allowlist's prefix.
	Platform() string
	// Limit is the most characters one message may carry (in the platform's units when the
	// adapter is a Measurer).
	Limit() int
	// Receive connects and hands h every incoming message until ctx ends, reconnecting with
	// backoff when the service drops, and tells h when it connects and disconnects.
	Receive(ctx context.Context, h Handler) error
	// Send posts text (at most Limit characters) to chat.
	Send(ctx context.Context, chat Chat, text string) error
	// Typing shows "typing…" in chat for a few seconds.
	Typing(ctx context.Context, chat Chat) error
}

// Handler takes what an adapter receives. Its methods may be called concurrently.
type Handler interface {
	Message(Message)
	Connected(ok bool)
}

// Runner runs one user turn in a session. *agent.Agent satisfies it.
type Runner interface {
	Run(ctx context.Context, session store.Session, userText string, onEvent func(agent.Event)) (string, error)
}

var _ Runner = (*agent.Agent)(nil)

// Store is the part of store.DB the gateway needs. *store.DB satisfies it.
type Store interface {
	CreateSession(ctx context.Context, source, profile, model, title string) (store.Session, error)
	GetSession(ctx context.Context, id string, f store.SessionFilter) (store.Session, error)
	GatewayAllowed(ctx context.Context, platform, userID string) (bool, error)
	RedeemGatewayPairing(ctx context.Context, platform, code, userID string, now time.Time) (bool, error)
	RecordGatewayDrop(ctx context.Context, platform, userID string) error
	MarkGatewayUpdate(ctx context.Context, platform, updateID string) (bool, error)
	GatewayChatSession(ctx context.Context, platform, chatKey string) (string, bool, error)
	SetGatewayChatSession(ctx context.Context, platform, chatKey, id string) error
	SetGatewayState(ctx context.Context, platform, state string) error
}

var _ Store = (*store.DB)(nil)

// Defaults for Config's zero fields.
const (
	DefaultMaxConcurrentTurns = 4
	DefaultApprovalTimeout    = 5 * time.Minute
	DefaultShutdownTimeout    = 30 * time.Second
	// PairingLifetime is how long a code made by `hermes gateway pair` is valid.
	PairingLifetime = 10 * time.Minute
	// MaxPairingFailures wrong codes from one user within PairingWindow (from their first) stop
	// their attempts until it ends. At most maxTrackedStrangers users are counted at once; when
	// that many have open windows, other strangers are refused too (a flood of accounts buys
	// no guesses nobody counts) until one ends.
	MaxPairingFailures  = 5
	PairingWindow       = 10 * time.Minute
	maxTrackedStrangers = 4096
	// typingEvery repeats "typing…", which platforms show for about five seconds.
	typingEvery = 4 * time.Second
)

// Config configures a Gateway.
type Config struct {
	// Allowed are the user ids allowed besides pairing grants (the platform's
	// *_ALLOWED_USERS). Empty: nobody but the granted.
	Allowed []string
	// Model and Backend are shown by /status; Model and Profile are recorded on sessions.
	Model, Profile, Backend string
	// MaxConcurrentTurns bounds chats running a turn at once.
	MaxConcurrentTurns int
	// ApprovalTimeout is how long a question about a dangerous command waits before denying.
	ApprovalTimeout time.Duration
	// ShutdownTimeout is how long turns may finish after Run's context ends; the rest are
	// cancelled (what they said is kept).
	ShutdownTimeout time.Duration
	// Redact is applied to error text sent to a chat; nil leaves it.
	Redact func(string) string
	// Logger gets one line per turn and per dropped message (never content), and at debug
	// level when the model starts answering a turn; nil: slog.Default().
	Logger *slog.Logger
}

// Gateway runs one adapter. It is safe for concurrent use.
type Gateway struct {
	cfg      Config
	ad       Adapter
	platform string
	runner   Runner
	st       Store
	log      *slog.Logger
	allowed  map[string]bool
	slots    chan struct{}

	stopCtx  context.Context // turns derive from it; cancelled after the shutdown grace
	stopAll  context.CancelFunc
	turns    sync.WaitGroup
	mu       sync.Mutex
	draining bool
	busy     map[string]*turn            // chat key → its running turn
	failures *attempts.Limiter           // pairing codes tried, per user
	pending  map[string]*pendingApproval // chat key → the question its turn waits on
	state    string                      // the connection state last recorded
}

// handler is the Gateway as its adapter's Handler.
type handler struct{ g *Gateway }

func (h handler) Message(m Message) { h.g.handle(m) }

func (h handler) Connected(ok bool) {
	state := "disconnected"
	if ok {
		state = "connected"
	}
	h.g.setState(state)
}

func (g *Gateway) setState(state string) {
	g.mu.Lock()
	changed := g.state != state
	g.state = state
	g.mu.Unlock()
	if !changed {
		return
	}
	g.log.Info("gateway: " + state)
	if err := g.st.SetGatewayState(context.Background(), g.platform, state); err != nil {
		g.log.Warn("gateway: record connection state", "err", err)
	}
}

// turn is one running turn of a chat.
type turn struct {
	g       *Gateway
	chat    Chat
	user    string
	cancel  context.CancelFunc
	started bool // it has one of the MaxConcurrentTurns slots (guarded by g.mu)
}

type pendingApproval struct {
	user   string
	answer chan bool
}

// New returns a gateway for adapter that runs turns with runner and keeps state in st.
func New(cfg Config, ad Adapter, runner Runner, st Store) (*Gateway, error) {
	if ad == nil || runner == nil || st == nil {
		return nil, errors.New("gateway: an adapter, a runner and a store are required")
	}
	if cfg.MaxConcurrentTurns <= 0 {
		cfg.MaxConcurrentTurns = DefaultMaxConcurrentTurns
	}
	if cfg.ApprovalTimeout <= 0 {
		cfg.ApprovalTimeout = DefaultApprovalTimeout
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Redact == nil {
		cfg.Redact = func(s string) string { return s }
	}
	g := &Gateway{
		cfg: cfg, ad: ad, platform: ad.Platform(), runner: runner, st: st, log: cfg.Logger,
		allowed: map[string]bool{}, slots: make(chan struct{}, cfg.MaxConcurrentTurns),
		busy: map[string]*turn{}, pending: map[string]*pendingApproval{},
		failures: attempts.New(MaxPairingFailures, PairingWindow, maxTrackedStrangers, attempts.RefuseNew),
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.log = g.log.With("platform", g.platform)
	for _, u := range cfg.Allowed {
		if u = strings.TrimSpace(u); u != "" {
			g.allowed[u] = true
		}
	}
	g.stopCtx, g.stopAll = context.WithCancel(context.Background())
	return g, nil
}

// ParseAllowed splits an allowlist setting ("123, 456") into ids.
func ParseAllowed(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// Run receives messages until ctx ends, then lets running turns finish for ShutdownTimeout,
// cancels the rest and returns once every turn has returned (so the caller may close the store).
func (g *Gateway) Run(ctx context.Context) error {
	err := g.ad.Receive(ctx, handler{g})
	g.mu.Lock()
	g.draining = true
	running := len(g.busy)
	g.mu.Unlock()
	if running > 0 {
		g.log.Info("gateway: stopping; letting running turns finish", "turns", running, "for", g.cfg.ShutdownTimeout)
	}
	done := make(chan struct{})
	go func() { g.turns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(g.cfg.ShutdownTimeout):
		g.log.Warn("gateway: cancelling turns still running at shutdown")
		g.stopAll()
		<-done
	}
	g.stopAll()
	g.setState("stopped")
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("gateway %s: %s", g.platform, g.cfg.Redact(err.Error()))
	}
	return nil
}

// CancelTurns cancels every running turn now rather than letting it finish (a second
// SIGTERM); each says so in its chat and keeps what was said. Meant for after Run's context
// ended: turns started later are cancelled at once too.
func (g *Gateway) CancelTurns() {
	g.log.Info("gateway: cancelling running turns")
	g.stopAll()
}

// reply sends text to chat, split at the platform's limit. It outlives the turn's context, so
// a cancelled turn still says so.
func (g *Gateway) reply(chat Chat, text string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, part := range SplitWidth(text, g.ad.Limit(), widthOf(g.ad)) {
		if err := g.ad.Send(ctx, chat, part); err != nil {
			g.log.Warn("gateway: send reply", "err", g.cfg.Redact(err.Error()))
			return
		}
	}
}

func (g *Gateway) isAllowed(ctx context.Context, user string) (bool, error) {
	if g.allowed[user] {
		return true, nil
	}
	return g.st.GatewayAllowed(ctx, g.platform, user)
}

// codeRe is a pairing code as `hermes gateway pair` prints it, alone or after /start or /pair.
var codeRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)^(?:/(?:start|pair)(?:@\S+)?\s+)?([A-Z2-9]{4}-[A-Z2-9]{4})$`)
})

func (g *Gateway) handle(m Message) {
	ctx := context.Background()
	if m.UserID == "" {
		return
	}
	ok, err := g.isAllowed(ctx, m.UserID)
	if err != nil {
		g.log.Error("gateway: check allowlist; message dropped", "err", err)
		return
	}
	if !ok {
		if m.Chat.Private && g.pair(ctx, m) {
			return
		}
		g.log.Info("gateway: dropped a message from a user not allowed", "user", m.UserID)
		if err := g.st.RecordGatewayDrop(ctx, g.platform, m.UserID); err != nil {
			g.log.Error("gateway: count dropped message", "err", err)
		}
		return
	}
	if !m.Chat.Private && !m.ToBot {
		return
	}
	if m.ID != "" {
		first, err := g.st.MarkGatewayUpdate(ctx, g.platform, m.ID)
		if err != nil {
			g.log.Error("gateway: record update; message dropped", "err", err)
			return
		}
		if !first {
			g.log.Info("gateway: skipped a redelivered update", "update", m.ID)
			return
		}
	}
	key := m.Chat.key()
	text := strings.TrimSpace(m.Text)
	g.mu.Lock()
	p := g.pending[key]
	if p != nil && p.user == m.UserID {
		delete(g.pending, key)
	}
	g.mu.Unlock()
	if p != nil {
		if p.user != m.UserID {
			g.reply(m.Chat, "Only the user whose message started this turn can answer its question.")
			return
		}
		p.answer <- command(text) == "/approve"
		return
	}
	if m.Attachment {
		g.reply(m.Chat, "Attachments are not supported: send your request as text.")
		return
	}
	switch command(text) {
	case "/start", "/help":
		g.reply(m.Chat, "Send a message to talk to the agent. /new starts a fresh session, /stop cancels the running turn, /status shows the model and backend.")
		return
	case "/new":
		g.newSession(ctx, m.Chat)
		return
	case "/stop":
		g.mu.Lock()
		t := g.busy[key]
		g.mu.Unlock()
		if t == nil {
			g.reply(m.Chat, "Nothing is running.")
			return
		}
		t.cancel()
		return
	case "/status":
		g.mu.Lock()
		t := g.busy[key]
		state := "idle"
		switch {
		case t != nil && t.started:
			state = "running a turn"
		case t != nil:
			state = fmt.Sprintf("waiting for a free turn (at most %d chats run one at once)", g.cfg.MaxConcurrentTurns)
		}
		g.mu.Unlock()
		g.reply(m.Chat, fmt.Sprintf("model %s, backend %s, %s", g.cfg.Model, g.cfg.Backend, state))
		return
	}
	if text == "" {
		return
	}
	g.startTurn(m.Chat, m.UserID, text)
}

// command is the command a message's text is ("/new@mybot" is "/new"), or "".
func command(text string) string {
	if !strings.HasPrefix(text, "/") || strings.ContainsAny(text, " \n\t") {
		return ""
	}
	c, _, _ := strings.Cut(text, "@")
	return strings.ToLower(c)
}

// pair tries a stranger's direct message as a pairing code; true when it was one and it
// granted them. A failure is never told apart from any other dropped message.
func (g *Gateway) pair(ctx context.Context, m Message) bool {
	match := codeRe().FindStringSubmatch(strings.TrimSpace(m.Text))
	if match == nil {
		return false
	}
	code := strings.ToUpper(match[1])
	now := time.Now()
	if ok, _, _ := g.failures.Try(m.UserID, now); !ok {
		return false
	}
	ok, err := g.st.RedeemGatewayPairing(ctx, g.platform, code, m.UserID, now)
	if err != nil {
		g.log.Error("gateway: redeem pairing code", "err", err)
		return false
	}
	if !ok {
		return false // the attempt stays counted
	}
	g.failures.Forget(m.UserID)
	g.log.Info("gateway: user paired", "user", m.UserID)
	g.reply(m.Chat, "Paired: you can talk to the agent now. Send /new at any time to start a fresh session.")
	return true
}

func (g *Gateway) newSession(ctx context.Context, chat Chat) {
	if _, err := g.createSession(ctx, chat); err != nil {
		g.log.Error("gateway: new session", "err", err)
		g.reply(chat, "Could not start a new session; see the gateway's log.")
		return
	}
	g.reply(chat, "New session started.")
}

func (g *Gateway) createSession(ctx context.Context, chat Chat) (store.Session, error) {
	s, err := g.st.CreateSession(ctx, g.platform, g.cfg.Profile, g.cfg.Model, "")
	if err != nil {
		return store.Session{}, err
	}
	if err := g.st.SetGatewayChatSession(ctx, g.platform, chat.key(), s.ID); err != nil {
		return store.Session{}, err
	}
	return s, nil
}

// session is the chat's session: its own, never another chat's, nor another source's.
func (g *Gateway) session(ctx context.Context, chat Chat) (store.Session, error) {
	id, ok, err := g.st.GatewayChatSession(ctx, g.platform, chat.key())
	if err != nil {
		return store.Session{}, err
	}
	if ok {
		s, err := g.st.GetSession(ctx, id, store.SessionFilter{Source: g.platform})
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Session{}, err
		}
	}
	return g.createSession(ctx, chat)
}

// turnKey carries the running turn to the Prompter.
type turnKey struct{}

func (g *Gateway) startTurn(chat Chat, user, text string) {
	key := chat.key()
	g.mu.Lock()
	if g.draining {
		g.mu.Unlock()
		g.reply(chat, "hermes is shutting down; send this again once it is back.")
		return
	}
	if g.busy[key] != nil {
		g.mu.Unlock()
		g.reply(chat, "Still working on your last message; /stop cancels it.")
		return
	}
	ctx, cancel := context.WithCancel(g.stopCtx)
	t := &turn{g: g, chat: chat, user: user, cancel: cancel}
	g.busy[key] = t
	g.turns.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.turns.Done()
		// The chat is free again before its answer is sent, so a message sent right after the
		// answer starts a new turn rather than hearing "Still working".
		answer := "Stopped."
		select {
		case g.slots <- struct{}{}:
			g.mu.Lock()
			t.started = true
			g.mu.Unlock()
			answer = g.runTurn(context.WithValue(ctx, turnKey{}, t), t, text)
			<-g.slots
		case <-ctx.Done():
		}
		cancel()
		g.mu.Lock()
		delete(g.busy, key)
		g.mu.Unlock()
		g.reply(chat, answer)
	}()
}

// runTurn runs the turn and returns what to answer.
func (g *Gateway) runTurn(ctx context.Context, t *turn, text string) string {
	typingDone := make(chan struct{})
	go func() {
		tick := time.NewTicker(typingEvery)
		defer tick.Stop()
		for {
			if err := g.ad.Typing(ctx, t.chat); err != nil && ctx.Err() == nil {
				g.log.Debug("gateway: typing", "err", g.cfg.Redact(err.Error()))
			}
			select {
			case <-tick.C:
			case <-typingDone:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	defer close(typingDone)

	s, err := g.session(ctx, t.chat)
	if err != nil && ctx.Err() != nil {
		return "Stopped."
	}
	if err != nil {
		g.log.Error("gateway: open the chat's session", "err", err)
		return "Could not open this chat's session; see the gateway's log."
	}
	start := time.Now()
	answering := false
	onEvent := func(e agent.Event) { // on Run's goroutine, one at a time
		if e.Kind == agent.EventText && !answering {
			answering = true
			g.log.Debug("gateway: the model is answering", "session", s.ID, "after", time.Since(start).Round(time.Millisecond))
		}
	}
	answer, err := g.runner.Run(ctx, s, text, onEvent)
	g.log.Info("gateway: turn", "session", s.ID, "took", time.Since(start).Round(time.Millisecond), "ok", err == nil)
	switch {
	case err != nil && ctx.Err() != nil && g.stopCtx.Err() != nil:
		return "Stopped: hermes is shutting down. What was said is kept."
	case err != nil && ctx.Err() != nil:
		return "Stopped."
	case err != nil:
		return "The turn failed: " + g.cfg.Redact(err.Error())
	case strings.TrimSpace(answer) == "":
		return "(no answer)"
	default:
		return answer
	}
}

// NewPairingCode makes a code in the form the gateway recognises ("K7QM-3XTP"): 40 random bits
// from an alphabet without look-alike characters.
func NewPairingCode() string {
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}
