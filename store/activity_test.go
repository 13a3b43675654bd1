package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestActivityAppendListAndRing(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	day1 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	var events []Activity
	for i := range 5 {
		events = append(events, Activity{Time: day1.Add(time.Duration(i) * time.Minute), Plugin: "web", Tool: "fetch", Session: "s1",
			Kind: "http", Op: "GET", Target: fmt.Sprintf("example.com/p%d", i), Outcome: "ok"})
	}
	events = append(events,
		Activity{Time: day2, Plugin: "web", Tool: "fetch", Kind: "http", Op: "GET", Target: "evil.example/", Outcome: "denied", Detail: "host not granted"},
		Activity{Time: day2, Plugin: "files", Tool: "read", Kind: "fs", Op: "read", Target: "/workspace/a.txt", Outcome: "ok"},
		Activity{Time: day2, Plugin: "files", Kind: "fs", Op: "write", Target: "/workspace/b", Outcome: "bogus"},
	)
	if err := db.AppendActivity(ctx, events, 4); err != nil {
		t.Fatal(err)
	}
	web, err := db.ListActivity(ctx, ActivityFilter{Plugin: "web"})
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, a := range web {
		targets = append(targets, a.Target)
	}
	// The ring kept the newest 4 of web's 6, newest first.
	if got, want := strings.Join(targets, " "), "evil.example/ example.com/p4 example.com/p3 example.com/p2"; got != want {
		t.Errorf("web activity = %s, want %s", got, want)
	}
	if web[0].Detail != "host not granted" || web[1].Session != "s1" || !web[1].Time.Equal(day1.Add(4*time.Minute)) {
		t.Errorf("fields not kept: %+v %+v", web[0], web[1])
	}
	tests := []struct {
		name string
		f    ActivityFilter
		want int
	}{
		{"all", ActivityFilter{}, 6},
		{"kind", ActivityFilter{Kind: "fs"}, 2},
		{"outcome", ActivityFilter{Outcome: "denied"}, 1},
		{"unknown outcome stored as error", ActivityFilter{Outcome: "error"}, 1},
		{"since", ActivityFilter{Since: day2}, 3},
		{"limit", ActivityFilter{Limit: 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.ListActivity(ctx, tt.f)
			if err != nil || len(got) != tt.want {
				t.Errorf("ListActivity(%+v) = %d rows, %v; want %d", tt.f, len(got), err, tt.want)
			}
		})
	}
	days, err := db.ActivityByDay(ctx, ActivityFilter{Plugin: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(days); got != "[{2026-12-01 3 0} {2026-12-02 1 1}]" {
		t.Errorf("ActivityByDay = %s", got)
	}
}

func TestActivityBoundsWhatAPluginSupplies(t *testing.T) {
	ctx := context.Background()
	db, _ := openTest(t)
	long := strings.Repeat("é", 5000)
	if err := db.AppendActivity(ctx, []Activity{{Plugin: "p", Kind: "kv", Op: "set", Target: long, Detail: long, Tool: long}}, 0); err != nil {
		t.Fatal(err)
	}
	got, err := db.ListActivity(ctx, ActivityFilter{})
	if err != nil || len(got) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
	if len(got[0].Target) > maxActivityTarget || len(got[0].Detail) > maxActivityDetail || len(got[0].Tool) > maxActivityField {
		t.Errorf("unbounded: target %d, detail %d, tool %d bytes", len(got[0].Target), len(got[0].Detail), len(got[0].Tool))
	}
	if !strings.HasPrefix(long, got[0].Target) {
		t.Error("target cut inside a UTF-8 sequence")
	}
	if err := db.AppendActivity(ctx, []Activity{{Plugin: "", Kind: "kv"}}, 0); err == nil || !strings.Contains(err.Error(), "needs a plugin and a kind") {
		t.Errorf("empty plugin: %v", err)
	}
}

// The activity table arrives on a database made before it (v6), keeping what was there.
func TestActivityUpgradeFromV6(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	before, err := open(ctx, path, migrations[:6])
	if err != nil {
		t.Fatal(err)
	}
	putOldKV(t, before, "alpha", "k", []byte("v"))
	before.Close()
	db := openUpgraded(t, path)
	if v, ok, err := db.KVGet(ctx, "alpha", "k"); err != nil || !ok || string(v) != "v" {
		t.Errorf("kv after upgrade: %q, %v, %v", v, ok, err)
	}
	if err := db.AppendActivity(ctx, []Activity{{Plugin: "alpha", Kind: "kv", Op: "get", Target: "k", Outcome: "ok"}}, 0); err != nil {
		t.Fatalf("activity after upgrade: %v", err)
	}
}
