package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// groupCommit lets concurrent session writes of one DB (appends and new sessions, from
// different turns) share a transaction and its commit.
//
// Each write joins a queue. If no write is being committed, the caller leads: it takes the
// whole queue, runs every write in one transaction, each inside a SAVEPOINT of its own, and
// commits. Writes arriving meanwhile wait in the queue; when the leader is done it hands the
// lead to the first of them, which commits that queue in turn. Nothing waits on purpose: a
// write that finds no commit in progress is committed at once, alone.
//
// What a caller is told is exactly what is committed: a write returns nil only after the
// COMMIT that holds it succeeded; a write that fails is rolled back to its savepoint, alone,
// and the others of its group still commit; a failed COMMIT (or a failed rollback to a
// savepoint, after which the transaction cannot be trusted) is every write's error. So
// acknowledged writes survive kill -9 as before, and a write is never visible to another
// connection before it is committed.
//
// Queueing in Go also keeps this process' session writers off SQLite's busy handler, which
// sleeps (1, 2, 5, 10 … ms) while another connection holds the write lock.
type groupCommit struct {
	mu      sync.Mutex
	pending []*groupWrite
	leading bool // a caller is committing a group; the next write waits for the hand-over
}

type groupWrite struct {
	ctx context.Context
	fn  func(context.Context, *sql.Tx) error
	err error
	// wake receives true when this write's goroutine is to lead the next group, then false
	// once the write is committed or has failed.
	wake chan bool
}

// inGroupTx is [DB.inTx] for a session write: fn runs in a transaction that may hold other
// callers' writes, inside a savepoint of its own. fn must touch only the transaction (no other
// connection of the pool, see stmtCache.get), run its statements under the context it is
// given, and may run on another goroutine than the caller's.
//
// In a group that context is the caller's without its cancellation: the driver answers a
// cancelled statement by interrupting the connection, which rolls back the whole transaction
// and every other caller's write in it. A caller that leaves before its write starts is
// skipped; one that leaves during it has its write committed like the rest.
func (db *DB) inGroupTx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &groupWrite{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	g := &db.group
	g.mu.Lock()
	g.pending = append(g.pending, w)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if lead || <-w.wake {
		db.leadGroup()
		<-w.wake // the group held this write
	}
	return w.err
}

// leadGroup commits the queued writes as one group, then hands the lead to the first write
// queued meanwhile, if any.
func (db *DB) leadGroup() {
	g := &db.group
	g.mu.Lock()
	group := g.pending
	g.pending = nil
	g.mu.Unlock()

	db.commitGroup(group)

	g.mu.Lock()
	var next *groupWrite
	if len(g.pending) > 0 {
		next = g.pending[0]
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	if next != nil {
		next.wake <- true
	}
	for _, w := range group {
		w.wake <- false
	}
}

// commitGroup runs group's writes in one transaction and sets each one's err.
func (db *DB) commitGroup(group []*groupWrite) {
	if len(group) == 1 {
		w := group[0]
		w.err = db.inTx(w.ctx, func(tx *sql.Tx) error { return w.fn(w.ctx, tx) })
		return
	}
	// Not one caller's context: a caller that leaves must not roll back the others' writes.
	ctx := context.Background()
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		for _, w := range group {
			w.err = err
		}
		return
	}
	fail := func(err error) {
		tx.Rollback()
		for _, w := range group {
			if w.err == nil {
				w.err = err
			}
		}
	}
	for _, w := range group {
		if w.err = w.ctx.Err(); w.err != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT group_write"); err != nil {
			fail(fmt.Errorf("group commit: %w", err))
			return
		}
		if w.err = w.fn(context.WithoutCancel(w.ctx), tx); w.err != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO group_write"); err != nil {
				fail(fmt.Errorf("group commit: roll back a failed write: %w", err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE group_write"); err != nil {
			fail(fmt.Errorf("group commit: %w", err))
			return
		}
	}
	if err := tx.Commit(); err != nil {
		for _, w := range group {
			if w.err == nil {
				w.err = err
			}
		}
	}
}
