package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hermes-agent/hermes/store"
)

// The floor under BenchmarkAPIServerChatWithTool: an HTTP server with no hermes code around
// it doing a turn's work as `hermes api` does it — read the chat request, create the session,
// commit the user's message, stream the model's reply (the same request the agent sends,
// tools and all, to the same scripted model), commit the assistant's tool call, run the tool,
// commit its result, stream the second reply, commit the answer, send the completion. The
// SQL is the store's (each message its own transaction: bump the session, insert, read the
// search index progress, index a full tail of 512), prepared once, on a pool opened with
// store.DSN. The tool is textstats.count done in Go: the WASM call is counted against hermes.
// It does not read the session back (hermes' agent loads a session's history each turn).
//
// It runs as this test binary re-executed with floorServerEnv set (TestMain), so that its CPU
// time is its own, as `hermes api`'s is.
const (
	floorServerEnv  = "HERMES_TEST_FLOOR_SERVER" // the database path
	floorModelEnv   = "HERMES_TEST_FLOOR_MODEL"  // the model's base URL (…/v1)
	floorRequestEnv = "HERMES_TEST_FLOOR_REQUEST"
)

// The store's statements (store/sessions.go), verbatim.
const (
	floorInsertSession = `INSERT INTO sessions (id, source, profile, title, model, created_at, updated_at, messages) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
ON CONFLICT (id) DO NOTHING`
	floorBump     = `UPDATE sessions SET messages = messages + ?, updated_at = max(updated_at, ?) WHERE id = ?`
	floorInsert   = `INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	floorProgress = `SELECT indexed_upto FROM messages_fts_progress`
	floorIndex    = `INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages WHERE id > ? AND id <= ?`
	floorAdvance  = `UPDATE messages_fts_progress SET indexed_upto = ?`
	floorFTSBatch = 512
)

type floorServer struct {
	db                                              *sql.DB
	session, bump, insert, progress, index, advance *sql.Stmt
	model                                           string
	request                                         map[string]json.RawMessage // the agent's request without its messages
	client                                          *http.Client
}

// runFloorServer serves until SIGTERM; it says where it listens on stderr.
func runFloorServer() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "floor server:", err)
		return 1
	}
	dsn, err := store.DSN(os.Getenv(floorServerEnv))
	if err != nil {
		return fail(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fail(err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	f := &floorServer{db: db, model: os.Getenv(floorModelEnv),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	raw, err := os.ReadFile(os.Getenv(floorRequestEnv))
	if err != nil {
		return fail(err)
	}
	if err := json.Unmarshal(raw, &f.request); err != nil {
		return fail(err)
	}
	for _, s := range []struct {
		stmt **sql.Stmt
		q    string
	}{{&f.session, floorInsertSession}, {&f.bump, floorBump}, {&f.insert, floorInsert},
		{&f.progress, floorProgress}, {&f.index, floorIndex}, {&f.advance, floorAdvance}} {
		if *s.stmt, err = db.Prepare(s.q); err != nil {
			return fail(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.turn)}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
		<-sig
		srv.Shutdown(context.Background())
	}()
	fmt.Fprintf(os.Stderr, "floor serving on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fail(err)
	}
	return 0
}

type floorMessage struct {
	Role       string          `json:"role"`
	Content    string          `json:"content"`
	ToolCalls  []floorToolCall `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

type floorToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func (f *floorServer) turn(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Messages []floorMessage `json:"messages"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Messages) == 0 {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	user := req.Messages[len(req.Messages)-1].Content
	var idb [3]byte
	crand.Read(idb[:])
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")
	sid := time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(idb[:])
	fail := func(err error) { http.Error(w, err.Error(), http.StatusInternalServerError) }
	if err := f.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.StmtContext(ctx, f.session).ExecContext(ctx, sid, "api", "default", user, "scripted", now, now)
		return err
	}); err != nil {
		fail(err)
		return
	}
	msgs := []floorMessage{{Role: "user", Content: user}}
	if err := f.save(ctx, sid, msgs[0]); err != nil {
		fail(err)
		return
	}
	var answer floorMessage
	for range 4 {
		reply, err := f.complete(ctx, msgs)
		if err != nil {
			fail(err)
			return
		}
		if err := f.save(ctx, sid, reply); err != nil {
			fail(err)
			return
		}
		msgs = append(msgs, reply)
		if len(reply.ToolCalls) == 0 {
			answer = reply
			break
		}
		for _, call := range reply.ToolCalls {
			result := floorCount(call.Function.Arguments)
			m := floorMessage{Role: "tool", Content: result, ToolCallID: call.ID}
			if err := f.save(ctx, sid, m); err != nil {
				fail(err)
				return
			}
			msgs = append(msgs, m)
		}
	}
	var id [12]byte
	crand.Read(id[:])
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "chatcmpl-" + hex.EncodeToString(id[:]), "object": "chat.completion", "created": time.Now().Unix(), "model": "hermes",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": answer.Content}, "finish_reason": "stop"}},
		"usage":   map[string]int{"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
	})
}

func (f *floorServer) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// save commits one message as the store's append does.
func (f *floorServer) save(ctx context.Context, sid string, m floorMessage) error {
	var calls any
	if len(m.ToolCalls) > 0 {
		b, _ := json.Marshal(m.ToolCalls)
		calls = string(b)
	}
	name := ""
	if m.Role == "tool" {
		name = "textstats.count"
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000000Z")
	return f.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.StmtContext(ctx, f.bump).ExecContext(ctx, 1, now, sid); err != nil {
			return err
		}
		res, err := tx.StmtContext(ctx, f.insert).ExecContext(ctx, sid, m.Role, m.Content, calls, m.ToolCallID, name, now)
		if err != nil {
			return err
		}
		last, _ := res.LastInsertId()
		var upto int64
		if err := tx.StmtContext(ctx, f.progress).QueryRowContext(ctx).Scan(&upto); err != nil {
			return err
		}
		if last-upto >= floorFTSBatch {
			if _, err := tx.StmtContext(ctx, f.index).ExecContext(ctx, upto, last); err != nil {
				return err
			}
			if _, err := tx.StmtContext(ctx, f.advance).ExecContext(ctx, last); err != nil {
				return err
			}
		}
		return nil
	})
}

// complete sends the agent's request with msgs and reads the streamed reply.
func (f *floorServer) complete(ctx context.Context, msgs []floorMessage) (floorMessage, error) {
	body := make(map[string]any, len(f.request)+1)
	for k, v := range f.request {
		body[k] = v
	}
	body["messages"] = msgs
	data, err := json.Marshal(body)
	if err != nil {
		return floorMessage{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.model+"/chat/completions", bytes.NewReader(data))
	if err != nil {
		return floorMessage{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	res, err := f.client.Do(req)
	if err != nil {
		return floorMessage{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return floorMessage{}, fmt.Errorf("model: %d %s", res.StatusCode, b)
	}
	out := floorMessage{Role: "assistant"}
	var content strings.Builder
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			break
		}
		var ch struct {
			Choices []struct {
				Delta struct {
					Content   string `json:"content"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			return floorMessage{}, err
		}
		for _, c := range ch.Choices {
			content.WriteString(c.Delta.Content)
			for _, tc := range c.Delta.ToolCalls {
				for len(out.ToolCalls) <= tc.Index {
					out.ToolCalls = append(out.ToolCalls, floorToolCall{Type: "function"})
				}
				call := &out.ToolCalls[tc.Index]
				if tc.ID != "" {
					call.ID = tc.ID
				}
				call.Function.Name += tc.Function.Name
				call.Function.Arguments += tc.Function.Arguments
			}
		}
	}
	out.Content = content.String()
	return out, sc.Err()
}

// floorCount is textstats.count: bytes, lines and words of {"text": …}.
func floorCount(args string) string {
	var in struct {
		Text string `json:"text"`
	}
	json.Unmarshal([]byte(args), &in)
	lines := strings.Count(in.Text, "\n")
	if in.Text != "" && !strings.HasSuffix(in.Text, "\n") {
		lines++
	}
	return `{"bytes":` + strconv.Itoa(len(in.Text)) + `,"lines":` + strconv.Itoa(lines) + `,"words":` + strconv.Itoa(len(strings.Fields(in.Text))) + `}`
}

// startFloorServer runs the floor server on dbPath (created with the store's schema) against
// the model at modelURL (…/v1), sending request (the agent's request without its messages).
func startFloorServer(b *testing.B, dbPath, modelURL string, request []byte) *apiProcess {
	b.Helper()
	db, err := store.Open(dbPath)
	if err != nil {
		b.Fatal(err)
	}
	db.Close()
	reqFile := dbPath + ".request.json"
	if err := os.WriteFile(reqFile, request, 0o600); err != nil {
		b.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), floorServerEnv+"="+dbPath, floorModelEnv+"="+modelURL, floorRequestEnv+"="+reqFile)
	return startServerProcess(b, cmd, floorServingRe)
}
