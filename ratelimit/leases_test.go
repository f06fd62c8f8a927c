package ratelimit_test

import (
	"context"
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
	const ttl = 900 * time.Millisecond
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
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM leases WHERE key <> '8'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("%d leases left (%v)", n, err)
	}
	// The sweep deletes only expired leases: the dead process's, not key
	// 8's, which is still renewed.
	if _, _, err := st.LeaseAcquire(ctx, "upload_user", "10", "dead", 2, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if n, err := st.LeaseSweep(ctx); err != nil || n != 1 {
		t.Errorf("sweep deleted %d (%v), want 1", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM leases WHERE key = '8'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("the held lease of key 8: %d rows (%v)", n, err)
	}
	var nilL *ratelimit.Leases
	if _, ok, err := nilL.Acquire(ctx, "x"); !ok || err != nil {
		t.Error("a nil Leases must admit")
	}
}
