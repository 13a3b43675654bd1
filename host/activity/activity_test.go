package activity_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hermes-agent/hermes/host/activity"
	"github.com/hermes-agent/hermes/store"
)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRecorderWritesAndFlushes(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	r := activity.NewRecorder(db, 3, 0, nil)
	defer r.Close()
	for i := range 5 {
		r.Record(activity.Event{Plugin: "web", Kind: "http", Op: "GET", Target: fmt.Sprintf("h/%d", i), Outcome: activity.OK, Session: activity.SessionOf(activity.WithSession(ctx, "s9"))})
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListActivity(ctx, store.ActivityFilter{Plugin: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Target != "h/4" || got[0].Session != "s9" || got[0].Time.IsZero() {
		t.Errorf("after flush: %+v", got)
	}
}

// gatedStore blocks every write until released, as a slow disk would.
type gatedStore struct {
	*store.DB
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gatedStore) AppendActivity(ctx context.Context, events []store.Activity, keep int) error {
	g.once.Do(func() { close(g.entered) })
	<-g.release
	return g.DB.AppendActivity(ctx, events, keep)
}

// A plugin flooding calls while the store is slow neither blocks its calls nor grows the
// queue: what does not fit is counted and the count recorded.
func TestRecorderFloodIsBoundedAndCounted(t *testing.T) {
	ctx := context.Background()
	g := &gatedStore{DB: openStore(t), entered: make(chan struct{}), release: make(chan struct{})}
	const queue, flood = 16, 10000
	r := activity.NewRecorder(g, 100000, queue, nil)
	r.Record(activity.Event{Plugin: "flood", Kind: "kv", Op: "get", Target: "k", Outcome: activity.OK})
	<-g.entered // the writer holds one batch and waits on the store
	for range flood {
		r.Record(activity.Event{Plugin: "flood", Kind: "kv", Op: "get", Target: "k", Outcome: activity.OK})
	}
	close(g.release)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rows, err := g.ListActivity(ctx, store.ActivityFilter{Plugin: "flood", Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	kept, dropped := 0, 0
	for _, a := range rows {
		if a.Outcome == activity.Dropped {
			if _, err := fmt.Sscanf(a.Detail, "%d events not recorded", &dropped); err != nil || !strings.Contains(a.Detail, "faster than") {
				t.Errorf("dropped detail %q", a.Detail)
			}
			continue
		}
		kept++
	}
	if kept > queue+1 {
		t.Errorf("%d events kept, more than the queue of %d (+1 in the writer's hand)", kept, queue)
	}
	if kept+dropped != flood+1 {
		t.Errorf("kept %d + dropped %d != %d recorded", kept, dropped, flood+1)
	}
}

func TestRecorderAfterCloseDoesNotBlock(t *testing.T) {
	r := activity.NewRecorder(openStore(t), 0, 1, nil)
	r.Close()
	for range 10 {
		r.Record(activity.Event{Plugin: "p", Kind: "kv"})
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.Close()
}

func TestNoticesTakeSaysWhatWasLeftOut(t *testing.T) {
	const added = 20
	_, n := activity.WithNotices(context.Background())
	for i := range added {
		n.Add(fmt.Sprintf("denied: /p%d is outside the plugin's file grants", i))
		n.Add(fmt.Sprintf("denied: /p%d is outside the plugin's file grants", i)) // kept once, or counted again
	}
	lines := n.Take()
	kept := len(lines) - 1
	if kept < 1 || kept >= added || lines[kept] != fmt.Sprintf("denied: %d more like these", 2*(added-kept)) {
		t.Fatalf("lines %q: want some of the %d and a last one counting the rest", lines, added)
	}
	if again := n.Take(); len(again) != 0 {
		t.Fatalf("a second Take returned %q", again)
	}
	var none *activity.Notices
	if none.Take() != nil {
		t.Fatal("a nil Notices took lines")
	}
}
