// Package gatewaytest is the conformance test every gateway adapter passes: the gateway's
// rules (allowlist, pairing, sessions, approvals, redelivery, reconnection, splitting) run
// against a fake of the platform's service, driven by the adapter's real client library, with
// a real store, a real agent on the local backend and a scripted model.
package gatewaytest

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/host/agent/modeltest"
	"github.com/hermes-agent/hermes/host/gateway"
	"github.com/hermes-agent/hermes/sandbox/approval"
	"github.com/hermes-agent/hermes/sandbox/classify"
	"github.com/hermes-agent/hermes/sandbox/local"
	"github.com/hermes-agent/hermes/store"
)

// Incoming is a message a fake delivers to the bot. Chat and User are numeric strings.
type Incoming struct {
	Chat, User string
	Group      bool // a group chat (Private otherwise)
	ToBot      bool // mentions or replies to the bot
	Attachment bool
	Text       string
}

// Outgoing is a message the bot sent.
type Outgoing struct{ Chat, Text string }

// Fake is one platform's fake service, started for one test.
type Fake interface {
	// Adapter is the platform's adapter, connected to the fake.
	Adapter(t *testing.T) gateway.Adapter
	// Push delivers m; redeliver delivers it again with the same update id.
	Push(m Incoming) (redeliver func())
	// Drop cuts the connection to the bot and returns once it was cut.
	Drop(t *testing.T)
	// Next waits for the next message the bot sent.
	Next(t *testing.T) Outgoing
	// Typed waits for the next "typing…" the bot showed and returns its chat.
	Typed(t *testing.T) string
}

// Users the conformance test uses: Owner and Friend are allowed, Stranger is not.
const (
	Owner    = "42"
	Friend   = "43"
	Stranger = "666"
)

// model is the scripted model: "run: CMD" asks for the terminal, "long: N" answers N
// characters in lines (of LongLine; "wide: N" of WideLine), "hold" waits for the request to go
// away, "block" waits for a value on release; a tool result is answered "The tool says:
// RESULT"; anything else is echoed.
type model struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int // last user text → requests
	all  int
	// held receives one value for every "hold" request, once it is being held.
	held chan struct{}
	// blocked receives one value for every "block" request, once it waits; each value sent
	// to release lets one answer "unblocked".
	blocked, release      chan struct{}
	inFlight, maxInFlight int // "block" requests waiting now, and at most
}

func newModel(t *testing.T) *model {
	m := &model{seen: map[string]int{}, held: make(chan struct{}, 16), blocked: make(chan struct{}, 16), release: make(chan struct{}, 16)}
	m.Server = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.Close)
	return m
}

func (m *model) count(text string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if text == "" {
		return m.all
	}
	return m.seen[text]
}

// LongLine is the line "long: N" answers are made of (100 characters with its newline).
var LongLine = strings.Repeat("x", 99) + "\n"

// WideLine is the line "wide: N" answers are made of: 50 characters with its newline, 49 of
// them above U+FFFF (two UTF-16 code units each).
var WideLine = strings.Repeat("😀", 49) + "\n"

func (m *model) serve(w http.ResponseWriter, r *http.Request) {
	msgs, ok := modeltest.ReadRequest(w, r)
	if !ok {
		return
	}
	last := msgs[len(msgs)-1]
	text := last.Text()
	m.mu.Lock()
	m.all++
	if last.Role == "user" {
		m.seen[text]++
	}
	m.mu.Unlock()
	s := modeltest.NewStream(w)
	switch {
	case last.Role == "tool":
		s.Say("The tool says: ", text)
	case strings.HasPrefix(text, "run: "):
		s.CallTool("terminal", map[string]string{"command": strings.TrimPrefix(text, "run: ")})
	case strings.HasPrefix(text, "long: "):
		n, _ := strconv.Atoi(strings.TrimPrefix(text, "long: "))
		s.Say(strings.Repeat(LongLine, n/len(LongLine)))
	case strings.HasPrefix(text, "wide: "):
		n, _ := strconv.Atoi(strings.TrimPrefix(text, "wide: "))
		s.Say(strings.Repeat(WideLine, n/utf8.RuneCountInString(WideLine)))
	case text == "block":
		m.mu.Lock()
		m.inFlight++
		m.maxInFlight = max(m.maxInFlight, m.inFlight)
		m.mu.Unlock()
		m.blocked <- struct{}{}
		select {
		case <-m.release:
		case <-r.Context().Done():
		}
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
		if r.Context().Err() != nil {
			return
		}
		s.Say("unblocked")
	case text == "hold":
		s.Chunk(map[string]any{"role": "assistant", "content": "holding "}, nil)
		m.held <- struct{}{}
		<-r.Context().Done()
		return
	default:
		s.Say("echo: " + text)
	}
	s.Done()
}

type fixture struct {
	fake  Fake
	ad    gateway.Adapter
	db    *store.DB
	model *model
	work  string
	g     *gateway.Gateway
	stop  func() // ends Run (as SIGTERM does) and waits for it
}

func start(t *testing.T, newFake func(t *testing.T) Fake, approvalTimeout time.Duration, opts ...func(*gateway.Config)) *fixture {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{fake: newFake(t), db: db, model: newModel(t), work: t.TempDir()}
	gate := approval.NewGate(classify.Rules{Home: t.TempDir()}, gateway.Prompter{}, nil)
	terminal := local.New(local.Config{Workdir: f.work}, gate)
	a, err := agent.New(agent.Config{BaseURL: f.model.URL + "/v1", Model: "scripted", BaseBackoff: time.Millisecond, MaxRetries: -1},
		[]agent.Tool{agent.TerminalTool(terminal, nil, time.Minute)}, db)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{
		Allowed: []string{Owner, Friend}, Model: "scripted", Profile: "default", Backend: "local",
		ApprovalTimeout: approvalTimeout, ShutdownTimeout: time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(&cfg)
	}
	f.ad = f.fake.Adapter(t)
	f.g, err = gateway.New(cfg, f.ad, a, db)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.g.Run(ctx) }()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("gateway run: %v", err)
			}
		})
	}
	t.Cleanup(func() {
		f.stop()
		db.Close()
	})
	return f
}

// say sends text from user in a private chat of the same id and returns the bot's reply.
func (f *fixture) say(t *testing.T, user, text string) string {
	t.Helper()
	f.fake.Push(Incoming{Chat: user, User: user, Text: text})
	return f.next(t, user)
}

// next is the next message the bot sent, which must go to chat.
func (f *fixture) next(t *testing.T, chat string) string {
	t.Helper()
	out := f.fake.Next(t)
	if out.Chat != chat {
		t.Fatalf("the bot wrote to chat %s (%q), want chat %s", out.Chat, out.Text, chat)
	}
	return out.Text
}

func (f *fixture) sessions(t *testing.T, source string) []store.Session {
	t.Helper()
	ss, err := f.db.ListSessions(context.Background(), store.SessionFilter{Source: source})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

// Run runs the conformance test for the platform whose fakes newFake makes.
func Run(t *testing.T, platform string, limit int, newFake func(t *testing.T) Fake) {
	t.Run("allowed turn with a tool call", func(t *testing.T) {
		f := start(t, newFake, 0)
		got := f.say(t, Owner, "run: echo tool-ran")
		if !strings.Contains(got, "The tool says:") || !strings.Contains(got, "tool-ran") {
			t.Fatalf("reply %q", got)
		}
		ss := f.sessions(t, platform)
		if len(ss) != 1 || ss[0].Source != platform || ss[0].Messages < 4 {
			t.Fatalf("sessions %+v", ss)
		}
	})

	t.Run("stranger dropped", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.fake.Push(Incoming{Chat: Stranger, User: Stranger, Text: "run: touch pwned"})
		f.fake.Push(Incoming{Chat: "900", User: Stranger, Group: true, ToBot: true, Text: "hello"})
		// Messages are handled in order: once the owner is answered, the stranger's were handled.
		if got := f.say(t, Owner, "ping"); got != "echo: ping" {
			t.Fatalf("reply %q", got)
		}
		if n := f.model.count(""); n != 1 {
			t.Fatalf("the model got %d requests, want only the owner's", n)
		}
		if ss := f.sessions(t, platform); len(ss) != 1 {
			t.Fatalf("sessions %+v", ss)
		}
		drops, err := f.db.GatewayDrops(context.Background())
		if err != nil || len(drops) != 1 || drops[0].UserID != Stranger || drops[0].Count != 2 || drops[0].Platform != platform {
			t.Fatalf("drops %+v %v", drops, err)
		}
		if _, err := os.Stat(filepath.Join(f.work, "pwned")); err == nil {
			t.Fatal("a stranger's command ran")
		}
	})

	t.Run("group chat needs a mention", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.fake.Push(Incoming{Chat: "900", User: Owner, Group: true, Text: "just chatting"})
		f.fake.Push(Incoming{Chat: "900", User: Owner, Group: true, ToBot: true, Text: "hi bot"})
		if got := f.next(t, "900"); got != "echo: hi bot" {
			t.Fatalf("reply %q", got)
		}
		if n := f.model.count("just chatting"); n != 0 {
			t.Fatal("a message not addressed to the bot reached the model")
		}
	})

	t.Run("pairing", func(t *testing.T) {
		f := start(t, newFake, 0)
		ctx := context.Background()
		good, expired := gateway.NewPairingCode(), gateway.NewPairingCode()
		if err := f.db.AddGatewayPairing(ctx, platform, good, time.Now().Add(gateway.PairingLifetime)); err != nil {
			t.Fatal(err)
		}
		if err := f.db.AddGatewayPairing(ctx, platform, expired, time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		f.fake.Push(Incoming{Chat: Stranger, User: Stranger, Text: "AAAA-2222"}) // wrong
		f.fake.Push(Incoming{Chat: Stranger, User: Stranger, Text: expired})     // expired
		if got := f.say(t, Stranger, good); !strings.HasPrefix(got, "Paired") {
			t.Fatalf("right code answered %q", got)
		}
		if got := f.say(t, Stranger, "hello"); got != "echo: hello" {
			t.Fatalf("paired user got %q", got)
		}
		const other = "667"
		f.fake.Push(Incoming{Chat: other, User: other, Text: good}) // reused
		// Rate limit: after MaxPairingFailures wrong codes even a right one is not tried.
		const guesser = "668"
		fresh := gateway.NewPairingCode()
		if err := f.db.AddGatewayPairing(ctx, platform, fresh, time.Now().Add(gateway.PairingLifetime)); err != nil {
			t.Fatal(err)
		}
		for range gateway.MaxPairingFailures {
			f.fake.Push(Incoming{Chat: guesser, User: guesser, Text: "ZZZZ-9999"})
		}
		f.fake.Push(Incoming{Chat: guesser, User: guesser, Text: fresh})
		if got := f.say(t, Owner, "ping"); got != "echo: ping" {
			t.Fatalf("reply %q", got)
		}
		for user, want := range map[string]bool{Stranger: true, other: false, guesser: false} {
			if ok, err := f.db.GatewayAllowed(ctx, platform, user); err != nil || ok != want {
				t.Errorf("user %s allowed = %v, %v; want %v", user, ok, err, want)
			}
		}
		// The code the guesser could not use is still there for its owner.
		if got := f.say(t, "669", "/pair "+strings.ToLower(fresh)); !strings.HasPrefix(got, "Paired") {
			t.Fatalf("unspent code answered %q", got)
		}
	})

	t.Run("chats isolated", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.say(t, Owner, "first chat")
		f.fake.Push(Incoming{Chat: "900", User: Owner, Group: true, ToBot: true, Text: "second chat"})
		f.next(t, "900")
		ss := f.sessions(t, platform)
		if len(ss) != 2 {
			t.Fatalf("sessions %+v", ss)
		}
		for _, s := range ss {
			ms, err := f.db.Messages(context.Background(), s.ID, store.SessionFilter{Source: platform})
			if err != nil || len(ms) != 2 {
				t.Fatalf("session %s: %+v %v", s.ID, ms, err)
			}
		}
		if got := f.say(t, Owner, "/new"); got != "New session started." {
			t.Fatalf("/new answered %q", got)
		}
		f.say(t, Owner, "third")
		if ss := f.sessions(t, platform); len(ss) != 3 {
			t.Fatalf("after /new: %d sessions", len(ss))
		}
		if got := f.say(t, Owner, "/status"); !strings.Contains(got, "model scripted, backend local") {
			t.Fatalf("/status answered %q", got)
		}
	})

	t.Run("approvals", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			answer func(f *fixture, t *testing.T)
			runs   bool
		}{
			{"approve", func(f *fixture, t *testing.T) { f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "/approve"}) }, true},
			{"deny", func(f *fixture, t *testing.T) {
				f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "/deny"})
				if got := f.next(t, Owner); got != "Denied." {
					t.Fatalf("deny answered %q", got)
				}
			}, false},
			{"other reply", func(f *fixture, t *testing.T) {
				f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "yes please"})
				f.next(t, Owner)
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				f := start(t, newFake, 0)
				victim := filepath.Join(f.work, "victim")
				if err := os.Mkdir(victim, 0o755); err != nil {
					t.Fatal(err)
				}
				f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "run: rm -rf ./victim"})
				if q := f.next(t, Owner); !strings.Contains(q, "Reply /approve or /deny, expires in 5 minutes") {
					t.Fatalf("question %q", q)
				}
				tc.answer(f, t)
				got := f.next(t, Owner)
				_, err := os.Stat(victim)
				if ran := os.IsNotExist(err); ran != tc.runs {
					t.Fatalf("ran = %v, want %v; reply %q", ran, tc.runs, got)
				}
			})
		}
		t.Run("timeout", func(t *testing.T) {
			f := start(t, newFake, time.Millisecond)
			victim := filepath.Join(f.work, "victim")
			if err := os.Mkdir(victim, 0o755); err != nil {
				t.Fatal(err)
			}
			f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "run: rm -rf ./victim"})
			f.next(t, Owner) // the question
			if got := f.next(t, Owner); got != "No answer in time: denied." {
				t.Fatalf("timeout said %q", got)
			}
			f.next(t, Owner) // the model's answer
			if _, err := os.Stat(victim); err != nil {
				t.Fatal("ran after a timeout")
			}
		})
		t.Run("another user", func(t *testing.T) {
			f := start(t, newFake, 0)
			victim := filepath.Join(f.work, "victim")
			if err := os.Mkdir(victim, 0o755); err != nil {
				t.Fatal(err)
			}
			const group = "900"
			f.fake.Push(Incoming{Chat: group, User: Owner, Group: true, ToBot: true, Text: "run: rm -rf ./victim"})
			f.next(t, group) // the question
			f.fake.Push(Incoming{Chat: group, User: Friend, Group: true, ToBot: true, Text: "/approve"})
			if got := f.next(t, group); !strings.HasPrefix(got, "Only the user") {
				t.Fatalf("another user's answer got %q", got)
			}
			f.fake.Push(Incoming{Chat: group, User: Owner, Group: true, ToBot: true, Text: "/deny"})
			f.next(t, group) // Denied.
			f.next(t, group) // the model's answer
			if _, err := os.Stat(victim); err != nil {
				t.Fatal("ran on another user's approval")
			}
		})
		t.Run("hardline never asked", func(t *testing.T) {
			f := start(t, newFake, 0)
			got := f.say(t, Owner, "run: rm -rf /")
			if strings.Contains(got, "/approve") || !strings.Contains(got, "refused") {
				t.Fatalf("hardline command answered %q", got)
			}
		})
	})

	t.Run("disconnect and reconnect", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.say(t, Owner, "before")
		f.fake.Drop(t)
		if got := f.say(t, Owner, "after"); got != "echo: after" {
			t.Fatalf("after reconnecting: %q", got)
		}
	})

	t.Run("redelivered update", func(t *testing.T) {
		f := start(t, newFake, 0)
		redeliver := f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "once"})
		f.next(t, Owner)
		redeliver()
		f.say(t, Owner, "then")
		if n := f.model.count("once"); n != 1 {
			t.Fatalf("the redelivered update reached the model %d times", n)
		}
	})

	t.Run("long reply split", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "long: 10000"})
		want := strings.ReplaceAll(strings.Repeat(LongLine, 100), "\n", "")
		var got strings.Builder
		parts := 0
		for got.Len() < len(want) {
			part := f.next(t, Owner)
			if n := gateway.Measure(f.ad, part); n > limit {
				t.Fatalf("part %d has %d characters, over %d", parts, n, limit)
			}
			got.WriteString(strings.ReplaceAll(part, "\n", "")) // the platform may trim a part's last newline
			parts++
		}
		if got.String() != want {
			t.Fatalf("the parts do not make the reply (%d characters in %d parts)", got.Len(), parts)
		}
		if parts < 10000/limit+1 {
			t.Fatalf("%d parts", parts)
		}
	})

	// Measured in the platform's own unit (Telegram's is the UTF-16 code unit, in which each
	// of these characters is 2), and never cutting a character in two.
	t.Run("long reply of astral characters split", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "wide: 10000"})
		want := strings.ReplaceAll(strings.Repeat(WideLine, 200), "\n", "")
		var got strings.Builder
		parts := 0
		for got.Len() < len(want) {
			part := f.next(t, Owner)
			if n := gateway.Measure(f.ad, part); n > limit {
				t.Fatalf("part %d measures %d, over %d", parts, n, limit)
			}
			if !utf8.ValidString(part) || strings.ContainsRune(part, utf8.RuneError) {
				t.Fatalf("part %d cuts a character", parts)
			}
			got.WriteString(strings.ReplaceAll(part, "\n", ""))
			parts++
		}
		if got.String() != want {
			t.Fatalf("the parts do not make the reply (%d bytes in %d parts)", got.Len(), parts)
		}
		if total := gateway.Measure(f.ad, strings.Repeat(WideLine, 200)); parts < total/limit+1 {
			t.Fatalf("%d parts for %d units", parts, total)
		}
	})

	// Different chats run at once, but never more than MaxConcurrentTurns: with the model
	// holding every turn, the third chat waits until one of the first two is answered.
	t.Run("concurrent chats within the bound", func(t *testing.T) {
		const bound = 2
		f := start(t, newFake, 0, func(c *gateway.Config) { c.MaxConcurrentTurns = bound })
		const group = "900"
		chats := []Incoming{
			{Chat: Owner, User: Owner, Text: "block"},
			{Chat: Friend, User: Friend, Text: "block"},
			{Chat: group, User: Owner, Group: true, ToBot: true, Text: "block"},
		}
		for _, m := range chats {
			f.fake.Push(m)
		}
		for range bound {
			<-f.model.blocked
		}
		// Every chat's turn has started (messages are handled in order); two run, one waits.
		waiting := ""
		for _, m := range chats {
			m.Text = "/status"
			f.fake.Push(m)
			got := f.next(t, m.Chat)
			switch {
			case strings.Contains(got, "waiting for a free turn"):
				if waiting != "" {
					t.Fatalf("chats %s and %s both wait", waiting, m.Chat)
				}
				waiting = m.Chat
			case !strings.Contains(got, "running a turn"):
				t.Fatalf("/status in chat %s: %q", m.Chat, got)
			}
		}
		if waiting == "" {
			t.Fatalf("no chat waits: %d turns run at once, bound %d", f.model.count("block"), bound)
		}
		if n := f.model.count("block"); n != bound {
			t.Fatalf("the model got %d turns at once, bound %d", n, bound)
		}
		// One answer frees a slot for the waiting chat; then all are answered.
		answered := map[string]bool{}
		for i := range chats {
			f.model.release <- struct{}{}
			out := f.fake.Next(t)
			if out.Text != "unblocked" || answered[out.Chat] {
				t.Fatalf("answer %d: %+v", i, out)
			}
			answered[out.Chat] = true
			if i == 0 {
				<-f.model.blocked // the waiting chat's turn
			}
		}
		f.model.mu.Lock()
		most := f.model.maxInFlight
		f.model.mu.Unlock()
		if most != bound {
			t.Fatalf("at most %d turns ran at once, want %d", most, bound)
		}
	})

	t.Run("attachment refused", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.fake.Push(Incoming{Chat: Owner, User: Owner, Attachment: true, Text: "see this"})
		if got := f.next(t, Owner); !strings.HasPrefix(got, "Attachments are not supported") {
			t.Fatalf("attachment answered %q", got)
		}
		if n := f.model.count(""); n != 0 {
			t.Fatal("an attachment reached the model")
		}
	})

	t.Run("shutdown cancels a turn and keeps the store consistent", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "hold"})
		if chat := f.fake.Typed(t); chat != Owner {
			t.Fatalf("typing shown in chat %s", chat)
		}
		select {
		case <-f.model.held:
		case <-time.After(time.Minute):
			t.Fatal("the model never got the turn")
		}
		f.stop() // returns once every turn has returned
		if got := f.next(t, Owner); !strings.HasPrefix(got, "Stopped: hermes is shutting down") {
			t.Fatalf("the cancelled turn said %q", got)
		}
		ss := f.sessions(t, platform)
		if len(ss) != 1 {
			t.Fatalf("sessions %+v", ss)
		}
		ms, err := f.db.Messages(context.Background(), ss[0].ID, store.SessionFilter{Source: platform})
		if err != nil || len(ms) == 0 || ms[0].Content != "hold" {
			t.Fatalf("stored %+v %v", ms, err)
		}
	})

	t.Run("stop", func(t *testing.T) {
		f := start(t, newFake, 0)
		f.fake.Push(Incoming{Chat: Owner, User: Owner, Text: "hold"})
		if got := f.say(t, Owner, "again"); !strings.HasPrefix(got, "Still working") {
			t.Fatalf("a second message during a turn got %q", got)
		}
		if got := f.say(t, Owner, "/stop"); got != "Stopped." {
			t.Fatalf("/stop answered %q", got)
		}
	})
}
