package store

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	cliOnly = SessionFilter{Source: "cli"}
	apiOnly = SessionFilter{Source: "api"}
	all     = SessionFilter{AllSources: true}
)

func newSession(t testing.TB, db *DB, source string) Session {
	t.Helper()
	s, err := db.CreateSession(context.Background(), source, "default", "test-model", "t")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appendText(t testing.TB, db *DB, sid, role, content string) Message {
	t.Helper()
	m, err := db.AppendMessage(context.Background(), Message{SessionID: sid, Role: role, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func messageIDs(ms []Message) []int64 {
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func hitIDs(hs []SearchHit) []int64 {
	ids := make([]int64, len(hs))
	for i, h := range hs {
		ids[i] = h.MessageID
	}
	return ids
}

// checkFTS runs FTS5's own check that the index matches the messages table.
func checkFTS(t testing.TB, db *DB) {
	t.Helper()
	if err := db.indexPending(context.Background()); err != nil {
		t.Fatalf("index pending messages: %v", err)
	}
	if _, err := db.sql.Exec(`INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		t.Errorf("FTS index out of sync with messages: %v", err)
	}
}

func TestFTS5CompiledIn(t *testing.T) {
	db, _ := openTest(t)
	var n int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM pragma_compile_options WHERE compile_options = 'ENABLE_FTS5'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatal("modernc.org/sqlite was built without ENABLE_FTS5")
	}
}

func TestSessionCRUD(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	before := time.Now().UTC().Truncate(time.Second)
	s, err := db.CreateSession(ctx, "cli", "work", "gpt-x", "first")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^\d{8}-\d{6}-[0-9a-f]{6}$`).MatchString(s.ID) {
		t.Errorf("id %q not like 20261125-134501-ab12cd", s.ID)
	}
	if stamp, err := time.Parse("20060102-150405", s.ID[:15]); err != nil || stamp.Before(before) || stamp.After(time.Now()) {
		t.Errorf("id %q does not start with the UTC creation time: %v", s.ID, err)
	}
	want := Session{ID: s.ID, Source: "cli", Profile: "work", Title: "first", Model: "gpt-x",
		CreatedAt: s.CreatedAt, UpdatedAt: s.CreatedAt}
	if !reflect.DeepEqual(s, want) || s.CreatedAt.Location() != time.UTC {
		t.Errorf("created %+v, want %+v", s, want)
	}
	if got, err := db.GetSession(ctx, s.ID, cliOnly); err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("GetSession = %+v, %v", got, err)
	}

	// Messages: appended one by one and as a turn, read back in order, counted on the session.
	first := appendText(t, db, s.ID, RoleSystem, "you are hermes")
	turn := []Message{
		{SessionID: s.ID, Role: RoleUser, Content: "list files"},
		{SessionID: s.ID, Role: RoleAssistant, ToolCalls: []ToolCall{
			{ID: "call_1", Name: "ls", Arguments: `{"path":"."}`},
			{ID: "call_2", Name: "bad", Arguments: `{not json`}, // models do this; kept verbatim
		}},
		{SessionID: s.ID, Role: RoleTool, ToolCallID: "call_1", Name: "ls", Content: "a.txt\nb.txt"},
		{SessionID: s.ID, Role: RoleAssistant, Content: "two files", CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))},
	}
	got, err := db.AppendMessages(ctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].ID <= first.ID || (i > 0 && got[i].ID <= got[i-1].ID) {
			t.Errorf("ids not increasing: %d then %v", first.ID, messageIDs(got))
		}
	}
	msgs, err := db.Messages(ctx, s.ID, cliOnly)
	if err != nil {
		t.Fatal(err)
	}
	if wantMsgs := append([]Message{first}, got...); !reflect.DeepEqual(msgs, wantMsgs) {
		t.Errorf("Messages =\n%+v\nwant\n%+v", msgs, wantMsgs)
	}
	if c := msgs[4].CreatedAt; c.Location() != time.UTC || !c.Equal(turn[3].CreatedAt) {
		t.Errorf("explicit CreatedAt stored as %v", c)
	}
	s2, err := db.GetSession(ctx, s.ID, cliOnly)
	if err != nil {
		t.Fatal(err)
	}
	// UpdatedAt is the newest message's time; the back-dated one does not move it back.
	if s2.Messages != 5 || !s2.UpdatedAt.Equal(got[2].CreatedAt) {
		t.Errorf("after 5 messages: Messages %d, UpdatedAt %v", s2.Messages, s2.UpdatedAt)
	}

	// Title.
	if err := db.SetSessionTitle(ctx, s.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if s3, _ := db.GetSession(ctx, s.ID, cliOnly); s3.Title != "renamed" || !s3.UpdatedAt.Equal(s2.UpdatedAt) {
		t.Errorf("after rename: %+v", s3)
	}
	if err := db.SetSessionTitle(ctx, "nope", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("rename of a missing session: %v", err)
	}

	// List: most recently updated first.
	older := newSession(t, db, "cli")
	newer := newSession(t, db, "cli")
	appendText(t, db, older.ID, RoleUser, "bump") // older is now the most recently updated
	list, err := db.ListSessions(ctx, cliOnly)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, l := range list {
		ids = append(ids, l.ID)
	}
	if wantIDs := []string{older.ID, newer.ID, s.ID}; !slices.Equal(ids, wantIDs) {
		t.Errorf("ListSessions order %v, want %v", ids, wantIDs)
	}
	if list, _ := db.ListSessions(ctx, SessionFilter{Source: "cli", Limit: 2}); len(list) != 2 {
		t.Errorf("Limit 2 gave %d", len(list))
	}
	if empty, err := db.Messages(ctx, newer.ID, cliOnly); err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("messages of an empty session: %v, %v", empty, err)
	}

	// Delete takes the messages along.
	if err := db.DeleteSession(ctx, s.ID, cliOnly); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"get", func() error { _, err := db.GetSession(ctx, s.ID, cliOnly); return err }()},
		{"messages", func() error { _, err := db.Messages(ctx, s.ID, cliOnly); return err }()},
		{"delete again", db.DeleteSession(ctx, s.ID, cliOnly)},
		{"append", func() error { _, err := db.AppendMessage(ctx, Message{SessionID: s.ID, Role: RoleUser}); return err }()},
	} {
		t.Run("deleted/"+tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", tc.err)
			}
		})
	}
	var left int
	db.sql.QueryRow(`SELECT COUNT(*) FROM messages WHERE session_id = ?`, s.ID).Scan(&left)
	if left != 0 {
		t.Errorf("%d messages outlived their session", left)
	}
}

func TestCreateSessionErrors(t *testing.T) {
	db, _ := openTest(t)
	if _, err := db.CreateSession(context.Background(), "", "p", "m", "t"); err == nil {
		t.Error("a session without source was created")
	}
	// Many sessions in one second still get distinct ids.
	seen := map[string]bool{}
	for range 200 {
		s := newSession(t, db, "cli")
		if seen[s.ID] {
			t.Fatalf("duplicate id %s", s.ID)
		}
		seen[s.ID] = true
	}
}

func TestAppendMessageInvalid(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s := newSession(t, db, "cli")
	for _, tc := range []struct {
		name     string
		m        Message
		want     string
		notFound bool
	}{
		{name: "no session id", m: Message{Role: RoleUser}, want: "session id is empty"},
		{name: "unknown session", m: Message{SessionID: "20000101-000000-000000", Role: RoleUser}, notFound: true},
		{name: "bad role", m: Message{SessionID: s.ID, Role: "developer"}, want: "role"},
		{name: "empty role", m: Message{SessionID: s.ID}, want: "role"},
		{name: "tool calls on user", m: Message{SessionID: s.ID, Role: RoleUser, ToolCalls: []ToolCall{{ID: "x"}}}, want: "only assistant"},
		{name: "tool without call id", m: Message{SessionID: s.ID, Role: RoleTool, Content: "out"}, want: "tool call id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := db.AppendMessage(ctx, tc.m)
			if err == nil {
				t.Fatal("appended")
			}
			if tc.notFound != errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v", err)
			}
			// A batch with the bad message in the middle writes nothing.
			batch := []Message{{SessionID: s.ID, Role: RoleUser, Content: "ok"}, tc.m, {SessionID: s.ID, Role: RoleUser, Content: "ok"}}
			if _, err := db.AppendMessages(ctx, batch); err == nil {
				t.Fatal("batch appended")
			}
		})
	}
	if got, _ := db.Messages(ctx, s.ID, cliOnly); len(got) != 0 {
		t.Errorf("failed appends left %d messages", len(got))
	}
	if got, _ := db.GetSession(ctx, s.ID, cliOnly); got.Messages != 0 {
		t.Errorf("failed appends counted %d messages", got.Messages)
	}
	if got, err := db.AppendMessages(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("empty batch: %v, %v", got, err)
	}
	// Invalid UTF-8 (say, a tool's binary output) is kept as a message, bad bytes replaced.
	m, err := db.AppendMessage(ctx, Message{SessionID: s.ID, Role: RoleTool, ToolCallID: "c", Content: "ok\xff\xfeend"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Messages(ctx, s.ID, cliOnly); len(got) != 1 || got[0].Content != "ok\uFFFDend" || m.Content != got[0].Content {
		t.Errorf("invalid UTF-8 stored as %+v", got)
	}
}

// A session of one source is invisible to a filter for another, for every operation, and
// visible with AllSources.
func TestSessionIsolation(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	cli := newSession(t, db, "cli")
	appendText(t, db, cli.ID, RoleUser, "secret plans for the zeppelin")
	api := newSession(t, db, "api")
	appendText(t, db, api.ID, RoleUser, "public zeppelin facts")

	type result struct {
		visible bool
		err     error
	}
	ops := []struct {
		name string
		run  func(f SessionFilter) result
	}{
		{"get", func(f SessionFilter) result {
			_, err := db.GetSession(ctx, cli.ID, f)
			return result{err == nil, err}
		}},
		{"list", func(f SessionFilter) result {
			ss, err := db.ListSessions(ctx, f)
			return result{slices.ContainsFunc(ss, func(s Session) bool { return s.ID == cli.ID }), err}
		}},
		{"messages", func(f SessionFilter) result {
			ms, err := db.Messages(ctx, cli.ID, f)
			return result{err == nil && len(ms) == 1, err}
		}},
		{"search", func(f SessionFilter) result {
			hs, err := db.Search(ctx, "zeppelin", f)
			return result{slices.ContainsFunc(hs, func(h SearchHit) bool { return h.SessionID == cli.ID }), err}
		}},
	}
	for _, op := range ops {
		for _, tc := range []struct {
			name    string
			f       SessionFilter
			visible bool
			anyErr  bool // the filter itself is invalid
		}{
			{"api filter", apiOnly, false, false},
			{"other source with limit", SessionFilter{Source: "telegram", Limit: 5}, false, false},
			{"cli filter", cliOnly, true, false},
			{"all sources", all, true, false},
			{"all sources overrides source", SessionFilter{Source: "api", AllSources: true}, true, false},
			{"no source", SessionFilter{}, false, true},
		} {
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				r := op.run(tc.f)
				switch {
				case tc.anyErr:
					if r.err == nil || errors.Is(r.err, ErrNotFound) {
						t.Errorf("empty filter: err = %v, want a filter error", r.err)
					}
				case r.visible != tc.visible:
					t.Errorf("visible = %v (err %v), want %v", r.visible, r.err, tc.visible)
				case !tc.visible && r.err != nil && !errors.Is(r.err, ErrNotFound):
					t.Errorf("err = %v, want nil or ErrNotFound", r.err)
				}
			})
		}
	}
	// The api session's search sees only its own message.
	if hs, err := db.Search(ctx, "zeppelin", apiOnly); err != nil || len(hs) != 1 || hs[0].SessionID != api.ID || hs[0].Source != "api" {
		t.Errorf("api search = %+v, %v", hs, err)
	}
	// Delete through the wrong source changes nothing; through the right one it deletes.
	for _, tc := range []struct {
		name string
		f    SessionFilter
		want string // "nil", "not found" or "filter error"
	}{
		{"api cannot delete cli", apiOnly, "not found"},
		{"no source cannot delete", SessionFilter{}, "filter error"},
		{"cli deletes cli", cliOnly, "nil"},
	} {
		t.Run("delete/"+tc.name, func(t *testing.T) {
			err := db.DeleteSession(ctx, cli.ID, tc.f)
			got := "filter error"
			switch {
			case err == nil:
				got = "nil"
			case errors.Is(err, ErrNotFound):
				got = "not found"
			}
			if got != tc.want {
				t.Errorf("err = %v, want %s", err, tc.want)
			}
		})
	}
	if _, err := db.GetSession(ctx, cli.ID, all); !errors.Is(err, ErrNotFound) {
		t.Errorf("cli session after delete: %v", err)
	}
	if _, err := db.GetSession(ctx, api.ID, apiOnly); err != nil {
		t.Errorf("api session harmed: %v", err)
	}
	// AllSources delete reaches any source.
	if err := db.DeleteSession(ctx, api.ID, all); err != nil {
		t.Errorf("AllSources delete: %v", err)
	}
}

func TestSearchIndexFollowsMessages(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	a := newSession(t, db, "cli")
	b := newSession(t, db, "cli")
	count := func(q string) int {
		t.Helper()
		hs, err := db.Search(ctx, q, SessionFilter{AllSources: true, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(hs)
	}
	steps := []struct {
		name string
		do   func()
		want map[string]int
	}{
		{"insert", func() {
			appendText(t, db, a.ID, RoleUser, "the quick brown fox")
			appendText(t, db, b.ID, RoleUser, "a lazy brown dog")
		}, map[string]int{"brown": 2, "fox": 1, "dog": 1, "cat": 0}},
		{"batch insert", func() {
			if _, err := db.AppendMessages(ctx, []Message{
				{SessionID: a.ID, Role: RoleAssistant, Content: "foxes are quick"},
				{SessionID: b.ID, Role: RoleTool, ToolCallID: "c", Content: "cat output"},
			}); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"fox": 2, "cat": 1, "quick": 2}},
		{"rolled back batch is not indexed", func() {
			db.AppendMessages(ctx, []Message{
				{SessionID: a.ID, Role: RoleUser, Content: "platypus"},
				{SessionID: "missing", Role: RoleUser, Content: "platypus"},
			})
		}, map[string]int{"platypus": 0}},
		{"raw delete of one message", func() {
			if _, err := db.sql.Exec(`DELETE FROM messages WHERE content = 'cat output'`); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"cat": 0, "brown": 2}},
		{"raw update of content", func() {
			if _, err := db.sql.Exec(`UPDATE messages SET content = 'a lazy grey dog' WHERE content = 'a lazy brown dog'`); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"brown": 1, "grey": 1}},
		{"session delete cascades", func() {
			if err := db.DeleteSession(ctx, a.ID, cliOnly); err != nil {
				t.Fatal(err)
			}
		}, map[string]int{"fox": 0, "quick": 0, "brown": 0, "dog": 1}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			for q, n := range st.want {
				if got := count(q); got != n {
					t.Errorf("search %q: %d hits, want %d", q, got, n)
				}
			}
			checkFTS(t, db)
		})
	}
}

func TestSearchRankingAndSnippets(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s := newSession(t, db, "cli")
	filler := strings.Repeat("lorem ipsum dolor sit amet ", 20)
	once := appendText(t, db, s.ID, RoleUser, filler+"kubernetes is mentioned once here. "+filler)
	thrice := appendText(t, db, s.ID, RoleAssistant, "kubernetes kubernetes kubernetes, deploying pods")
	short := appendText(t, db, s.ID, RoleUser, "kubernetes")
	appendText(t, db, s.ID, RoleUser, "nothing relevant")

	hs, err := db.Search(ctx, "kubernetes", cliOnly)
	if err != nil {
		t.Fatal(err)
	}
	if got := hitIDs(hs); len(got) != 3 || got[2] != once.ID {
		t.Fatalf("hits %v: want 3, the long message with one mention last", got)
	}
	if !slices.Contains(hitIDs(hs[:2]), thrice.ID) || !slices.Contains(hitIDs(hs[:2]), short.ID) {
		t.Errorf("hits %v", hitIDs(hs))
	}
	for i, h := range hs {
		if i > 0 && h.Rank > hs[i-1].Rank {
			t.Errorf("rank not descending: %v", hs)
		}
		if h.Rank <= 0 {
			t.Errorf("rank %v, want positive (higher is better)", h.Rank)
		}
		if !strings.Contains(h.Snippet, SnippetOpen+"kubernetes"+SnippetClose) {
			t.Errorf("snippet %q does not mark the term", h.Snippet)
		}
		if h.SessionID != s.ID || h.Source != "cli" || h.CreatedAt.IsZero() || h.Role == "" {
			t.Errorf("hit fields: %+v", h)
		}
	}
	if long := hs[2].Snippet; !strings.Contains(long, SnippetEllipsis) || len(long) > 400 {
		t.Errorf("snippet of a long message is not an excerpt: %q", long)
	}

	for _, tc := range []struct {
		name  string
		query string
		want  []int64 // as a set
	}{
		{"stemming", "deploy", []int64{thrice.ID}},
		{"case folding", "KUBERNETES Pods", []int64{thrice.ID}},
		{"all terms required", "kubernetes mentioned", []int64{once.ID}},
		{"prefix", "kuber*", []int64{once.ID, thrice.ID, short.ID}},
		{"operators are words", "kubernetes OR nothing", nil},
		{"limit", "kubernetes", nil}, // checked below
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cliOnly
			if tc.name == "limit" {
				f.Limit = 1
				hs, err := db.Search(ctx, tc.query, f)
				if err != nil || len(hs) != 1 {
					t.Errorf("limit 1: %v, %v", hitIDs(hs), err)
				}
				return
			}
			hs, err := db.Search(ctx, tc.query, f)
			if err != nil {
				t.Fatal(err)
			}
			got := hitIDs(hs)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("hits %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSearchHostileQueries(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s := newSession(t, db, "cli")
	appendText(t, db, s.ID, RoleUser, `he said "NEAR(x y)" -x OR AND * café naïve 日本語 ключ x`)
	for _, tc := range []struct {
		name  string
		query string
		hit   bool // whether the message must be found
	}{
		{"empty", "", false},
		{"blank", " \t\n ", false},
		{"lone quote", `"`, false},
		{"unbalanced quotes", `"x`, true},
		{"quotes inside", `he"said`, false},
		{"star", "*", false},
		{"leading star", "*x", true},
		{"near", "NEAR(", false},
		{"near full", "NEAR(x y)", true},
		{"near with distance", "NEAR(x y, 2)", false},
		{"or and", "OR AND", true},
		{"and alone", "AND", true},
		{"not", "NOT x", false}, // "not" is not in the message
		{"minus", "-x", true},
		{"caret", "^x", true},
		{"column filter", "content:x", false},
		{"column filter braces", "{content}: x", false},
		{"parens", "((x))", true},
		{"plus", "x + x", true},
		{"colon only", ":", false},
		{"diacritics folded", "cafe naive", true},
		{"cyrillic", "КЛЮЧ", true},
		{"cjk", "日本語", true},
		{"emoji", "🙂", false},
		{"nul", "x\x00y", false},
		{"invalid utf-8", "\xff\xfe x", true},
		{"rtl override", "\u202ex", false},
		{"combining", "e\u0301", false},
		{"sql", "'; DROP TABLE messages; --", false},
		{"many terms", strings.Repeat("x ", 10000), true},
		{"long term", strings.Repeat("x", 100000), false},
		{"only stars", "** * ***", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := db.Search(ctx, tc.query, cliOnly)
			if err != nil {
				t.Fatalf("Search(%q): %v", tc.query, err)
			}
			if tc.hit && len(hs) != 1 {
				t.Errorf("Search(%q) = %d hits, want the message", tc.query, len(hs))
			}
			if hs == nil {
				t.Errorf("nil result, want empty slice")
			}
		})
	}
	if ms, err := db.Messages(ctx, s.ID, cliOnly); err != nil || len(ms) != 1 {
		t.Errorf("messages after hostile searches: %d, %v", len(ms), err)
	}
}

// A database written by the v2 binary (plugins, kv, audit, approvals; no sessions) upgrades
// in place to the current schema and keeps its data.
func TestSessionsUpgradeFromV2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	v2, err := open(ctx, path, migrations[:2])
	if err != nil {
		t.Fatal(err)
	}
	rec := testRecord("alpha")
	putV1Plugin(t, v2, rec)
	putOldKV(t, v2, "alpha", "k", []byte("v"))
	appr, err := v2.AddApproval(ctx, "rm -rf ./x", "recursive delete")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.CreateSession(ctx, "cli", "p", "m", "t"); err == nil {
		t.Error("v2 schema has a sessions table")
	}
	v2.Close()

	db := openUpgraded(t, path)
	if got, err := db.GetPlugin(ctx, "alpha"); err != nil || !reflect.DeepEqual(got, rec) {
		t.Errorf("plugin after upgrade: %+v, %v", got, err)
	}
	if v, ok, err := db.KVGet(ctx, "alpha", "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("kv after upgrade: %q, %v, %v", v, ok, err)
	}
	if as, err := db.ListApprovals(ctx); err != nil || len(as) != 1 || as[0] != appr {
		t.Errorf("approvals after upgrade: %+v, %v", as, err)
	}
	if log, err := db.AuditLog(ctx, "rm -rf ./x", 0); err != nil || len(log) != 1 {
		t.Errorf("audit after upgrade: %+v, %v", log, err)
	}
	s := newSession(t, db, "cli")
	appendText(t, db, s.ID, RoleUser, "after the upgrade")
	if hs, err := db.Search(ctx, "upgrade", cliOnly); err != nil || len(hs) != 1 {
		t.Errorf("search after upgrade: %+v, %v", hs, err)
	}
	db.Close()

	if _, err := open(ctx, path, migrations[:2]); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("v2 binary on v3 file: err = %v, want ErrSchemaTooNew", err)
	}
}

// appendAtOldSchema appends ms to a database at schema v3 to v5 as those binaries did, one
// INSERT a message that the trigger of those schemas indexed, and returns them with their ids.
func appendAtOldSchema(t *testing.T, db *DB, ms ...Message) []Message {
	t.Helper()
	ctx := context.Background()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		for i := range ms {
			m := &ms[i]
			res, err := tx.ExecContext(ctx, insertMessagesSQL(1), m.SessionID, m.Role, m.Content, nil, m.ToolCallID, m.Name, formatTime(time.Now()))
			if err != nil {
				return err
			}
			if m.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, bumpSessionSQL, 1, formatTime(time.Now()), m.SessionID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// A database with sessions written at schema v3 (which introduced them), v4 or v5 upgrades in
// place to the current schema, which merges the search index 16 segments at a time (v5) and
// indexes messages in batches (v6). Its messages survive, and searching finds them as before:
// ranked, with snippets, and matching phrases, alongside messages appended after the upgrade.
func TestSessionsUpgradeKeepsSearch(t *testing.T) {
	for _, from := range []int{3, 4, 5} {
		t.Run(fmt.Sprintf("from v%d", from), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "state.db")
			old, err := open(ctx, path, migrations[:from])
			if err != nil {
				t.Fatal(err)
			}
			s := newSession(t, old, "cli")
			fox := appendAtOldSchema(t, old,
				Message{SessionID: s.ID, Role: RoleUser, Content: "the quick brown fox jumps over the dog"},
				Message{SessionID: s.ID, Role: RoleAssistant, Content: "brown bears eat quick lunches"},
				Message{SessionID: s.ID, Role: RoleTool, ToolCallID: "c1", Name: "ls", Content: "nothing here"},
			)[0]
			before, err := old.Messages(ctx, s.ID, cliOnly)
			if err != nil {
				t.Fatal(err)
			}
			old.Close()

			db := openUpgraded(t, path)
			for _, k := range []string{"automerge", "crisismerge"} {
				var v int
				if err := db.sql.QueryRow(`SELECT v FROM messages_fts_config WHERE k = ?`, k).Scan(&v); err != nil || v != 16 {
					t.Errorf("messages_fts %s = %d, %v; want 16", k, v, err)
				}
			}
			if after, err := db.Messages(ctx, s.ID, cliOnly); err != nil || !reflect.DeepEqual(after, before) {
				t.Errorf("messages after upgrade:\n%+v, %v\nwant\n%+v", after, err, before)
			}
			if got, err := db.GetSession(ctx, s.ID, cliOnly); err != nil || got.Messages != 3 {
				t.Errorf("session after upgrade: %+v, %v", got, err)
			}

			search := func(q string) []SearchHit {
				t.Helper()
				hs, err := db.Search(ctx, q, cliOnly)
				if err != nil {
					t.Fatal(err)
				}
				for i, h := range hs {
					if h.Rank <= 0 || (i > 0 && h.Rank > hs[i-1].Rank) {
						t.Errorf("search %q: ranks %v not positive and descending", q, hs)
					}
				}
				return hs
			}
			if hs := search("quick brown"); len(hs) != 2 || !strings.Contains(hs[0].Snippet, SnippetOpen) {
				t.Errorf("search quick brown after upgrade: %+v", hs)
			}
			// "brown-fox" is one phrase of two tokens: the bears message has both words, not
			// the phrase.
			hs := search("brown-fox")
			if len(hs) != 1 || hs[0].MessageID != fox.ID ||
				!strings.Contains(hs[0].Snippet, SnippetOpen+"brown fox"+SnippetClose) {
				t.Errorf("phrase search after upgrade: %+v", hs)
			}
			again := appendText(t, db, s.ID, RoleAssistant, "a brown fox, again")
			if got := hitIDs(search("brown-fox")); !reflect.DeepEqual(got, []int64{again.ID, fox.ID}) &&
				!reflect.DeepEqual(got, []int64{fox.ID, again.ID}) {
				t.Errorf("phrase search after an append: hits %v, want %d and %d", got, fox.ID, again.ID)
			}
			checkConsistent(t, db)
		})
	}
}

// checkConsistent checks the database file and that each session's message count matches
// its messages.
func checkConsistent(t testing.TB, db *DB) {
	t.Helper()
	var ic string
	if err := db.sql.QueryRow(`PRAGMA integrity_check`).Scan(&ic); err != nil || ic != "ok" {
		t.Errorf("integrity_check = %q, %v", ic, err)
	}
	var fk int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil || fk != 0 {
		t.Errorf("foreign_key_check: %d rows, %v", fk, err)
	}
	checkFTS(t, db)
	var bad int
	if err := db.sql.QueryRow(`SELECT COUNT(*) FROM sessions s
WHERE s.messages <> (SELECT COUNT(*) FROM messages m WHERE m.session_id = s.id)`).Scan(&bad); err != nil || bad != 0 {
		t.Errorf("%d sessions with a wrong message count (%v)", bad, err)
	}
}

// writeMessages appends n messages to sid, alternating single appends and turns of 3.
func writeMessages(ctx context.Context, db *DB, sid, tag string, n int) error {
	for i := 0; i < n; {
		if i%2 == 0 || n-i < 3 {
			if _, err := db.AppendMessage(ctx, Message{SessionID: sid, Role: RoleUser, Content: fmt.Sprintf("%s single %d", tag, i)}); err != nil {
				return err
			}
			i++
			continue
		}
		turn := make([]Message, 3)
		for j := range turn {
			turn[j] = Message{SessionID: sid, Role: RoleAssistant, Content: fmt.Sprintf("%s turn %d", tag, i+j)}
		}
		if _, err := db.AppendMessages(ctx, turn); err != nil {
			return err
		}
		i += 3
	}
	return nil
}

func TestConcurrentHandles(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	shared := newSession(t, dbs[0], "cli")
	const writers, perWriter = 6, 60
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			db := dbs[w%2]
			sid := shared.ID
			if w >= 4 { // two writers also create sessions of their own
				s, err := db.CreateSession(ctx, "api", "", "", "")
				if err != nil {
					errs <- err
					return
				}
				sid = s.ID
			}
			errs <- writeMessages(ctx, db, sid, fmt.Sprintf("w%d", w), perWriter)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err) // "database is locked" would land here
		}
	}
	s, err := dbs[1].GetSession(ctx, shared.ID, cliOnly)
	if err != nil || s.Messages != 4*perWriter {
		t.Errorf("shared session: %+v, %v; want %d messages", s, err, 4*perWriter)
	}
	checkConsistent(t, dbs[1])
}

// Environment of the child writer process (the test binary run again, see
// TestSessionWriterChild).
const (
	childModeEnv    = "HERMES_STORE_TEST_CHILD" // "crash" or "write"
	childDBEnv      = "HERMES_STORE_TEST_DB"
	childSessionEnv = "HERMES_STORE_TEST_SESSION"
	childCountEnv   = "HERMES_STORE_TEST_COUNT"
	childFailed     = 3 // exit code of a child whose store call failed
)

// startChild runs the test binary as a child writer. Its stdout lines are sent on the
// returned channel, which is closed at EOF.
func startChild(t *testing.T, env ...string) (*exec.Cmd, <-chan string, *strings.Builder) {
	t.Helper()
	// -test.timeout: should the parent die without killing it, the child does not run on.
	cmd := exec.Command(os.Args[0], "-test.run=^TestSessionWriterChild$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), env...)
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // on every way out of the test; a no-op error if already reaped
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			if err != nil { // a line cut short by the kill is not a report
				io.Copy(io.Discard, r)
				return
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	return cmd, lines, stderr
}

// TestSessionWriterChild is not a test: it is the child writer process of
// TestConcurrentProcesses and TestCrashLosesNoCommittedMessage, selected by the environment.
// It reports "ready" once the database is open and "saved <id>" for each message after the
// commit that saved it returned.
func TestSessionWriterChild(t *testing.T) {
	mode := os.Getenv(childModeEnv)
	if mode == "" {
		t.Skip("child writer process only")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(childFailed)
	}
	ctx := context.Background()
	db, err := Open(os.Getenv(childDBEnv))
	if err != nil {
		fail(err)
	}
	sid := os.Getenv(childSessionEnv)
	fmt.Println("ready")
	switch mode {
	case "write":
		n, _ := strconv.Atoi(os.Getenv(childCountEnv))
		if err := writeMessages(ctx, db, sid, "child", n); err != nil {
			fail(err)
		}
		fmt.Println("done")
		db.Close()
		os.Exit(0)
	case "crash":
		rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(time.Now().UnixNano())))
		words := strings.Fields("agent tool call result file error retry model token docker shell approve deny search index commit crash")
		text := func() string {
			n := 5 + rng.IntN(60)
			if rng.IntN(20) == 0 {
				n = 2000 + rng.IntN(6000) // now and then a big one, spanning many pages
			}
			var b strings.Builder
			for i := range n {
				if i > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(words[rng.IntN(len(words))])
			}
			return b.String()
		}
		for {
			var ids []int64
			switch r := rng.IntN(100); {
			case r < 3:
				s, err := db.CreateSession(ctx, "cli", "crash", "m", "crash test")
				if err != nil {
					fail(err)
				}
				sid = s.ID
			case r < 70:
				m, err := db.AppendMessage(ctx, Message{SessionID: sid, Role: RoleUser, Content: text()})
				if err != nil {
					fail(err)
				}
				ids = append(ids, m.ID)
			default:
				turn := make([]Message, 2+rng.IntN(7))
				for i := range turn {
					turn[i] = Message{SessionID: sid, Role: RoleAssistant, Content: text()}
				}
				ms, err := db.AppendMessages(ctx, turn)
				if err != nil {
					fail(err)
				}
				ids = messageIDs(ms)
			}
			// One write per report, so a kill never leaves a report half written.
			var b strings.Builder
			for _, id := range ids {
				fmt.Fprintf(&b, "saved %d\n", id)
			}
			if b.Len() > 0 {
				os.Stdout.WriteString(b.String())
			}
		}
	default:
		fail(fmt.Errorf("unknown mode %q", mode))
	}
}

// Two processes append to the same session at the same time; neither sees "database is
// locked".
func TestConcurrentProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := openTest(t)
	s := newSession(t, db, "cli")
	const perProcess = 150
	cmd, lines, stderr := startChild(t, childModeEnv+"=write", childDBEnv+"="+path,
		childSessionEnv+"="+s.ID, childCountEnv+"="+strconv.Itoa(perProcess))
	if l := <-lines; l != "ready" {
		t.Fatalf("child said %q; stderr: %s", l, stderr)
	}
	parentErr := writeMessages(ctx, db, s.ID, "parent", perProcess)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("child writer: %v; stderr: %s", err, stderr)
	}
	if parentErr != nil {
		t.Errorf("parent writer: %v", parentErr)
	}
	got, err := db.GetSession(ctx, s.ID, cliOnly)
	if err != nil || got.Messages != 2*perProcess {
		t.Errorf("session after both: %+v, %v; want %d messages", got, err, 2*perProcess)
	}
	checkConsistent(t, db)
}

// A writer process killed (SIGKILL) at random moments, 100 times, never loses a message it
// reported as saved, and never leaves the database corrupt.
func TestCrashLosesNoCommittedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process 100 times")
	}
	t.Parallel()
	const kills = 100
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, db, "cli")
	db.Close()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	reported := map[int64]bool{}
	// On a badly overloaded machine a child can take a second to start; stop killing after
	// a minute rather than run on, and check what was done.
	deadline := time.Now().Add(60 * time.Second)
	var delays time.Duration
	done := 0
	for i := range kills {
		if time.Now().After(deadline) {
			break
		}
		done++
		cmd, lines, stderr := startChild(t, childModeEnv+"=crash", childDBEnv+"="+path, childSessionEnv+"="+s.ID)
		if l, ok := <-lines; !ok || l != "ready" {
			t.Fatalf("kill %d: child said %q before writing; stderr: %s", i, l, stderr)
		}
		delay := time.Duration(5+rng.IntN(196)) * time.Millisecond
		delays += delay
		timer := time.NewTimer(delay)
	collect:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("kill %d: child exited on its own; stderr: %s", i, stderr)
				}
				id, err := strconv.ParseInt(strings.TrimPrefix(l, "saved "), 10, 64)
				if err != nil {
					t.Fatalf("kill %d: child said %q", i, l)
				}
				reported[id] = true
			case <-timer.C:
				break collect
			}
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		for l := range lines { // reports written before the kill
			id, err := strconv.ParseInt(strings.TrimPrefix(l, "saved "), 10, 64)
			if err != nil {
				t.Fatalf("kill %d: child said %q", i, l)
			}
			reported[id] = true
		}
		var exit *exec.ExitError
		if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() == childFailed {
			t.Fatalf("kill %d: child ended with %v, want killed; stderr: %s", i, err, stderr)
		}
	}

	db, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkConsistent(t, db)
	rows, err := db.sql.Query(`SELECT id FROM messages`)
	if err != nil {
		t.Fatal(err)
	}
	present := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		present[id] = true
	}
	rows.Close()
	var lost []int64
	for id := range reported {
		if !present[id] {
			lost = append(lost, id)
		}
	}
	sort.Slice(lost, func(i, j int) bool { return lost[i] < lost[j] })
	if len(lost) > 0 {
		t.Errorf("%d of %d reported messages lost, e.g. %v", len(lost), len(reported), lost[:min(len(lost), 10)])
	}
	if done < kills {
		t.Logf("only %d of %d kills fitted in the time allowed (machine overloaded?)", done, kills)
		if done < kills/5 {
			t.Errorf("%d kills are too few to mean anything", done)
		}
	}
	if len(reported) < done {
		t.Errorf("only %d messages reported over %d runs: the child hardly wrote", len(reported), done)
	}
	t.Logf("%d kills after %v mean delay: %d messages reported saved, all present; %d in the database (%d committed but killed before reporting)",
		done, delays/time.Duration(done), len(reported), len(present), len(present)-len(reported))
}

// textGen makes message text from a synthetic 20,000-word vocabulary with Zipf-distributed
// word frequencies, roughly like natural language.
type textGen struct {
	rng  *rand.Rand
	zipf *rand.Zipf
}

func newTextGen(seed uint64) *textGen {
	rng := rand.New(rand.NewPCG(seed, 2))
	return &textGen{rng: rng, zipf: rand.NewZipf(rng, 1.07, 2, vocabSize-1)}
}

const vocabSize = 20000

// vocabWord returns the word of frequency rank i: distinct syllable strings.
func vocabWord(i int) string {
	syl := [...]string{"ka", "lo", "mi", "ne", "ru", "ta", "vo", "shi", "pe", "zu", "bra", "den", "gor", "hul", "jin", "qua"}
	var b strings.Builder
	b.WriteString(syl[i%16])
	for i /= 16; i > 0; i /= 16 {
		b.WriteString(syl[i%16])
	}
	b.WriteString("x") // no syllable string is an English word the stemmer would touch
	return b.String()
}

func (g *textGen) text(minWords, maxWords int) string {
	n := minWords + g.rng.IntN(maxWords-minWords+1)
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(vocabWord(int(g.zipf.Uint64())))
	}
	return b.String()
}

// fillSessions writes total messages in turns of turnLen (one transaction each), ten turns to
// a session, sources alternating cli and api. Message text is taken round-robin from texts.
func fillSessions(tb testing.TB, db *DB, texts []string, total, turnLen int) {
	ctx := context.Background()
	var sid string
	turn := make([]Message, turnLen)
	roles := [...]string{RoleUser, RoleAssistant, RoleTool, RoleAssistant}
	k := 0
	for t := 0; t < total/turnLen; t++ {
		if t%10 == 0 {
			source := "cli"
			if t%20 == 10 {
				source = "api"
			}
			sid = newSession(tb, db, source).ID
		}
		for i := range turn {
			turn[i] = Message{SessionID: sid, Role: roles[i%len(roles)], Content: texts[k%len(texts)]}
			if turn[i].Role == RoleTool {
				turn[i].ToolCallID, turn[i].Name = "call", "shell"
			}
			k++
		}
		if _, err := db.AppendMessages(ctx, turn); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkAppendTurn writes 100,000 messages to a new database, a turn of 10 messages per
// AppendMessages call (one transaction), ten turns to a session, and reports messages per
// second. Goal: >= 20,000/s, and >= 0.8x its floor. Most of the cost is FTS5 indexing, so it
// is measured for short chat-like messages (5-35 words) and for longer ones (10-150 words,
// about 500 bytes). Every iteration fills one database through the store and another through
// its floor (appendTurnsFloor: the same statements on a connection with the same settings and
// no store code around them), so the two are measured interleaved; "ratio" is store/floor.
func BenchmarkAppendTurn(b *testing.B) {
	for _, size := range []struct {
		name     string
		min, max int
	}{
		{"words=5-35", 5, 35},
		{"words=10-150", 10, 150},
	} {
		b.Run(size.name, func(b *testing.B) {
			const total, turnLen = 100_000, 10
			g := newTextGen(1)
			texts := make([]string, 4096)
			bytes := 0
			for i := range texts {
				texts[i] = g.text(size.min, size.max)
				bytes += len(texts[i])
			}
			var spent [2]time.Duration
			msgs := 0
			for b.Loop() {
				for i, fill := range []func(testing.TB, *DB, []string, int, int){fillSessions, appendTurnsFloor} {
					b.StopTimer()
					db, err := Open(filepath.Join(b.TempDir(), "state.db"))
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					start := time.Now()
					fill(b, db, texts, total, turnLen)
					spent[i] += time.Since(start)
					b.StopTimer()
					db.Close()
					b.StartTimer()
				}
				msgs += total
			}
			store, floor := float64(msgs)/spent[0].Seconds(), float64(msgs)/spent[1].Seconds()
			b.ReportMetric(store, "msgs/s")
			b.ReportMetric(floor, "floor-msgs/s")
			b.ReportMetric(store/floor, "ratio")
			b.ReportMetric(float64(bytes)/float64(len(texts)), "bytes/msg")
		})
	}
}

// appendTurnsFloor is fillSessions without the store: the SQL an append runs (bump the
// session, one multi-row INSERT, read the index progress and index a full tail), prepared once,
// in one transaction a turn, on a connection of its own opened with the store's DSN. Sessions
// are created as fillSessions creates them. The message ids come from LastInsertId as in the
// store.
func appendTurnsFloor(tb testing.TB, db *DB, texts []string, total, turnLen int) {
	ctx := context.Background()
	conn, err := sql.Open("sqlite", dsn(db.path))
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	prep := func(q string) *sql.Stmt {
		s, err := conn.PrepareContext(ctx, q)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	session, bump, insert := prep(insertSessionSQL), prep(bumpSessionSQL), prep(insertMessagesSQL(turnLen))
	progress, index, advance := prep(ftsProgressSQL), prep(ftsIndexSQL), prep(ftsAdvanceSQL)
	roles := [...]string{RoleUser, RoleAssistant, RoleTool, RoleAssistant}
	args := make([]any, 0, 7*turnLen)
	var sid string
	k := 0
	for t := 0; t < total/turnLen; t++ {
		now := formatTime(time.Now())
		if t%10 == 0 {
			source := "cli"
			if t%20 == 10 {
				source = "api"
			}
			sid = fmt.Sprintf("floor-%d", t)
			if _, err := session.ExecContext(ctx, sid, source, "p", "t", "m", now, now); err != nil {
				tb.Fatal(err)
			}
		}
		args = args[:0]
		for i := range turnLen {
			role, callID, name := roles[i%len(roles)], "", ""
			if role == RoleTool {
				callID, name = "call", "shell"
			}
			args = append(args, sid, role, texts[k%len(texts)], nil, callID, name, now)
			k++
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := tx.StmtContext(ctx, bump).ExecContext(ctx, turnLen, now, sid); err != nil {
			tb.Fatal(err)
		}
		res, err := tx.StmtContext(ctx, insert).ExecContext(ctx, args...)
		if err != nil {
			tb.Fatal(err)
		}
		last, _ := res.LastInsertId()
		var upto int64
		if err := tx.StmtContext(ctx, progress).QueryRowContext(ctx).Scan(&upto); err != nil {
			tb.Fatal(err)
		}
		if last-upto >= ftsBatch {
			if _, err := tx.StmtContext(ctx, index).ExecContext(ctx, upto, last); err != nil {
				tb.Fatal(err)
			}
			if _, err := tx.StmtContext(ctx, advance).ExecContext(ctx, last); err != nil {
				tb.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkSearch searches 100,000 messages (half of them in cli sessions) as the cli source,
// 20 hits a query, and reports median and 99th-percentile latency. Goal: p50 <= 5 ms. Time
// grows with the number of messages matching (FTS5 scores every match), so the queries are
// grouped by how many of the 100,000 messages they match; "mix" runs all of them in turn.
func BenchmarkSearch(b *testing.B) {
	const total = 100_000
	g := newTextGen(3)
	texts := make([]string, 8192)
	for i := range texts {
		texts[i] = g.text(10, 150)
	}
	db, _ := openTest(b)
	fillSessions(b, db, texts, total, 10)
	// Match counts are for this corpus (seeded, so fixed).
	groups := []struct {
		name    string
		queries []string
	}{
		{"rare", []string{ // 0 to ~500 matches
			vocabWord(1500), vocabWord(6000), vocabWord(15000), "nosuchword",
			vocabWord(800) + " " + vocabWord(5000),
		}},
		{"medium", []string{ // ~500 to ~3,000 matches, or two commoner words
			vocabWord(300), vocabWord(30) + " " + vocabWord(400),
		}},
		{"prefix", []string{vocabWord(250)[:4] + "*"}}, // ~12,600 matches
		{"common", []string{vocabWord(40)}},            // ~19,000 matches
		{"stopword-like", []string{vocabWord(2)}},      // ~85,000 matches
	}
	var mix []string
	for _, gr := range groups {
		mix = append(mix, gr.queries...)
	}
	groups = append(groups, struct {
		name    string
		queries []string
	}{"mix", mix})
	ctx := context.Background()
	f := SessionFilter{Source: "cli", Limit: 20}
	for _, gr := range groups {
		b.Run(gr.name, func(b *testing.B) {
			var lat []time.Duration
			hits, i := 0, 0
			for b.Loop() {
				start := time.Now()
				hs, err := db.Search(ctx, gr.queries[i%len(gr.queries)], f)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				hits += len(hs)
				i++
			}
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(float64(hits)/float64(len(lat)), "hits/op")
		})
	}
}

// Search lets FTS5 deliver rows in rank order: no sorter, so snippets are made only for the
// rows returned.
func TestSearchPlan(t *testing.T) {
	db, _ := openTest(t)
	for _, tc := range []struct {
		name string
		f    SessionFilter
	}{
		{"one source", cliOnly},
		{"all sources", all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			where, args, err := tc.f.scope("s")
			if err != nil {
				t.Fatal(err)
			}
			args = append(append([]any{"[", "]", "…", 10, `"x"`, 0}, args...), 20)
			rows, err := db.sql.Query("EXPLAIN QUERY PLAN "+searchSQL(where), args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if len(plan) == 0 || !strings.HasPrefix(plan[0], "SCAN messages_fts VIRTUAL TABLE") ||
				slices.ContainsFunc(plan, func(s string) bool { return strings.Contains(s, "TEMP B-TREE") }) {
				t.Errorf("plan %q: want messages_fts first and no sorter", plan)
			}
		})
	}
}

// A turn longer than one INSERT statement holds is split across statements, still in one
// transaction and in order.
func TestAppendMessagesLongTurn(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s := newSession(t, db, "cli")
	for _, n := range []int{1, 2, maxCachedInsertRows, maxCachedInsertRows + 1, maxRowsPerInsert, maxRowsPerInsert + 1, 2*maxRowsPerInsert + 7} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			before, _ := db.GetSession(ctx, s.ID, cliOnly)
			turn := make([]Message, n)
			for i := range turn {
				turn[i] = Message{SessionID: s.ID, Role: RoleUser, Content: fmt.Sprintf("n%d i%d", n, i)}
			}
			got, err := db.AppendMessages(ctx, turn)
			if err != nil {
				t.Fatal(err)
			}
			all, err := db.Messages(ctx, s.ID, cliOnly)
			if err != nil {
				t.Fatal(err)
			}
			tail := all[len(all)-n:]
			for i := range got {
				if got[i].ID != tail[i].ID || tail[i].Content != turn[i].Content || (i > 0 && got[i].ID <= got[i-1].ID) {
					t.Fatalf("message %d: returned id %d, stored %+v, want content %q", i, got[i].ID, tail[i], turn[i].Content)
				}
			}
			if after, _ := db.GetSession(ctx, s.ID, cliOnly); after.Messages != before.Messages+n {
				t.Errorf("Messages %d -> %d, want +%d", before.Messages, after.Messages, n)
			}
		})
	}
	checkConsistent(t, db)
}

// A word in more than SearchWindow messages is ranked within its most recent SearchWindow
// matches: the best-scoring old message is not among the hits, and every hit is recent.
func TestSearchWindowRanksRecentMatches(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s := newSession(t, db, "cli")
	turn := []Message{{SessionID: s.ID, Role: RoleUser, Content: "alpha alpha alpha alpha alpha"}}
	first, err := db.AppendMessages(ctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]Message, 100)
	for i := range batch {
		batch[i] = Message{SessionID: s.ID, Role: RoleUser, Content: "alpha and a long tail of other words " + strconv.Itoa(i)}
	}
	for range SearchWindow/len(batch) + 1 {
		if _, err := db.AppendMessages(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	hits, err := db.Search(ctx, "alpha", cliOnly)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != DefaultSearchLimit {
		t.Fatalf("%d hits, want %d", len(hits), DefaultSearchLimit)
	}
	for _, h := range hits {
		if h.MessageID == first[0].ID {
			t.Fatalf("the oldest match %d was ranked although %d newer ones match", h.MessageID, SearchWindow+len(batch))
		}
	}
	// Below the window every match is ranked: the best one comes first.
	rare := []Message{{SessionID: s.ID, Role: RoleUser, Content: "omega omega omega"}, {SessionID: s.ID, Role: RoleUser, Content: "omega once"}}
	got, err := db.AppendMessages(ctx, rare)
	if err != nil {
		t.Fatal(err)
	}
	if hits, err = db.Search(ctx, "omega", cliOnly); err != nil || len(hits) != 2 || hits[0].MessageID != got[0].ID {
		t.Fatalf("omega: %+v, %v; want message %d first of 2", hits, err, got[0].ID)
	}
}

// When the most recent matches of every source hold too few of the caller's source, the
// window is taken within that source: its older messages are still found.
func TestSearchWindowRareSource(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	cli, api := newSession(t, db, "cli"), newSession(t, db, "api")
	var want []int64
	for i := range 3 {
		got, err := db.AppendMessages(ctx, []Message{{SessionID: cli.ID, Role: RoleUser, Content: "beta from the terminal " + strconv.Itoa(i)}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, got[0].ID)
	}
	batch := make([]Message, 100)
	for i := range batch {
		batch[i] = Message{SessionID: api.ID, Role: RoleUser, Content: "beta over http " + strconv.Itoa(i)}
	}
	for range SearchWindow/len(batch) + 1 {
		if _, err := db.AppendMessages(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	hits, err := db.Search(ctx, "beta", cliOnly)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, h := range hits {
		ids = append(ids, h.MessageID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, want) {
		t.Fatalf("cli hits %v, want %v", ids, want)
	}
}

// Messages are indexed in batches: an append indexes the tail once it is ftsBatch long, a
// search indexes whatever tail there is first (so it finds every committed message), and a
// message deleted before it was indexed leaves the index consistent.
func TestSearchIndexBatches(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	indexed := func() int64 {
		t.Helper()
		var upto int64
		if err := db.sql.QueryRow(ftsProgressSQL).Scan(&upto); err != nil {
			t.Fatal(err)
		}
		return upto
	}
	gone := newSession(t, db, "cli")
	appendText(t, db, gone.ID, RoleUser, "zebra in a session deleted before it was indexed")
	if err := db.DeleteSession(ctx, gone.ID, cliOnly); err != nil {
		t.Fatal(err)
	}
	s := newSession(t, db, "cli")
	first := appendText(t, db, s.ID, RoleUser, "zebra crossing")
	if got := indexed(); got != 0 {
		t.Fatalf("indexed up to %d after two appends, want 0 (the tail is shorter than %d)", got, ftsBatch)
	}
	if hs, err := db.Search(ctx, "zebra", cliOnly); err != nil || !reflect.DeepEqual(hitIDs(hs), []int64{first.ID}) {
		t.Fatalf("search of the unindexed tail: %+v, %v; want message %d", hs, err, first.ID)
	}
	if got := indexed(); got != first.ID {
		t.Fatalf("indexed up to %d after a search, want %d", got, first.ID)
	}
	turn := make([]Message, ftsBatch)
	for i := range turn {
		turn[i] = Message{SessionID: s.ID, Role: RoleUser, Content: "yak " + strconv.Itoa(i)}
	}
	got, err := db.AppendMessages(ctx, turn)
	if err != nil {
		t.Fatal(err)
	}
	if last := got[len(got)-1].ID; indexed() != last {
		t.Fatalf("indexed up to %d after a turn of %d, want %d: the append indexes a full batch itself", indexed(), ftsBatch, last)
	}
	// A turn that fails (its session is gone) leaves nothing to find.
	if _, err := db.AppendMessages(ctx, []Message{{SessionID: s.ID, Role: RoleUser, Content: "quagga"}, {SessionID: "nosuch", Role: RoleUser, Content: "quagga"}}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("append to a missing session: %v", err)
	}
	if hs, err := db.Search(ctx, "quagga", cliOnly); err != nil || len(hs) != 0 {
		t.Fatalf("search for a rolled-back message: %+v, %v", hs, err)
	}
	checkConsistent(t, db)
}
