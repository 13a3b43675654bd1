package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Session is one agent conversation. Sessions belong to the platform they came from (Source:
// "cli", "api", …); listing, searching and resuming stay within the caller's source unless the
// caller explicitly widens the [SessionFilter].
type Session struct {
	ID        string // e.g. 20261125-134501-ab12cd: UTC creation second, then 6 random hex digits
	Source    string // platform the session came from: "cli", "api", …
	Profile   string
	Title     string
	Model     string
	CreatedAt time.Time // UTC
	UpdatedAt time.Time // UTC; time of the last message appended (CreatedAt until then)
	Messages  int       // how many messages the session holds
}

// ToolCall is one tool call made by an assistant message.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // raw JSON text as the model produced it; stored verbatim, even if invalid
}

// Message roles.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	RoleTool      = "tool"
)

// Message is one message of a session.
type Message struct {
	ID         int64      // assigned by AppendMessage(s); increasing, never reused
	SessionID  string     // session the message belongs to
	Role       string     // RoleSystem, RoleUser, RoleAssistant or RoleTool
	Content    string     // invalid UTF-8 is stored with U+FFFD in place of the bad bytes
	ToolCalls  []ToolCall // assistant messages only
	ToolCallID string     // tool messages: the ToolCall.ID this is the result of (required)
	Name       string     // tool messages: the tool's name
	CreatedAt  time.Time  // UTC; a zero CreatedAt is stored as the time of the append
}

// SessionFilter scopes a read or delete to one source (platform). Source is required unless
// AllSources is set; a session of another source is treated as not existing.
type SessionFilter struct {
	Source     string // the caller's platform; required unless AllSources
	AllSources bool   // widen to every source (e.g. an admin listing)
	Limit      int    // most results; <= 0 means no limit for ListSessions, DefaultSearchLimit for Search
}

// SearchHit is one message matching a [DB.Search] query.
type SearchHit struct {
	SessionID string
	MessageID int64
	Role      string
	Snippet   string  // matching excerpt; matched terms between SnippetOpen and SnippetClose
	Rank      float64 // relevance (negated FTS5 bm25): higher is better; hits come best first
	Source    string
	CreatedAt time.Time // UTC, of the message
}

// Search parameters.
const (
	DefaultSearchLimit = 20    // hits returned when SessionFilter.Limit <= 0
	SnippetOpen        = ">>>" // marks the start of a matched term in SearchHit.Snippet
	SnippetClose       = "<<<" // marks its end
	SnippetEllipsis    = "…"   // marks text cut from either end of a snippet
	snippetTokens      = 24    // tokens per snippet (FTS5 allows at most 64)
	maxSearchTerms     = 64    // terms of a query beyond this are ignored
)

// scope returns the SQL condition (on alias.source) and arguments the filter imposes.
func (f SessionFilter) scope(alias string) (string, []any, error) {
	if f.AllSources {
		return "", nil, nil
	}
	if f.Source == "" {
		return "", nil, errors.New("session filter has no source (set Source or AllSources)")
	}
	return " AND " + alias + ".source = ?", []any{f.Source}, nil
}

// newSessionID returns a sortable, practically unique session id: the UTC time to the second
// and 24 random bits, e.g. 20261125-134501-ab12cd.
func newSessionID(now time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:]), nil
}

const sessionColumns = `id, source, profile, title, model, created_at, updated_at, messages`

func scanSession(row scanner) (Session, error) {
	var (
		s                Session
		created, updated string
	)
	if err := row.Scan(&s.ID, &s.Source, &s.Profile, &s.Title, &s.Model, &created, &updated, &s.Messages); err != nil {
		return Session{}, err
	}
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return Session{}, err
	}
	if s.UpdatedAt, err = parseTime(updated); err != nil {
		return Session{}, err
	}
	return s, nil
}

const insertSessionSQL = `INSERT INTO sessions (` + sessionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, 0)
ON CONFLICT (id) DO NOTHING`

// CreateSession starts a session from source (the platform, e.g. "cli"; required) and returns
// it with a new id.
func (db *DB) CreateSession(ctx context.Context, source, profile, model, title string) (Session, error) {
	if source == "" {
		return Session{}, errors.New("store: create session: source is empty")
	}
	insert, err := db.stmts().get(ctx, insertSessionSQL)
	if err != nil {
		return Session{}, fmt.Errorf("store: create session: %w", err)
	}
	for range 8 { // a second's 2^24 ids make a clash unlikely; retry one anyway
		now := time.Now()
		id, err := newSessionID(now)
		if err != nil {
			return Session{}, fmt.Errorf("store: create session: %w", err)
		}
		stamp := formatTime(now)
		err = db.inGroupTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			return changed(tx.StmtContext(ctx, insert).ExecContext(ctx, id, source, profile, title, model, stamp, stamp))
		})
		if errors.Is(err, ErrNotFound) {
			continue // id taken
		}
		if err != nil {
			return Session{}, fmt.Errorf("store: create session: %w", err)
		}
		// Built here rather than read back: the row holds exactly these values, and the time
		// goes through its stored form so it equals what GetSession will return.
		created, err := parseTime(stamp)
		if err != nil {
			return Session{}, fmt.Errorf("store: create session: %w", err)
		}
		return Session{ID: id, Source: source, Profile: profile, Title: title, Model: model,
			CreatedAt: created, UpdatedAt: created}, nil
	}
	return Session{}, errors.New("store: create session: no free session id")
}

// GetSession returns the session with the given id, or an error wrapping [ErrNotFound] when
// there is none within the filter's source.
func (db *DB) GetSession(ctx context.Context, id string, f SessionFilter) (Session, error) {
	where, args, err := f.scope("s")
	if err != nil {
		return Session{}, fmt.Errorf("store: get session %q: %w", id, err)
	}
	s, err := queryOne(ctx, db, scanSession, `SELECT `+sessionColumns+` FROM sessions s WHERE s.id = ?`+where, append([]any{id}, args...)...)
	if err != nil {
		return Session{}, fmt.Errorf("store: get session %q: %w", id, err)
	}
	return s, nil
}

// ListSessions returns the sessions within the filter, most recently updated first.
func (db *DB) ListSessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	where, args, err := f.scope("s")
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	out, err := queryAll(ctx, db, scanSession, `SELECT `+sessionColumns+` FROM sessions s WHERE 1`+where+
		` ORDER BY s.updated_at DESC, s.id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	return out, nil
}

// DeleteSession deletes the session and all its messages (and their search index entries) in
// one transaction. It returns an error wrapping [ErrNotFound], and changes nothing, when there
// is no such session within the filter's source.
func (db *DB) DeleteSession(ctx context.Context, id string, f SessionFilter) error {
	where, args, err := f.scope("s")
	if err != nil {
		return fmt.Errorf("store: delete session %q: %w", id, err)
	}
	if err := db.execChanging(ctx, `DELETE FROM sessions AS s WHERE s.id = ?`+where, append([]any{id}, args...)...); err != nil {
		return fmt.Errorf("store: delete session %q: %w", id, err)
	}
	return nil
}

// SetSessionTitle renames a session. It returns an error wrapping [ErrNotFound] when there is
// no such session. UpdatedAt is not changed: it tracks messages.
func (db *DB) SetSessionTitle(ctx context.Context, id, title string) error {
	if err := db.execChanging(ctx, `UPDATE sessions SET title = ? WHERE id = ?`, title, id); err != nil {
		return fmt.Errorf("store: set title of session %q: %w", id, err)
	}
	return nil
}

// toolCallJSON is how a ToolCall is stored (the OpenAI shape, arguments as a string).
type toolCallJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

func encodeToolCalls(calls []ToolCall) (any, error) {
	if len(calls) == 0 {
		return nil, nil // NULL
	}
	js := make([]toolCallJSON, len(calls))
	for i, c := range calls {
		js[i] = toolCallJSON(c)
	}
	b, err := json.Marshal(js)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func decodeToolCalls(s sql.NullString) ([]ToolCall, error) {
	if !s.Valid {
		return nil, nil
	}
	var js []toolCallJSON
	if err := json.Unmarshal([]byte(s.String), &js); err != nil {
		return nil, fmt.Errorf("bad stored tool calls: %w", err)
	}
	calls := make([]ToolCall, len(js))
	for i, c := range js {
		calls[i] = ToolCall(c)
	}
	return calls, nil
}

func (m Message) validate() error {
	if m.SessionID == "" {
		return errors.New("session id is empty")
	}
	switch m.Role {
	case RoleSystem, RoleUser, RoleAssistant, RoleTool:
	default:
		return fmt.Errorf("role %q is not system, user, assistant or tool", m.Role)
	}
	if len(m.ToolCalls) > 0 && m.Role != RoleAssistant {
		return fmt.Errorf("a %s message has tool calls; only assistant messages may", m.Role)
	}
	if m.Role == RoleTool && m.ToolCallID == "" {
		return errors.New("tool message has no tool call id")
	}
	return nil
}

// AppendMessage appends m to its session in one transaction, bumping the session's UpdatedAt
// and Messages, and returns it with its ID (and CreatedAt, if it was zero) set. Once it
// returns nil the message is committed: the process being killed afterwards does not lose it
// (with synchronous=NORMAL, see dsn, an OS crash or power cut may still lose the last
// commits, though never corrupt the file). It returns an error wrapping [ErrNotFound] when the
// session does not exist.
func (db *DB) AppendMessage(ctx context.Context, m Message) (Message, error) {
	out, err := db.appendMessages(ctx, []Message{m})
	if err != nil {
		return Message{}, fmt.Errorf("store: append message to session %q: %w", m.SessionID, err)
	}
	return out[0], nil
}

// AppendMessages appends a turn's messages, in order, in one transaction: all are committed
// or none is. Otherwise it is [DB.AppendMessage] for each. The messages may belong to
// different sessions.
func (db *DB) AppendMessages(ctx context.Context, ms []Message) ([]Message, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	out, err := db.appendMessages(ctx, ms)
	if err != nil {
		return nil, fmt.Errorf("store: append %d messages: %w", len(ms), err)
	}
	return out, nil
}

func (db *DB) appendMessages(ctx context.Context, ms []Message) ([]Message, error) {
	out := make([]Message, len(ms))
	now := time.Now()
	type bump struct {
		n      int
		latest time.Time
	}
	bumps := map[string]*bump{}
	var order []string // sessions in first-seen order, for a deterministic update order
	calls := make([]any, len(ms))
	for i, m := range ms {
		if err := m.validate(); err != nil {
			if len(ms) > 1 {
				return nil, fmt.Errorf("message %d: %w", i, err)
			}
			return nil, err
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		m.CreatedAt = m.CreatedAt.UTC()
		m.Content = strings.ToValidUTF8(m.Content, "\uFFFD") // keep the message, not its bad bytes
		var err error
		if calls[i], err = encodeToolCalls(m.ToolCalls); err != nil {
			return nil, fmt.Errorf("message %d: tool calls: %w", i, err)
		}
		out[i] = m
		b := bumps[m.SessionID]
		if b == nil {
			b = &bump{}
			bumps[m.SessionID] = b
			order = append(order, m.SessionID)
		}
		b.n++
		if m.CreatedAt.After(b.latest) {
			b.latest = m.CreatedAt
		}
	}
	// The statements are prepared (or found prepared) before the transaction begins: preparing
	// one for the first time takes a connection of its own, which must not be waited for while
	// this one holds a connection and the write lock.
	stmts := db.stmts()
	bumpStmt, err := stmts.get(ctx, bumpSessionSQL)
	if err != nil {
		return nil, err
	}
	if err := stmts.prepare(ctx, ftsProgressSQL, ftsIndexSQL, ftsAdvanceSQL); err != nil {
		return nil, err
	}
	var insertStmt *sql.Stmt // nil for a turn too long to keep a statement for
	if len(out) <= maxCachedInsertRows {
		if insertStmt, err = stmts.get(ctx, insertMessagesSQL(len(out))); err != nil {
			return nil, err
		}
	}
	// Appends from other turns may share the transaction and its commit (see groupCommit);
	// this call returns once the commit that holds its messages succeeded.
	err = db.inGroupTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		bump := tx.StmtContext(ctx, bumpStmt)
		for _, id := range order {
			b := bumps[id]
			if err := changed(bump.ExecContext(ctx, b.n, formatTime(b.latest), id)); err != nil {
				return fmt.Errorf("session %q: %w", id, err)
			}
		}
		// One multi-row INSERT per chunk rather than one per message: fewer statements to run,
		// and ids worked out from the last one (see insertMessages).
		for lo := 0; lo < len(out); lo += maxRowsPerInsert {
			if err := insertMessages(ctx, tx, insertStmt, out[lo:min(lo+maxRowsPerInsert, len(out))], calls[lo:]); err != nil {
				return err
			}
		}
		return indexTail(ctx, tx, stmts, out[len(out)-1].ID, ftsBatch)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ftsBatch is how many unindexed messages (the tail) an append lets accumulate before it
// indexes them in its own transaction. FTS5 writes an index segment per transaction that
// touches it, and merges segments as they pile up; that was about two thirds of an append's
// CPU when every append indexed its own messages. A search indexes the tail first, whatever
// its length, so it never misses a committed message; a larger batch makes appends cheaper
// and that first search slower (indexing costs some 10 µs a message).
const ftsBatch = 512

const (
	ftsProgressSQL = `SELECT indexed_upto FROM messages_fts_progress`
	ftsIndexSQL    = `INSERT INTO messages_fts (rowid, content) SELECT id, content FROM messages WHERE id > ? AND id <= ?`
	ftsAdvanceSQL  = `UPDATE messages_fts_progress SET indexed_upto = ?`
	// ftsPendingSQL is true when messages were appended above the indexed ones. AUTOINCREMENT
	// keeps the highest id ever given in sqlite_sequence: one row to read, unlike max(id).
	ftsPendingSQL = `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0) > indexed_upto FROM messages_fts_progress`
)

// indexTail indexes the messages above messages_fts_progress up to last, the highest message
// id there is, when there are at least batch of them. tx holds the write lock.
func indexTail(ctx context.Context, tx *sql.Tx, stmts *stmtCache, last int64, batch int64) error {
	progress, index, advance := stmts.cached(ftsProgressSQL), stmts.cached(ftsIndexSQL), stmts.cached(ftsAdvanceSQL)
	var upto int64
	if err := tx.StmtContext(ctx, progress).QueryRowContext(ctx).Scan(&upto); err != nil {
		return fmt.Errorf("search index progress: %w", err)
	}
	if last-upto < batch {
		return nil
	}
	if _, err := tx.StmtContext(ctx, index).ExecContext(ctx, upto, last); err != nil {
		return fmt.Errorf("index messages %d to %d for search: %w", upto+1, last, err)
	}
	if _, err := tx.StmtContext(ctx, advance).ExecContext(ctx, last); err != nil {
		return fmt.Errorf("search index progress: %w", err)
	}
	return nil
}

// indexPending indexes every message not yet in the search index, so that a search that
// follows finds every message committed before it began.
func (db *DB) indexPending(ctx context.Context) error {
	stmts := db.stmts()
	if err := stmts.prepare(ctx, ftsPendingSQL, ftsProgressSQL, ftsIndexSQL, ftsAdvanceSQL); err != nil {
		return err
	}
	var pending bool
	if err := stmts.cached(ftsPendingSQL).QueryRowContext(ctx).Scan(&pending); err != nil {
		return fmt.Errorf("search index progress: %w", err)
	}
	if !pending {
		return nil
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0)`).Scan(&last); err != nil {
			return fmt.Errorf("search index progress: %w", err)
		}
		return indexTail(ctx, tx, stmts, last, 1)
	})
}

// maxRowsPerInsert bounds one INSERT's bound parameters (7 a row) well below SQLite's limit.
const maxRowsPerInsert = 500

// insertMessages inserts ms (calls[i] is the encoded ToolCalls of ms[i]) in one statement and
// sets their IDs. stmt is insertMessagesSQL(len(ms)) prepared, or nil to prepare it here.
//
// The IDs are worked out from the last one rather than read back with RETURNING, which costs
// a result row per message through database/sql. That is exact: the transaction holds the
// write lock (BEGIN IMMEDIATE, see dsn), and AUTOINCREMENT gives each row of one INSERT the id
// after the previous row's, so the rows hold last-n+1 … last in VALUES order.
// last_insert_rowid is that of the last messages row: the trigger's insert into messages_fts
// does not change it once the trigger returns.
func insertMessages(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, ms []Message, calls []any) error {
	args := make([]any, 0, 7*len(ms))
	for i := range ms {
		m := &ms[i]
		args = append(args, m.SessionID, m.Role, m.Content, calls[i], m.ToolCallID, m.Name, formatTime(m.CreatedAt))
	}
	var (
		res sql.Result
		err error
	)
	if stmt != nil {
		res, err = tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
	} else {
		res, err = tx.ExecContext(ctx, insertMessagesSQL(len(ms)), args...)
	}
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	last, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if n != int64(len(ms)) {
		return fmt.Errorf("inserted %d messages, want %d", n, len(ms))
	}
	for i := range ms {
		ms[i].ID = last - int64(len(ms)-1-i)
	}
	return nil
}

// insertMessagesSQL is the INSERT of n messages.
func insertMessagesSQL(n int) string {
	const (
		head = `INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, name, created_at) VALUES `
		row  = `(?, ?, ?, ?, ?, ?, ?)`
	)
	var q strings.Builder
	q.Grow(len(head) + (len(row)+1)*n)
	q.WriteString(head)
	for i := range n {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(row)
	}
	return q.String()
}

// bumpSessionSQL counts a turn's messages into their session and moves its UpdatedAt.
const bumpSessionSQL = `UPDATE sessions SET messages = messages + ?, updated_at = max(updated_at, ?) WHERE id = ?`

// maxCachedInsertRows is the longest turn whose INSERT is kept prepared (see stmtCache); one
// statement is kept for each length up to it, each compiled on every pooled connection that
// runs it. Longer turns are rare and prepare their own.
const maxCachedInsertRows = 16

// stmtCache keeps a database's prepared statements for the session store's frequent calls
// (appending, creating a session, searching), each under its SQL text. Otherwise the driver
// compiles the SQL on every call, and that was an eighth of an append's CPU time: the INSERT's
// program holds the FTS5 trigger and the constraint checks. database/sql prepares a kept
// statement on each pooled connection the first time that connection runs it, and reuses it
// from then on (see [sql.Tx.StmtContext]).
type stmtCache struct {
	sql   *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// stmts returns db's statement cache.
func (db *DB) stmts() *stmtCache { return db.cache }

// get returns the prepared statement for query, preparing it on first use. It takes a pooled
// connection to prepare, so it must not be called inside a transaction (see appendMessages).
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	s := c.stmts[query]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := c.sql.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.stmts[query]; prev != nil { // prepared meanwhile by another caller
		s.Close()
		return prev, nil
	}
	c.stmts[query] = s
	return s, nil
}

// prepare makes sure each query is prepared, so that [stmtCache.cached] finds it; like get,
// it must not be called inside a transaction.
func (c *stmtCache) prepare(ctx context.Context, queries ...string) error {
	for _, q := range queries {
		if _, err := c.get(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// cached returns the statement prepare prepared for query.
func (c *stmtCache) cached(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, s := range c.stmts {
		s.Close()
		delete(c.stmts, q)
	}
}

const messageColumns = `m.id, m.session_id, m.role, m.content, m.tool_calls, m.tool_call_id, m.name, m.created_at`

// Messages returns the session's messages in the order they were appended. It returns an
// error wrapping [ErrNotFound] when there is no such session within the filter's source (an
// existing session without messages gives an empty slice and no error).
func (db *DB) Messages(ctx context.Context, sessionID string, f SessionFilter) ([]Message, error) {
	where, args, err := f.scope("s")
	if err != nil {
		return nil, fmt.Errorf("store: messages of session %q: %w", sessionID, err)
	}
	// One statement, so the existence check and the messages come from one snapshot: a session
	// without messages is one row of NULLs.
	// Kept prepared (see stmtCache): an agent reads its session at the start of every turn.
	stmt, err := db.stmts().get(ctx, `
SELECT `+messageColumns+` FROM sessions s LEFT JOIN messages m ON m.session_id = s.id
WHERE s.id = ?`+where+` ORDER BY m.id`)
	if err != nil {
		return nil, fmt.Errorf("store: messages of session %q: %w", sessionID, err)
	}
	rows, err := stmt.QueryContext(ctx, append([]any{sessionID}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: messages of session %q: %w", sessionID, err)
	}
	defer rows.Close()
	out := []Message{}
	found := false
	for rows.Next() {
		found = true
		var (
			id                           sql.NullInt64
			sid, role, content, tcid, nm sql.NullString
			calls, created               sql.NullString
		)
		if err := rows.Scan(&id, &sid, &role, &content, &calls, &tcid, &nm, &created); err != nil {
			return nil, fmt.Errorf("store: messages of session %q: %w", sessionID, err)
		}
		if !id.Valid {
			continue // the session has no messages
		}
		m := Message{ID: id.Int64, SessionID: sid.String, Role: role.String, Content: content.String,
			ToolCallID: tcid.String, Name: nm.String}
		if m.ToolCalls, err = decodeToolCalls(calls); err == nil {
			m.CreatedAt, err = parseTime(created.String)
		}
		if err != nil {
			return nil, fmt.Errorf("store: messages of session %q: message %d: %w", sessionID, m.ID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: messages of session %q: %w", sessionID, err)
	}
	if !found {
		return nil, fmt.Errorf("store: messages of session %q: %w", sessionID, ErrNotFound)
	}
	return out, nil
}

// ftsQuery turns user text into an FTS5 query that cannot be a syntax error: every
// whitespace-separated term becomes a quoted string (quotes inside doubled), so operators
// (AND, OR, NOT, NEAR), column filters, parentheses, '-', '^' and '"' are matched as text, not
// obeyed. The terms are ANDed. A term ending in '*' is a prefix search. Only the first
// maxSearchTerms terms count. It returns "" when the text holds no term.
func ftsQuery(text string) string {
	text = strings.ToValidUTF8(text, " ")
	terms := strings.FieldsFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) // NUL and friends separate terms too
	})
	var b strings.Builder
	n := 0
	for _, t := range terms {
		if n == maxSearchTerms {
			break
		}
		prefix := false
		if strings.HasSuffix(t, "*") {
			t = strings.TrimRight(t, "*")
			prefix = true
		}
		if !strings.ContainsFunc(t, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }) {
			continue // nothing the tokenizer would index
		}
		if n > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(t, `"`, `""`))
		b.WriteByte('"')
		if prefix {
			b.WriteByte('*')
		}
		n++
	}
	return b.String()
}

// searchSQL is the query of [DB.Search]; where is the filter's condition on s.source. Only
// rows with rowid >= the bound parameter after the MATCH are ranked (see SearchWindow).
//
// It orders by rank (FTS5's bm25 column), not by bm25(...): FTS5 then hands rows over best
// first itself, SQLite needs no sorter, and snippet() is computed only for the rows returned.
// With a sorter SQLite would compute a snippet for every matching row first (several times
// slower on common words). TestSearchPlan keeps it that way.
func searchSQL(where string) string {
	return `
SELECT m.session_id, m.id, m.role, snippet(messages_fts, 0, ?, ?, ?, ?), rank, s.source, m.created_at
FROM messages_fts
JOIN messages m ON m.id = messages_fts.rowid
JOIN sessions s ON s.id = m.session_id
WHERE messages_fts MATCH ? AND messages_fts.rowid >= ?` + where + `
ORDER BY rank
LIMIT ?`
}

// SearchWindow is how many of a query's most recent matches are ranked. FTS5 scores every
// match it ranks (about a microsecond each), so a word in most messages took 200 ms and more
// at 100,000 messages; past this many matches the older ones are not ranked and the best hits
// come from the most recent SearchWindow. Walking matches newest first without scoring them
// costs a tenth of scoring them.
const SearchWindow = 2000

// searchFloorSQL finds the rowid of the SearchWindow-th most recent match, within the
// filter's source when where is not empty; no row means the query matches fewer messages
// than that, and all of them are ranked.
func searchFloorSQL(where string) string {
	if where == "" {
		return `SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?`
	}
	return `
SELECT messages_fts.rowid
FROM messages_fts
JOIN messages m ON m.id = messages_fts.rowid
JOIN sessions s ON s.id = m.session_id
WHERE messages_fts MATCH ?` + where + `
ORDER BY messages_fts.rowid DESC
LIMIT 1 OFFSET ?`
}

// Search finds messages matching query, best match first (FTS5 bm25), within the filter's
// source, at most f.Limit of them (DefaultSearchLimit when f.Limit <= 0). When more than
// SearchWindow messages match, the best come from the most recent SearchWindow matches. query is user text,
// not FTS5 syntax: its whitespace-separated terms must all occur (words are stemmed, case and
// diacritics ignored); a trailing '*' makes a term a prefix. Operators and punctuation are
// taken literally, so no query is a syntax error; a query without words finds nothing.
func (db *DB) Search(ctx context.Context, query string, f SessionFilter) ([]SearchHit, error) {
	where, args, err := f.scope("s")
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	match := ftsQuery(query)
	if match == "" {
		return []SearchHit{}, nil
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	if err := db.indexPending(ctx); err != nil {
		return nil, fmt.Errorf("store: search %q: %w", query, err)
	}
	// The window is first the most recent matches of every source: finding it walks the index
	// alone, while finding a source's own walks two joined tables a row (several times slower,
	// and slower still the rarer that source is). Only when that window holds too few of the
	// source's messages is the source's own window looked for.
	floor, err := db.searchFloor(ctx, match, "", nil)
	if err != nil {
		return nil, fmt.Errorf("store: search %q: %w", query, err)
	}
	hits, err := db.searchFrom(ctx, match, floor, where, args, limit)
	if err == nil && len(hits) < limit && floor > 0 && where != "" {
		if floor, err = db.searchFloor(ctx, match, where, args); err == nil {
			hits, err = db.searchFrom(ctx, match, floor, where, args, limit)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: search %q: %w", query, err)
	}
	return hits, nil
}

// searchFrom ranks the matches of match with rowid >= floor within where (the filter's
// condition, args its arguments) and returns the best limit of them.
func (db *DB) searchFrom(ctx context.Context, match string, floor int64, where string, args []any, limit int) ([]SearchHit, error) {
	stmt, err := db.stmts().get(ctx, searchSQL(where))
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx,
		append(append([]any{SnippetOpen, SnippetClose, SnippetEllipsis, snippetTokens, match, floor}, args...), limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hits := []SearchHit{}
	for rows.Next() {
		var (
			h       SearchHit
			created string
		)
		if err := rows.Scan(&h.SessionID, &h.MessageID, &h.Role, &h.Snippet, &h.Rank, &h.Source, &created); err != nil {
			return nil, err
		}
		h.Rank = -h.Rank // bm25: lower is better
		if h.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return hits, nil
}

// searchFloor returns the lowest rowid Search ranks for match within where (the filter's
// condition on s.source, "" for every source): 0 when it matches at most SearchWindow
// messages there, else the rowid of the SearchWindow-th most recent.
func (db *DB) searchFloor(ctx context.Context, match, where string, args []any) (int64, error) {
	stmt, err := db.stmts().get(ctx, searchFloorSQL(where))
	if err != nil {
		return 0, err
	}
	var floor int64
	err = stmt.QueryRowContext(ctx, append(append([]any{match}, args...), SearchWindow-1)...).Scan(&floor)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return floor, err
}
