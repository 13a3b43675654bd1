package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// holdLead makes db's session writes queue as if a group were being committed; db.leadGroup
// then commits the queue as one group.
func holdLead(db *DB) {
	db.group.mu.Lock()
	db.group.leading = true
	db.group.mu.Unlock()
}

// waitQueued waits until n of db's session writes are queued.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		db.group.mu.Lock()
		queued := len(db.group.pending)
		db.group.mu.Unlock()
		if queued == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Writes committed in one group each get their own outcome: one that fails (a missing session,
// a caller that left) is rolled back alone, the others are committed, and nothing is reported
// saved that is not.
func TestGroupCommitIsolatesWrites(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s1, s2 := newSession(t, db, "cli"), newSession(t, db, "cli")
	holdLead(db)

	type result struct {
		ms  []Message
		err error
	}
	leaving, leave := context.WithCancel(ctx)
	var (
		wg                                sync.WaitGroup
		one, missing, turn, gone, newSess result
		created                           Session
	)
	run := func(r *result, f func() ([]Message, error)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.ms, r.err = f()
		}()
	}
	run(&one, func() ([]Message, error) {
		return db.AppendMessages(ctx, []Message{{SessionID: s1.ID, Role: RoleUser, Content: "first"}})
	})
	run(&missing, func() ([]Message, error) {
		return db.AppendMessages(ctx, []Message{{SessionID: "no-such-session", Role: RoleUser, Content: "lost"}})
	})
	run(&turn, func() ([]Message, error) {
		return db.AppendMessages(ctx, []Message{
			{SessionID: s2.ID, Role: RoleUser, Content: "a"},
			{SessionID: s2.ID, Role: RoleAssistant, Content: "b"},
			{SessionID: s2.ID, Role: RoleAssistant, Content: "c"},
		})
	})
	run(&gone, func() ([]Message, error) {
		return db.AppendMessages(leaving, []Message{{SessionID: s1.ID, Role: RoleUser, Content: "left"}})
	})
	run(&newSess, func() ([]Message, error) {
		var err error
		created, err = db.CreateSession(ctx, "api", "default", "m", "grouped")
		return nil, err
	})
	// The caller that leaves does so while its write is queued.
	waitQueued(t, db, 5)
	leave()
	db.leadGroup()
	wg.Wait()

	if one.err != nil || len(one.ms) != 1 || one.ms[0].ID == 0 {
		t.Fatalf("append: %+v", one)
	}
	if !errors.Is(missing.err, ErrNotFound) {
		t.Fatalf("append to a missing session: %v", missing.err)
	}
	if turn.err != nil || len(turn.ms) != 3 {
		t.Fatalf("turn: %+v", turn)
	}
	if !errors.Is(gone.err, context.Canceled) {
		t.Fatalf("append of a caller that left: %v", gone.err)
	}
	if newSess.err != nil {
		t.Fatalf("create session: %v", newSess.err)
	}
	for sid, want := range map[string][]string{s1.ID: {"first"}, s2.ID: {"a", "b", "c"}, created.ID: nil} {
		ms, err := db.Messages(ctx, sid, all)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.Content)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("session %s: %q, want %q", sid, got, want)
		}
	}
	for i, m := range turn.ms {
		if m.ID != turn.ms[0].ID+int64(i) {
			t.Errorf("turn ids %v", messageIDs(turn.ms))
		}
	}
	checkConsistent(t, db)
	// The lead was handed back: a write now commits on its own.
	appendText(t, db, s1.ID, RoleAssistant, "after")
}

// Many turns appending at once: every append is committed once, in order within its session,
// whatever groups they were committed in.
func TestGroupCommitConcurrentAppends(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	const writers, turns = 16, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	sessions := make([]Session, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := db.CreateSession(ctx, "api", "default", "m", fmt.Sprint(w))
			if err != nil {
				errs <- err
				return
			}
			sessions[w] = s
			for i := range turns {
				if _, err := db.AppendMessage(ctx, Message{SessionID: s.ID, Role: RoleUser, Content: fmt.Sprintf("w%d m%d", w, i)}); err != nil {
					errs <- err
					return
				}
				if _, err := db.AppendMessages(ctx, []Message{
					{SessionID: s.ID, Role: RoleAssistant, Content: fmt.Sprintf("w%d a%d", w, i)},
					{SessionID: s.ID, Role: RoleAssistant, Content: fmt.Sprintf("w%d b%d", w, i)},
				}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for w, s := range sessions {
		ms, err := db.Messages(ctx, s.ID, all)
		if err != nil || len(ms) != 3*turns {
			t.Fatalf("writer %d: %d messages, %v", w, len(ms), err)
		}
		for i := range turns {
			if ms[3*i].Content != fmt.Sprintf("w%d m%d", w, i) || ms[3*i+2].Content != fmt.Sprintf("w%d b%d", w, i) {
				t.Fatalf("writer %d: out of order at turn %d: %q", w, i, ms[3*i].Content)
			}
		}
	}
	checkConsistent(t, db)
}

// A caller that leaves while its grouped write is running does not take the group down with
// it: the driver answers a cancelled statement by interrupting the connection, which would roll
// back the whole transaction, so a grouped write runs without its caller's cancellation. Its
// write and the others' are committed.
func TestGroupCommitCallerLeavingDuringItsWrite(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	s1, s2 := newSession(t, db, "cli"), newSession(t, db, "cli")
	holdLead(db)

	leaving, leave := context.WithCancel(ctx)
	defer leave()
	var wg sync.WaitGroup
	var leftErr, otherErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		leftErr = db.inGroupTx(leaving, func(ctx context.Context, tx *sql.Tx) error {
			// The caller leaves once its write has started: the statements after that run under
			// a context its leaving does not end (with the caller's, the driver would interrupt
			// the connection mid-statement).
			leave()
			if ctx.Err() != nil {
				return fmt.Errorf("the write's context ended with its caller: %w", ctx.Err())
			}
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET title = 'kept' WHERE id = ?`, s1.ID)
			return err
		})
	}()
	go func() {
		defer wg.Done()
		_, otherErr = db.AppendMessages(ctx, []Message{{SessionID: s2.ID, Role: RoleUser, Content: "other turn"}})
	}()
	waitQueued(t, db, 2)
	db.leadGroup()
	wg.Wait()

	if leftErr != nil || otherErr != nil {
		t.Fatalf("the write of the caller that left: %v; the other turn's: %v", leftErr, otherErr)
	}
	if leaving.Err() == nil {
		t.Fatal("the caller did not leave during its write")
	}
	if s, err := db.GetSession(ctx, s1.ID, SessionFilter{AllSources: true}); err != nil || s.Title != "kept" {
		t.Fatalf("the write of the caller that left was not committed: %+v %v", s, err)
	}
	if ms, err := db.Messages(ctx, s2.ID, all); err != nil || len(ms) != 1 {
		t.Fatalf("the other turn's message: %v %v", ms, err)
	}
	checkConsistent(t, db)
}
