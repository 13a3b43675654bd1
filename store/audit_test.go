package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestAuditLog(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	for i := range 5 {
		for _, subject := range []string{"alpha", "beta"} {
			if err := db.Audit(ctx, "plugin.call", subject, fmt.Sprintf("%s %d", subject, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Audit(ctx, "", "alpha", "x"); err == nil {
		t.Errorf("empty event accepted")
	}

	details := func(es []AuditEntry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Detail)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		subject string
		limit   int
		want    []string
	}{
		{"last two of alpha", "alpha", 2, []string{"alpha 3", "alpha 4"}},
		{"all of beta", "beta", 0, []string{"beta 0", "beta 1", "beta 2", "beta 3", "beta 4"}},
		{"limit above count", "beta", 100, []string{"beta 0", "beta 1", "beta 2", "beta 3", "beta 4"}},
		{"every subject", "", 3, []string{"beta 3", "alpha 4", "beta 4"}},
		{"unknown subject", "gamma", 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := db.AuditLog(ctx, tc.subject, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if d := details(got); !reflect.DeepEqual(d, tc.want) {
				t.Errorf("details = %q, want %q", d, tc.want)
			}
			for i, e := range got {
				if e.Event != "plugin.call" || (tc.subject != "" && e.Subject != tc.subject) {
					t.Errorf("entry %+v", e)
				}
				if e.Time.Before(before) || e.Time.Location() != time.UTC {
					t.Errorf("entry time %v", e.Time)
				}
				if i > 0 && e.Time.Before(got[i-1].Time) {
					t.Errorf("entries out of order")
				}
			}
		})
	}
}

func TestAuditAppendOnly(t *testing.T) {
	db, _ := openTest(t)
	if err := db.Audit(context.Background(), "e", "s", "d"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit SET detail = 'forged'`, `DELETE FROM audit`} {
		if _, err := db.sql.Exec(q); err == nil {
			t.Errorf("%s succeeded", q)
		}
	}
	if es, _ := db.AuditLog(context.Background(), "", 0); len(es) != 1 || es[0].Detail != "d" {
		t.Errorf("log changed: %+v", es)
	}
}

func BenchmarkOpen(b *testing.B) {
	db, path := openTest(b)
	db.Close()
	for b.Loop() {
		db, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}
