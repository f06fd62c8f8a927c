package ratelimit

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// LeaseStore keeps leases (store.Store).
type LeaseStore interface {
	LeaseAcquire(ctx context.Context, bucket, key, holder string, limit int, ttl time.Duration) (int64, bool, error)
	LeaseRenew(ctx context.Context, id int64, ttl time.Duration) (bool, error)
	LeaseRelease(ctx context.Context, id int64) error
}

// LeaseTTL is how long a lease outlives its process: a process renews its
// leases every LeaseTTL/3, so one that dies frees them within LeaseTTL.
const LeaseTTL = 30 * time.Second

// Leases bounds concurrent activities per key (Limit at once) across every
// process sharing the database, where a per-process counter would allow
// Limit per process. Each held lease is renewed in the background until
// released; a process that dies stops renewing and its leases expire
// after TTL, so it never blocks a key for longer. A nil *Leases, or a
// Limit <= 0, admits everything.
type Leases struct {
	Store  LeaseStore
	Bucket string // what is bounded, for example "upload_user"
	Limit  int
	TTL    time.Duration // 0: LeaseTTL
	Holder string        // this process, for operators; "" means host:pid
}

// NewLeases returns Limit leases per key of bucket on st.
func NewLeases(st LeaseStore, bucket string, limit int, ttl time.Duration) *Leases {
	return &Leases{Store: st, Bucket: bucket, Limit: limit, TTL: ttl}
}

func (l *Leases) ttl() time.Duration {
	if l.TTL > 0 {
		return l.TTL
	}
	return LeaseTTL
}

func (l *Leases) holder() string {
	if l.Holder != "" {
		return l.Holder
	}
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}

// Acquire takes a lease of key: ok is false when Limit are held already.
// The returned release gives it back (call it exactly once, also when the
// request's context has ended).
func (l *Leases) Acquire(ctx context.Context, key string) (release func(), ok bool, err error) {
	if l == nil || l.Limit <= 0 {
		return func() {}, true, nil
	}
	ttl := l.ttl()
	id, ok, err := l.Store.LeaseAcquire(ctx, l.Bucket, key, l.holder(), l.Limit, ttl)
	if err != nil {
		return nil, false, fmt.Errorf("lease %s: %w", l.Bucket, err)
	}
	if !ok {
		return nil, false, nil
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // renew until released
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				// A failed renewal is retried on the next tick; if the lease
				// lapses meanwhile the key briefly admits one more, which is
				// the price of never blocking a user for a dead process.
				rctx, cancel := context.WithTimeout(context.Background(), ttl/3)
				_, _ = l.Store.LeaseRenew(rctx, id, ttl)
				cancel()
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		// A release that fails leaves the row to expire within TTL.
		_ = l.Store.LeaseRelease(rctx, id)
	}, true, nil
}
