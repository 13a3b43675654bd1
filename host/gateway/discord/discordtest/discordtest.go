// Package discordtest is a fake of Discord on 127.0.0.1 for tests: the REST API the gateway
// adapter uses (GET /gateway, GET /gateway/bot, GET /users/@me, POST /channels/{id}/messages,
// POST /channels/{id}/typing) and the gateway websocket (HELLO op 10, IDENTIFY op 2 answered by
// a READY dispatch, MESSAGE_CREATE dispatches with sequence numbers, heartbeats op 1 answered by
// ACK op 11, RESUME op 6 replaying what was missed and ending with RESUMED, RECONNECT op 7 and
// INVALID SESSION op 9). Tests push messages and read what the bot sent.
package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// BotID and BotUsername are the fake bot's.
const (
	BotID       = "777000000000000001"
	BotUsername = "hermes_test_bot"
)

// MaxContent is the most characters (code points, as Discord counts) of one message.
const MaxContent = 2000

// Sent is one message the bot sent.
type Sent struct {
	ChannelID, Content string
	// Mentions is the allowed_mentions the bot sent ("" when none: Discord then pings
	// whatever the content mentions).
	Mentions string
}

// Server is the fake for one bot token.
type Server struct {
	*httptest.Server
	Token string
	// Sent receives every message posted; Typing every typing indicator's channel id.
	Sent   chan Sent
	Typing chan string
	// Sessions receives "identify" for every session the bot started and "resume" for every
	// session it resumed, once the READY or RESUMED dispatch was sent.
	Sessions chan string
	// Heartbeats receives the sequence number of every heartbeat the bot sent.
	Heartbeats chan int64
	// Dialled receives a value for every gateway websocket the bot opened.
	Dialled chan struct{}
	// Rejected receives why the fake refused a request or a gateway message: a wrong token,
	// a message over MaxContent, an unknown route.
	Rejected chan string

	mu        sync.Mutex
	conn      *websocket.Conn // the bot's live gateway connection, once it identified or resumed
	session   string
	seq       int64
	log       []dispatch // this session's dispatches, for resuming
	sent      int64      // the last sequence number written to a live connection
	nextID    int64
	intervalM int64 // heartbeat interval in milliseconds
	ack       bool
	silent    bool
	intents   int64
}

type dispatch struct {
	seq  int64
	typ  string
	d    any
	data []byte
}

// New starts the fake on 127.0.0.1.
func New(token string) *Server {
	s := &Server{
		Token: token, Sent: make(chan Sent, 1024), Typing: make(chan string, 1024),
		Sessions: make(chan string, 64), Dialled: make(chan struct{}, 64), Heartbeats: make(chan int64, 1024), Rejected: make(chan string, 64),
		nextID: 100000, intervalM: 41250, ack: true,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /gateway", s.gateway)
	mux.HandleFunc("GET /gateway/bot", s.gateway)
	mux.HandleFunc("GET /users/@me", s.me)
	mux.HandleFunc("POST /channels/{id}/messages", s.message)
	mux.HandleFunc("POST /channels/{id}/typing", s.typing)
	mux.HandleFunc("GET /ws/", s.websocket)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.reject("no route " + r.Method + " " + r.URL.Path)
		apiError(w, http.StatusNotFound, 0, "404: Not Found")
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// Heartbeat sets the interval HELLO asks for and whether heartbeats are acknowledged, for
// connections made from now on.
func (s *Server) Heartbeat(interval time.Duration, ack bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.intervalM, s.ack = max(interval.Milliseconds(), 1), ack
}

// Silent makes the gateway accept websockets and then say nothing, not even HELLO.
func (s *Server) Silent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = true
}

// Intents are the gateway intents the bot identified with last.
func (s *Server) Intents() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.intents
}

func (s *Server) reject(why string) {
	select {
	case s.Rejected <- why:
	default:
	}
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"message": msg, "code": code})
	w.Write(b)
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	b, _ := json.Marshal(v)
	w.Write(b)
}

// authorized checks the bot token, as Discord does, on every REST request.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") == "Bot "+s.Token {
		return true
	}
	s.reject("bad token on " + r.URL.Path)
	apiError(w, http.StatusUnauthorized, 0, "401: Unauthorized")
	return false
}

func botUser() map[string]any {
	return map[string]any{"id": BotID, "username": BotUsername, "discriminator": "0", "bot": true}
}

func (s *Server) gateway(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/gateway/bot" && !s.authorized(w, r) {
		return
	}
	reply(w, map[string]any{
		"url": "ws://" + r.Host + "/ws", "shards": 1,
		"session_start_limit": map[string]any{"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
	})
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	if s.authorized(w, r) {
		reply(w, botUser())
	}
}

func (s *Server) message(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	var body struct {
		Content         string          `json:"content"`
		AllowedMentions json.RawMessage `json:"allowed_mentions"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		s.reject("bad message body: " + err.Error())
		apiError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	if n := utf8.RuneCountInString(body.Content); n > MaxContent || n == 0 {
		s.reject(fmt.Sprintf("message of %d characters", n))
		apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body: content: Must be 2000 or fewer in length.")
		return
	}
	channel := r.PathValue("id")
	s.Sent <- Sent{ChannelID: channel, Content: body.Content, Mentions: string(body.AllowedMentions)}
	s.mu.Lock()
	s.nextID++
	id := s.nextID
	s.mu.Unlock()
	reply(w, map[string]any{"id": strconv.FormatInt(id, 10), "channel_id": channel, "content": body.Content,
		"author": botUser(), "timestamp": time.Now().UTC().Format(time.RFC3339), "type": 0})
}

func (s *Server) typing(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	select {
	case s.Typing <- r.PathValue("id"):
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// Message describes an incoming message.
type Message struct {
	ChannelID, UserID string
	GuildID           string // "" for a direct message
	Content           string // may mention the bot as "<@" + BotID + ">"
	ReplyToBot        bool   // replies to one of the bot's messages
	Attachment        bool
}

// Push dispatches m as a new MESSAGE_CREATE and returns the message's id. When the bot is not
// connected it gets the dispatch when it resumes.
func (s *Server) Push(m Message) string {
	s.mu.Lock()
	s.nextID++
	id := strconv.FormatInt(s.nextID, 10)
	s.mu.Unlock()
	s.Redeliver(id, m)
	return id
}

// Redeliver dispatches m again as message id, as Discord may after a reconnection.
func (s *Server) Redeliver(id string, m Message) {
	msg := map[string]any{
		"id": id, "channel_id": m.ChannelID, "content": m.Content, "type": 0,
		"timestamp": time.Now().UTC().Format(time.RFC3339), "tts": false, "mention_everyone": false,
		"author":   map[string]any{"id": m.UserID, "username": "u" + m.UserID, "discriminator": "0"},
		"mentions": []any{}, "attachments": []any{}, "embeds": []any{},
	}
	if m.GuildID != "" {
		msg["guild_id"] = m.GuildID
		msg["member"] = map[string]any{"roles": []any{}}
	}
	if strings.Contains(m.Content, "<@"+BotID+">") || strings.Contains(m.Content, "<@!"+BotID+">") {
		msg["mentions"] = []any{botUser()}
	}
	if m.ReplyToBot {
		msg["type"] = 19
		msg["message_reference"] = map[string]any{"message_id": "1", "channel_id": m.ChannelID, "guild_id": m.GuildID}
		msg["referenced_message"] = map[string]any{"id": "1", "channel_id": m.ChannelID, "content": "earlier",
			"author": botUser(), "timestamp": time.Now().UTC().Format(time.RFC3339), "type": 0}
	}
	if m.Attachment {
		msg["attachments"] = []any{map[string]any{"id": "5", "filename": "photo.png", "size": 10,
			"url": "https://cdn.example.invalid/photo.png", "proxy_url": "https://cdn.example.invalid/photo.png"}}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dispatchLocked("MESSAGE_CREATE", msg)
}

// dispatchLocked numbers an event, keeps it for resuming and sends it when connected.
func (s *Server) dispatchLocked(typ string, d any) {
	s.seq++
	b, _ := json.Marshal(map[string]any{"op": 0, "t": typ, "s": s.seq, "d": d})
	s.log = append(s.log, dispatch{seq: s.seq, typ: typ, d: d, data: b})
	if s.conn != nil {
		if err := s.conn.WriteMessage(websocket.TextMessage, b); err != nil {
			// The bot's connection died and its reader has not seen it yet: the event was not
			// delivered, so it stays pending for the next session (identify) or resume.
			s.conn = nil
			return
		}
		s.sent = s.seq
	}
}

// Drop cuts the bot's gateway connection without a close frame, as when the network drops,
// and returns once it was cut.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.UnderlyingConn().Close()
		s.conn = nil
	}
}

// Reconnect asks the bot to reconnect and resume (op 7), as Discord does before it moves a
// connection.
func (s *Server) Reconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.WriteJSON(map[string]any{"op": 7, "d": nil})
	}
}

// Forget ends the current session, so a resume is refused (op 9) and the bot identifies anew.
func (s *Server) Forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.session = ""
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	select {
	case s.Dialled <- struct{}{}:
	default:
	}
	s.mu.Lock()
	interval, ack, silent := s.intervalM, s.ack, s.silent
	if silent {
		s.mu.Unlock()
		c.ReadMessage() // until the bot gives up
		return
	}
	err = c.WriteJSON(map[string]any{"op": 10, "d": map[string]any{"heartbeat_interval": interval}})
	s.mu.Unlock()
	if err != nil {
		return
	}
	c.SetReadLimit(1 << 20)
	for {
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := c.ReadJSON(&p); err != nil {
			s.mu.Lock()
			if s.conn == c {
				s.conn = nil
			}
			s.mu.Unlock()
			return
		}
		switch p.Op {
		case 1:
			var seq int64
			json.Unmarshal(p.D, &seq)
			select {
			case s.Heartbeats <- seq:
			default:
			}
			if ack {
				s.mu.Lock()
				c.WriteJSON(map[string]any{"op": 11})
				s.mu.Unlock()
			}
		case 2:
			if !s.identify(c, p.D) {
				return
			}
		case 6:
			if !s.resume(c, p.D) {
				return
			}
		}
	}
}

func (s *Server) checkToken(c *websocket.Conn, token string) bool {
	if strings.TrimPrefix(token, "Bot ") == s.Token {
		return true
	}
	s.reject("bad token on the gateway")
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."))
	return false
}

func (s *Server) identify(c *websocket.Conn, d json.RawMessage) bool {
	var id struct {
		Token   string `json:"token"`
		Intents int64  `json:"intents"`
	}
	json.Unmarshal(d, &id)
	if !s.checkToken(c, id.Token) {
		return false
	}
	s.mu.Lock()
	s.intents = id.Intents
	s.nextID++
	s.session = "session-" + strconv.FormatInt(s.nextID, 10)
	// Messages pushed before the bot first connected (or while it had no session) are
	// delivered in the new one, as if sent just after it connected.
	var waiting []dispatch
	for _, e := range s.log {
		if e.seq > s.sent && e.typ == "MESSAGE_CREATE" {
			waiting = append(waiting, e)
		}
	}
	s.seq, s.sent, s.log = 0, 0, nil
	s.conn = c
	s.dispatchLocked("READY", map[string]any{"v": 10, "session_id": s.session, "user": botUser(),
		"guilds": []any{}, "private_channels": []any{}, "resume_gateway_url": "ws://" + s.Listener.Addr().String() + "/ws"})
	for _, e := range waiting {
		s.dispatchLocked(e.typ, e.d)
	}
	s.mu.Unlock()
	s.Sessions <- "identify"
	return true
}

func (s *Server) resume(c *websocket.Conn, d json.RawMessage) bool {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	json.Unmarshal(d, &rs)
	if !s.checkToken(c, rs.Token) {
		return false
	}
	s.mu.Lock()
	if rs.SessionID == "" || rs.SessionID != s.session {
		c.WriteJSON(map[string]any{"op": 9, "d": false})
		s.mu.Unlock()
		return true
	}
	for _, e := range s.log {
		if e.seq > rs.Seq {
			if err := c.WriteMessage(websocket.TextMessage, e.data); err != nil {
				s.mu.Unlock()
				return false // died while resuming: the events stay pending for the next try
			}
		}
	}
	s.sent = s.seq
	s.conn = c
	s.dispatchLocked("RESUMED", map[string]any{})
	s.mu.Unlock()
	s.Sessions <- "resume"
	return true
}
