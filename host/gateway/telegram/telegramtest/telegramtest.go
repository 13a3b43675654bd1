// Package telegramtest is a fake of Telegram's Bot API on 127.0.0.1 for tests: getMe,
// getUpdates (long polling; as Telegram does, an update is returned by every poll until a poll
// with a higher offset confirms it), sendMessage and sendChatAction. Tests queue updates and
// read what the bot sent.
package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// BotID and BotUsername are the fake bot's.
const (
	BotID       = 777
	BotUsername = "hermes_test_bot"
)

// MaxText is the most UTF-16 code units of one message's text, as Telegram counts.
const MaxText = 4096

// Sent is one message the bot sent.
type Sent struct {
	ChatID int64
	Thread int
	Text   string
}

// Server is the fake API for one bot token.
type Server struct {
	*httptest.Server
	Token string
	// Sent receives every sendMessage; Typing every sendChatAction's chat id.
	Sent   chan Sent
	Typing chan int64
	// Dropped receives one value for every poll the server cut off (see DropPolls).
	Dropped chan struct{}
	// BadToken receives the path of every request that did not carry Token.
	BadToken chan string
	// TooLong receives the length of every message refused for being over MaxText.
	TooLong chan int

	mu      sync.Mutex
	queue   []update // updates not yet confirmed, in order
	nextID  int64
	changed chan struct{} // closed and replaced whenever queue or drops change
	drops   int
}

// update is one queued update.
type update struct {
	id   int64
	data json.RawMessage
	// again: a redelivery, returned by the next poll whatever its offset (once returned, the
	// next poll's offset confirms it like any other)
	again bool
}

// New starts the fake on 127.0.0.1.
func New(token string) *Server {
	s := &Server{
		Token: token, Sent: make(chan Sent, 1024), Typing: make(chan int64, 1024),
		Dropped: make(chan struct{}, 64), BadToken: make(chan string, 64), TooLong: make(chan int, 64),
		nextID: 1000, changed: make(chan struct{}),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Message describes an incoming message.
type Message struct {
	ChatID, UserID int64
	Group          bool   // a group chat rather than a private one
	Text           string // may mention "@" + BotUsername
	ReplyToBot     bool
	Photo          bool
}

// Push queues m as a new update and returns its update id.
func (s *Server) Push(m Message) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return s.queueLocked(s.nextID, m, false)
}

func (s *Server) queueLocked(id int64, m Message, again bool) int64 {
	chatType := "private"
	if m.Group {
		chatType = "group"
	}
	msg := map[string]any{
		"message_id": 1, "date": time.Now().Unix(), "text": m.Text,
		"from": map[string]any{"id": m.UserID, "is_bot": false, "first_name": "u" + strconv.FormatInt(m.UserID, 10)},
		"chat": map[string]any{"id": m.ChatID, "type": chatType},
	}
	if m.ReplyToBot {
		msg["reply_to_message"] = map[string]any{"message_id": 0, "date": 0, "chat": msg["chat"],
			"from": map[string]any{"id": BotID, "is_bot": true, "first_name": "hermes"}}
	}
	if m.Photo {
		msg["photo"] = []any{map[string]any{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}}
	}
	b, _ := json.Marshal(map[string]any{"update_id": id, "message": msg})
	s.queue = append(s.queue, update{id: id, data: b, again: again})
	s.notify()
	return id
}

// Redeliver queues the update with id again, as Telegram does when a poll's confirmation was
// lost, even though it was already delivered and confirmed.
func (s *Server) Redeliver(id int64, m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queueLocked(id, m, true)
}

// DropPolls makes the next n getUpdates requests (and any poll waiting now) end with the
// connection cut, as when the service drops.
func (s *Server) DropPolls(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops += n
	s.notify()
}

func (s *Server) reply(w http.ResponseWriter, result any) {
	b, _ := json.Marshal(map[string]any{"ok": true, "result": result})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot"+s.Token+"/")
	if !ok {
		select {
		case s.BadToken <- r.URL.Path:
		default:
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"ok":false,"error_code":401,"description":"Unauthorized"}`)
		return
	}
	_ = r.ParseMultipartForm(1 << 20)
	switch rest {
	case "getMe":
		s.reply(w, map[string]any{"id": BotID, "is_bot": true, "first_name": "hermes", "username": BotUsername})
	case "getUpdates":
		s.getUpdates(w, r)
	case "sendMessage":
		chat, _ := strconv.ParseInt(r.FormValue("chat_id"), 10, 64)
		if n := len(utf16.Encode([]rune(r.FormValue("text")))); n > MaxText {
			s.TooLong <- n
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: message is too long"}`)
			return
		}
		thread, _ := strconv.Atoi(r.FormValue("message_thread_id"))
		s.Sent <- Sent{ChatID: chat, Thread: thread, Text: r.FormValue("text")}
		s.reply(w, map[string]any{"message_id": 2, "date": time.Now().Unix(), "chat": map[string]any{"id": chat, "type": "private"}, "text": r.FormValue("text")})
	case "sendChatAction":
		chat, _ := strconv.ParseInt(r.FormValue("chat_id"), 10, 64)
		select {
		case s.Typing <- chat:
		default:
		}
		s.reply(w, true)
	default:
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"ok":false,"error_code":404,"description":"Not Found: method %s"}`, rest)
	}
}

// getUpdates forgets the updates offset confirms (those with a lower id) and returns the
// rest, waiting for one when there are none. An update stays queued until confirmed, so one
// returned to a poll whose answer never reached the bot (it was cancelled, or its process
// exited) is returned again by the next poll, as by Telegram.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request) {
	timeout, _ := strconv.Atoi(r.FormValue("timeout"))
	offset, _ := strconv.ParseInt(r.FormValue("offset"), 10, 64)
	// Polls are held at most a second (Telegram holds them up to timeout), so a poll that
	// misses a wake-up costs a second, not a minute.
	deadline := time.After(min(time.Duration(max(timeout, 0))*time.Second, time.Second) + 10*time.Millisecond)
	for {
		s.mu.Lock()
		if s.drops > 0 {
			s.drops--
			s.mu.Unlock()
			s.Dropped <- struct{}{}
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		kept := s.queue[:0]
		var out []json.RawMessage
		for _, u := range s.queue {
			if u.id < offset && !u.again {
				continue // confirmed
			}
			u.again = false
			kept = append(kept, u)
			out = append(out, u.data)
		}
		s.queue = kept
		if len(out) > 0 {
			s.mu.Unlock()
			s.reply(w, out)
			return
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			s.reply(w, []any{})
			return
		case <-r.Context().Done():
			return
		}
	}
}
