package ratelimit_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/ratelimit"
	"github.com/srarena/srarena/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestWindow: the sliding window blocks at the limit, says how long, forgets
// events as they age out, and two windows on one database (two processes)
// share their counts.
func TestWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	w := ratelimit.New(store.New(pool), "test", 3, 15*time.Minute, clock)
	// A second process: its own pool and Window value, the same database.
	w2 := ratelimit.New(store.New(pool), "test", 3, 15*time.Minute, clock)
	steps := []struct {
		advance time.Duration
		adds    int
		blocked bool
		minutes int
	}{
		{0, 2, false, 0},
		{time.Minute, 1, true, 14}, // 3 events; the oldest leaves in 14 min
		{13 * time.Minute, 0, true, 1},
		{time.Minute, 0, false, 0}, // the first two aged out
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		for j := range s.adds {
			win := w
			if j%2 == 1 {
				win = w2
			}
			if _, err := win.Add(ctx, "k"); err != nil {
				t.Fatal(err)
			}
		}
		for _, win := range []*ratelimit.Window{w, w2} {
			b, wait, err := win.Blocked(ctx, "k")
			if err != nil {
				t.Fatal(err)
			}
			if b != s.blocked || (b && ratelimit.MinutesLeft(wait) != s.minutes) {
				t.Errorf("step %d: blocked %v in %d min, want %v in %d", i, b, ratelimit.MinutesLeft(wait), s.blocked, s.minutes)
			}
		}
	}
	if b, _, _ := w.Blocked(ctx, "other"); b {
		t.Error("keys share counts")
	}
	other := ratelimit.New(store.New(pool), "other-bucket", 1, time.Hour, clock)
	if b, _, _ := other.Blocked(ctx, "k"); b {
		t.Error("buckets share counts")
	}
	// Remove takes one event back; Reset forgets all. One event of step 2
	// is still in the window.
	w.Add(ctx, "k")
	e, _ := w.Add(ctx, "k")
	if b, _, _ := w.Blocked(ctx, "k"); !b {
		t.Fatal("not blocked at the limit")
	}
	if err := w.Remove(ctx, e); err != nil {
		t.Fatal(err)
	}
	if b, _, _ := w.Blocked(ctx, "k"); b {
		t.Fatal("Remove did not take the event back")
	}
	if err := w2.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM rate_events WHERE key = 'k' AND bucket = 'test'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("events left after Reset: %d %v", n, err)
	}
	var nilW *ratelimit.Window
	if b, _, err := nilW.Blocked(ctx, "k"); b || err != nil {
		t.Error("a nil window must never block")
	}
}
