package ratelimit_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/ratelimit"
	"github.com/srarena/srarena/store"
)

// TestLeasesAcrossProcesses: two processes (two Leases on one database)
// share Limit leases per key; a held lease outlives its TTL because it is
// renewed; a lease of a process that died (never renewed, never released)
// expires after its TTL and frees the key.
func TestLeasesAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	const ttl = 1200 * time.Millisecond // renewed every 400 ms, slack for a loaded machine
	p1 := &ratelimit.Leases{Store: st, Bucket: "upload_user", Limit: 2, TTL: ttl, Holder: "p1"}
	p2 := &ratelimit.Leases{Store: store.New(pool), Bucket: "upload_user", Limit: 2, TTL: ttl, Holder: "p2"}

	rel1, ok, err := p1.Acquire(ctx, "7")
	if err != nil || !ok {
		t.Fatalf("first lease: %v %v", ok, err)
	}
	rel2, ok, err := p2.Acquire(ctx, "7")
	if err != nil || !ok {
		t.Fatalf("second lease, other process: %v %v", ok, err)
	}
	for _, p := range []*ratelimit.Leases{p1, p2} {
		if _, ok, err := p.Acquire(ctx, "7"); ok || err != nil {
			t.Fatalf("third lease admitted by %s (%v)", p.Holder, err)
		}
	}
	if _, ok, _ := p1.Acquire(ctx, "8"); !ok {
		t.Error("another key is blocked")
	}
	// Held past three TTLs: renewed, still counted.
	time.Sleep(3 * ttl)
	if _, ok, _ := p2.Acquire(ctx, "7"); ok {
		t.Fatal("a held lease expired: not renewed")
	}
	rel1()
	rel3, ok, err := p2.Acquire(ctx, "7")
	if err != nil || !ok {
		t.Fatalf("lease after a release: %v %v", ok, err)
	}
	rel2()
	rel3()

	// A process that dies: its leases are taken but never renewed nor
	// released (what SIGKILL leaves behind).
	for range 2 {
		if _, ok, err := st.LeaseAcquire(ctx, "upload_user", "9", "dead", 2, ttl); !ok || err != nil {
			t.Fatalf("dead process's lease: %v %v", ok, err)
		}
	}
	if _, ok, _ := p1.Acquire(ctx, "9"); ok {
		t.Fatal("admitted while the dead process's leases are fresh")
	}
	start := time.Now()
	for {
		rel, ok, err := p1.Acquire(ctx, "9")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			rel()
			break
		}
		if time.Since(start) > 3*ttl {
			t.Fatal("a dead process's leases still block after 3 TTLs")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM leases WHERE key <> '8' AND expires_at > now()`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d live leases left (%v)", n, err)
	}
	// The sweep deletes only expired leases: the dead process's, not key
	// 8's, which is still renewed.
	if _, _, err := st.LeaseAcquire(ctx, "upload_user", "10", "dead", 2, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	// (A dead lease of key 9 may still be there: the loop above got in as
	// soon as the first of the two expired.)
	if n, err := st.LeaseSweep(ctx); err != nil || n < 1 {
		t.Errorf("sweep deleted %d (%v), want at least 1", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM leases WHERE expires_at <= now()`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d expired leases after the sweep (%v)", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM leases WHERE key = '8'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the held lease of key 8: %d rows (%v)", n, err)
	}
	// Twelve acquirers in two processes racing for key 11: exactly Limit
	// win.
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := []*ratelimit.Leases{p1, p2}[i%2]
			if _, ok, err := p.Acquire(ctx, "11"); err != nil {
				t.Error(err)
			} else if ok {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 2 {
		t.Errorf("%d of 12 racing acquirers won, want 2", won.Load())
	}
	var nilL *ratelimit.Leases
	if _, ok, err := nilL.Acquire(ctx, "x"); !ok || err != nil {
		t.Error("a nil Leases must admit")
	}
}

// BenchmarkLeaseAcquireRelease is what the shared in-flight limit adds to
// each upload: one acquire (a transaction: advisory lock, delete expired,
// count, insert) and one release, from 16 concurrent uploaders on their own
// keys, as the submit benchmark's clients. It reports p50/p99.
//
//	go run ./internal/pgtest/pgtestd -- go test -run '^$' -bench LeaseAcquireRelease -benchtime 2000x -count 5 ./ratelimit/
func BenchmarkLeaseAcquireRelease(b *testing.B) {
	benchLeases(b, ratelimit.NewLeases(store.New(pgtest.NewPool(b)), "upload_user", 2, 0))
}

func benchLeases(b *testing.B, l *ratelimit.Leases) {
	ctx := context.Background()
	const clients = 16
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	next.Store(-1)
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := strconv.Itoa(c)
			for {
				i := next.Add(1)
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				release, ok, err := l.Acquire(ctx, key)
				if err != nil || !ok {
					b.Error("acquire:", ok, err)
					return
				}
				release()
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
