// Package ratelimit counts events per key over a sliding window in
// PostgreSQL, so that a limit (failed logins, sign-ups, refused uploads)
// holds across every web process behind a load balancer and survives
// restarts; a per-process counter would multiply the limit by the number of
// processes.
package ratelimit

import (
	"context"
	"fmt"
	"time"
)

// Store is where the events live (store.Store).
type Store interface {
	RateCount(ctx context.Context, bucket, key string, since time.Time, limit int) (int, time.Time, error)
	RateAdd(ctx context.Context, bucket, key string, at time.Time) (int64, error)
	RateRemove(ctx context.Context, id int64) error
	RateReset(ctx context.Context, bucket, key string) error
}

// Window allows Limit events per key within Span. A nil *Window, or a
// Limit <= 0, never blocks.
type Window struct {
	Store  Store
	Bucket string // what is counted, for example "login_ip"
	Limit  int
	Span   time.Duration
	Now    func() time.Time // nil: time.Now
}

// New returns a window over st.
func New(st Store, bucket string, limit int, span time.Duration, now func() time.Time) *Window {
	return &Window{Store: st, Bucket: bucket, Limit: limit, Span: span, Now: now}
}

func (w *Window) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Window) off() bool { return w == nil || w.Limit <= 0 }

// Blocked reports whether key has reached the limit, and if so how long
// until its oldest counted event leaves the window.
func (w *Window) Blocked(ctx context.Context, key string) (bool, time.Duration, error) {
	if w.off() {
		return false, 0, nil
	}
	now := w.now()
	n, nth, err := w.Store.RateCount(ctx, w.Bucket, key, now.Add(-w.Span), w.Limit)
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", w.Bucket, err)
	}
	if n < w.Limit {
		return false, 0, nil
	}
	return true, w.Span - now.Sub(nth), nil
}

// Event is one counted event; Remove takes it back.
type Event struct{ id int64 }

// Add records one event for key.
func (w *Window) Add(ctx context.Context, key string) (Event, error) {
	if w.off() {
		return Event{}, nil
	}
	id, err := w.Store.RateAdd(ctx, w.Bucket, key, w.now())
	if err != nil {
		return Event{}, fmt.Errorf("rate limit %s: %w", w.Bucket, err)
	}
	return Event{id: id}, nil
}

// Remove forgets an event recorded by Add: a tentatively counted event that
// turned out not to count.
func (w *Window) Remove(ctx context.Context, e Event) error {
	if w.off() || e.id == 0 {
		return nil
	}
	if err := w.Store.RateRemove(ctx, e.id); err != nil {
		return fmt.Errorf("rate limit %s: %w", w.Bucket, err)
	}
	return nil
}

// Reset forgets all of key's events.
func (w *Window) Reset(ctx context.Context, key string) error {
	if w.off() {
		return nil
	}
	if err := w.Store.RateReset(ctx, w.Bucket, key); err != nil {
		return fmt.Errorf("rate limit %s: %w", w.Bucket, err)
	}
	return nil
}

// MinutesLeft rounds a wait up to whole minutes, at least 1, for messages.
func MinutesLeft(d time.Duration) int {
	m := int((d + time.Minute - 1) / time.Minute)
	return max(m, 1)
}
