package pagecache

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Cache holds values (usually *Page) per key, each tied to the challenge it
// shows, valid until that challenge changes. Concurrent requests for a
// missing or stale key wait for one build instead of each starting their own.
type Cache struct {
	v   *Versions
	max int

	mu sync.Mutex
	m  map[string]*entry
}

type entry struct {
	done  chan struct{}
	at    stamp
	scope int64     // challenge id
	until time.Time // zero: until the challenge changes
	val   any
	err   error
}

// New returns a cache of at most maxEntries keys, invalidated by v.
func New(v *Versions, maxEntries int) *Cache {
	return &Cache{v: v, max: maxEntries, m: map[string]*entry{}}
}

// Build computes a value and names the challenge it depends on.
type Build func(ctx context.Context) (Value, error)

// Value is what a Build returns.
type Value struct {
	ChallengeID int64
	// Until, when set, is when the value goes stale by itself, with no
	// database change: a phase opening, closing or being revealed at a set
	// time.
	Until time.Time
	Val   any
}

// Get returns the value for key, building it when missing or stale. Errors
// are returned, never cached.
func (c *Cache) Get(ctx context.Context, key string, build Build) (any, error) {
	c.mu.Lock()
	if e := c.m[key]; e != nil {
		select {
		case <-e.done:
			if e.err == nil && c.v.fresh(e.at, e.scope) && (e.until.IsZero() || time.Now().Before(e.until)) {
				c.mu.Unlock()
				return e.val, nil
			}
		default: // being built: wait for it
			c.mu.Unlock()
			select {
			case <-e.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if e.err == nil {
				return e.val, nil
			}
			if !errors.Is(e.err, context.Canceled) && !errors.Is(e.err, context.DeadlineExceeded) {
				return nil, e.err // the page fails for us too (one build, one error, not a queue of them)
			}
			// Its request went away: build for ours (or wait for another's).
			return c.Get(ctx, key, build)
		}
	}
	// The entry goes in under the lock of the look-up above, so that
	// requests arriving together build once (they each built when the
	// look-up and the insertion took the lock apart). The stamp is taken
	// before building: a change while we build leaves the value stale at
	// once.
	e := &entry{done: make(chan struct{}), at: c.v.stamp()}
	if e.at.ok {
		if len(c.m) >= c.max {
			clear(c.m) // crude, but keys are few: pages × challenges × sort orders
		}
		c.m[key] = e
	}
	c.mu.Unlock()
	v, err := build(ctx)
	e.scope, e.until, e.val, e.err = v.ChallengeID, v.Until, v.Val, err
	if e.err != nil || !e.at.ok {
		c.mu.Lock()
		if c.m[key] == e {
			delete(c.m, key)
		}
		c.mu.Unlock()
	}
	close(e.done)
	return e.val, e.err
}
