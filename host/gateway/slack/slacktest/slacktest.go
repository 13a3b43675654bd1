// Package slacktest is a fake of Slack on 127.0.0.1 for tests: the Web API methods the gateway
// calls (apps.connections.open with the app token; auth.test, chat.postMessage and
// reactions.add with the bot token) and the Socket Mode websocket apps.connections.open points
// to. The websocket says hello, sends events_api and slash_commands envelopes in order, pings,
// and expects every envelope to be acknowledged: one not acknowledged when its connection ends
// is queued again, as a retry (a new envelope id, the same event id), and sent on the bot's
// next connection (or on another one already open), as Slack does.
// Tests queue events and read what the bot sent.
package slacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The fake bot's and workspace's ids.
const (
	BotUserID = "UBOT"
	BotID     = "BBOT"
	TeamID    = "T0001"
	AppID     = "A0001"
)

// Sent is one message the bot posted.
type Sent struct {
	Channel string
	Thread  string // thread_ts, "" for the channel itself
	Text    string // as posted: &, < and > escaped
}

// Reaction is one reactions.add.
type Reaction struct {
	Channel, Timestamp, Name string
}

// Server is the fake Slack for one app.
type Server struct {
	*httptest.Server
	// APIURL is what slack.OptionAPIURL takes: URL + "/api/".
	APIURL             string
	BotToken, AppToken string
	// Sent receives every chat.postMessage; Reacted every reactions.add.
	Sent    chan Sent
	Reacted chan Reaction
	// Connected receives one value for every Socket Mode connection opened; Dropped one for
	// every connection the server ended (see Disconnect and Cut).
	Connected chan struct{}
	Dropped   chan struct{}
	// Acked receives the id of every envelope acknowledged.
	Acked chan string
	// BadToken receives the method of every call made with a wrong token.
	BadToken chan string

	mu       sync.Mutex
	queue    []*envelope // not yet sent
	changed  chan struct{}
	end      string // "disconnect" or "cut": how to end the current connection
	limited  int    // chat.postMessage calls still to refuse with 429
	seq      int
	conns    int
	upgrader websocket.Upgrader
}

// envelope is one Socket Mode message for the bot.
type envelope struct {
	kind    string // events_api or slash_commands
	id      string
	retry   int
	payload map[string]any
	raw     []byte // sent as it is, expecting no acknowledgement
}

// New starts the fake on 127.0.0.1.
func New(botToken, appToken string) *Server {
	s := &Server{
		BotToken: botToken, AppToken: appToken,
		Sent: make(chan Sent, 1024), Reacted: make(chan Reaction, 1024),
		Connected: make(chan struct{}, 64), Dropped: make(chan struct{}, 64),
		Acked: make(chan string, 1024), BadToken: make(chan string, 64),
		changed: make(chan struct{}),
		// The client sends Origin https://api.slack.com, as Slack expects.
		upgrader: websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "https://api.slack.com" }},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.api)
	mux.HandleFunc("GET /link", s.link)
	s.Server = httptest.NewServer(mux)
	s.APIURL = s.URL + "/api/"
	return s
}

func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Message describes an incoming message event.
type Message struct {
	Channel string // "D…" is a direct message, anything else a channel
	User    string
	Text    string // may mention the bot as "<@" + BotUserID + ">"
	Thread  string // thread_ts of the thread it is in; "" for none
	// ParentUser is the author of the thread's first message (parent_user_id).
	ParentUser string
	// AppMention sends it as an app_mention event rather than a message event.
	AppMention bool
	File       bool // carries a file (subtype file_share)
	TS         string
	// SubType sets the message's subtype (message_changed, bot_message, ...); BotID its bot_id.
	SubType, BotID string
}

// Event is a queued event: what Redeliver takes.
type Event struct {
	ID string // event_id
	m  Message
}

// Push queues m as an events_api envelope and returns it. A zero TS gets a fresh one.
func (s *Server) Push(m Message) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if m.TS == "" {
		m.TS = fmt.Sprintf("1700000000.%06d", s.seq)
	}
	ev := Event{ID: "Ev" + strconv.Itoa(s.seq), m: m}
	s.enqueue(ev)
	return ev
}

// Redeliver queues ev again (the same event id, a new envelope marked as a retry), as Slack
// does when an acknowledgement was lost.
func (s *Server) Redeliver(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueue(ev)
	s.queue[len(s.queue)-1].retry = 1
}

func (s *Server) enqueue(ev Event) {
	m := ev.m
	inner := map[string]any{
		"type": "message", "channel": m.Channel, "user": m.User, "text": m.Text,
		"ts": m.TS, "event_ts": m.TS,
	}
	if m.AppMention {
		inner["type"] = "app_mention"
	} else {
		kind := "channel"
		if strings.HasPrefix(m.Channel, "D") {
			kind = "im"
		}
		inner["channel_type"] = kind
	}
	if m.Thread != "" {
		inner["thread_ts"] = m.Thread
		if m.ParentUser != "" {
			inner["parent_user_id"] = m.ParentUser
		}
	}
	if m.SubType != "" {
		inner["subtype"] = m.SubType
	}
	if m.BotID != "" {
		inner["bot_id"] = m.BotID
	}
	if m.File {
		inner["subtype"] = "file_share"
		inner["files"] = []any{map[string]any{"id": "F1", "name": "secret.pdf", "mimetype": "application/pdf"}}
	}
	s.seq++
	s.queue = append(s.queue, &envelope{kind: "events_api", id: "env-" + strconv.Itoa(s.seq), payload: map[string]any{
		"token": "verification-token", "team_id": TeamID, "api_app_id": AppID, "type": "event_callback",
		"event_id": ev.ID, "event_time": time.Now().Unix(), "event": inner,
	}})
	s.notify()
}

// Command queues a slash command (command "/hermes", text "approve") from user in channel.
func (s *Server) Command(channel, user, command, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	s.queue = append(s.queue, &envelope{kind: "slash_commands", id: "env-" + strconv.Itoa(s.seq), payload: map[string]any{
		"token": "verification-token", "team_id": TeamID, "api_app_id": AppID, "channel_id": channel,
		"user_id": user, "command": command, "text": text, "trigger_id": "trig-" + strconv.Itoa(s.seq),
	}})
	s.notify()
}

// Raw queues data to be sent as one websocket message as it is: a malformed or oversized
// frame. It expects no acknowledgement.
func (s *Server) Raw(data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, &envelope{raw: data})
	s.notify()
}

// RateLimit makes the next n chat.postMessage calls answer 429 Too Many Requests with
// Retry-After: 0, as Slack does past a channel's rate.
func (s *Server) RateLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limited += n
}

// Disconnect asks the bot to reconnect, as Slack does before it ends a connection: a
// "disconnect" message, then the connection closes.
func (s *Server) Disconnect() { s.endConn("disconnect") }

// Cut ends the connection without a word, as when the network drops.
func (s *Server) Cut() { s.endConn("cut") }

func (s *Server) endConn(how string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.end = how
	s.notify()
}

func (s *Server) authorized(r *http.Request, token string) bool {
	if r.Header.Get("Authorization") == "Bearer "+token {
		return true
	}
	return r.FormValue("token") == token
}

func (s *Server) reply(w http.ResponseWriter, v map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(v)
	w.Write(b)
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	_ = r.ParseForm()
	token := s.BotToken
	if method == "apps.connections.open" {
		token = s.AppToken
	}
	if !s.authorized(r, token) {
		select {
		case s.BadToken <- method:
		default:
		}
		s.reply(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch method {
	case "apps.connections.open":
		s.reply(w, map[string]any{"ok": true, "url": "ws" + strings.TrimPrefix(s.URL, "http") + "/link?ticket=t"})
	case "auth.test":
		s.reply(w, map[string]any{"ok": true, "url": "https://hermes-test.slack.com/", "team": "hermes test",
			"user": "hermes", "team_id": TeamID, "user_id": BotUserID, "bot_id": BotID})
	case "chat.postMessage":
		s.mu.Lock()
		limited := s.limited > 0
		if limited {
			s.limited--
		}
		s.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			s.reply(w, map[string]any{"ok": false, "error": "ratelimited"})
			return
		}
		channel := r.FormValue("channel")
		s.Sent <- Sent{Channel: channel, Thread: r.FormValue("thread_ts"), Text: r.FormValue("text")}
		s.mu.Lock()
		s.seq++
		ts := fmt.Sprintf("1800000000.%06d", s.seq)
		s.mu.Unlock()
		s.reply(w, map[string]any{"ok": true, "channel": channel, "ts": ts,
			"message": map[string]any{"type": "message", "user": BotUserID, "bot_id": BotID, "text": r.FormValue("text"), "ts": ts}})
	case "reactions.add":
		select {
		case s.Reacted <- Reaction{Channel: r.FormValue("channel"), Timestamp: r.FormValue("timestamp"), Name: r.FormValue("name")}:
		default:
		}
		s.reply(w, map[string]any{"ok": true})
	default:
		s.reply(w, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

// PingEvery is how often the server pings a connection (Slack pings every few seconds; the
// client reconnects when it hears none for 30).
const PingEvery = 5 * time.Second

func (s *Server) link(w http.ResponseWriter, r *http.Request) {
	conn, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	s.mu.Lock()
	s.conns++
	n := s.conns
	s.end = ""
	s.mu.Unlock()
	// inflight is what this connection sent and was not acknowledged (guarded by s.mu): when
	// the connection ends, for whatever reason, it is queued again, first, as retries. A
	// connection may end unnoticed for a while (a bot's process that exited, a dial the bot
	// gave up on): what it took meanwhile is not lost but goes to the connection after it.
	var inflight []*envelope
	ended := false
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		ended = true
		for _, e := range inflight {
			e.retry++
			s.seq++
			e.id = "env-" + strconv.Itoa(s.seq)
		}
		if len(inflight) > 0 {
			s.queue = append(inflight, s.queue...)
			s.notify()
		}
	}()

	hello, _ := json.Marshal(map[string]any{"type": "hello", "num_connections": 1,
		"connection_info": map[string]any{"app_id": AppID}, "debug_info": map[string]any{"host": "fake-" + strconv.Itoa(n)}})
	if conn.WriteMessage(websocket.TextMessage, hello) != nil || conn.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(5*time.Second)) != nil {
		return
	}
	s.Connected <- struct{}{}

	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return
			}
			var ack struct {
				EnvelopeID string `json:"envelope_id"`
			}
			if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
				continue
			}
			s.mu.Lock()
			if ended { // too late: its envelopes are queued again
				s.mu.Unlock()
				return
			}
			for i, e := range inflight {
				if e.id == ack.EnvelopeID {
					inflight = append(inflight[:i], inflight[i+1:]...)
					break
				}
			}
			s.mu.Unlock()
			s.Acked <- ack.EnvelopeID
		}
	}()
	ping := time.NewTicker(PingEvery)
	defer ping.Stop()
	for {
		s.mu.Lock()
		end := s.end
		out := s.queue
		s.queue = nil
		for _, e := range out {
			if e.raw == nil {
				inflight = append(inflight, e)
			}
		}
		changed := s.changed
		s.mu.Unlock()
		switch end {
		case "disconnect":
			b, _ := json.Marshal(map[string]any{"type": "disconnect", "reason": "refresh_requested",
				"debug_info": map[string]any{"host": "fake-" + strconv.Itoa(n)}})
			conn.WriteMessage(websocket.TextMessage, b)
			fallthrough
		case "cut":
			conn.Close()
			s.Dropped <- struct{}{}
			return
		}
		for _, e := range out {
			if e.raw != nil {
				if conn.WriteMessage(websocket.TextMessage, e.raw) != nil {
					return
				}
				continue
			}
			b, _ := json.Marshal(map[string]any{"type": e.kind, "envelope_id": e.id, "payload": e.payload,
				"accepts_response_payload": e.kind == "slash_commands", "retry_attempt": e.retry, "retry_reason": retryReason(e.retry)})
			if conn.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		}
		select {
		case <-changed:
		case <-ping.C:
			if conn.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(5*time.Second)) != nil {
				return
			}
		case <-closed:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func retryReason(n int) string {
	if n == 0 {
		return ""
	}
	return "timeout"
}

// TS is the event's message ts.
func (e Event) TS() string { return e.m.TS }
