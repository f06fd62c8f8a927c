// Package pagecache keeps public pages rendered and compressed once per
// change instead of once per request, correctly across any number of
// `srarena serve` processes: PostgreSQL triggers bump a per-challenge
// version (migration 0021, table board_versions) and NOTIFY srarena_board;
// each process LISTENs and drops what a change touched. While a process
// cannot listen (connection lost, not started) it caches nothing and every
// request builds its page afresh, so a stale page is never served for longer
// than a notification takes to arrive.
package pagecache

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the NOTIFY channel of migration 0021's triggers.
const Channel = "srarena_board"

// Versions tracks which challenges changed, from the notifications.
type Versions struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu    sync.RWMutex
	live  bool             // listening: the in-memory state is complete
	epoch uint64           // bumped whenever live changes: entries of an older epoch are void
	seq   uint64           // bumped by every notification
	last  map[int64]uint64 // challenge id → seq of its last change
}

// NewVersions returns a tracker that is not live until Run listens.
func NewVersions(pool *pgxpool.Pool, log *slog.Logger) *Versions {
	return &Versions{pool: pool, log: log, last: map[int64]uint64{}}
}

// stamp is the state a cached value was built in.
type stamp struct {
	epoch, seq uint64
	ok         bool // live when taken; otherwise nothing may be cached
}

func (v *Versions) stamp() stamp {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return stamp{epoch: v.epoch, seq: v.seq, ok: v.live}
}

// fresh reports whether a value built at s for challenge id is still valid.
func (v *Versions) fresh(s stamp, id int64) bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return s.ok && v.live && v.epoch == s.epoch && v.last[id] <= s.seq
}

func (v *Versions) setLive(live bool) {
	v.mu.Lock()
	v.live = live
	v.epoch++
	v.mu.Unlock()
}

func (v *Versions) changed(id int64) {
	v.mu.Lock()
	v.seq++
	v.last[id] = v.seq
	v.mu.Unlock()
}

// Live reports whether notifications are being received.
func (v *Versions) Live() bool {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.live
}

// Run listens until ctx ends, reconnecting after failures (with a growing
// pause). Each (re)connection starts a new epoch: anything cached before is
// dropped, since notifications may have been missed meanwhile.
func (v *Versions) Run(ctx context.Context) {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := v.listen(ctx)
		v.setLive(false)
		if ctx.Err() != nil {
			return
		}
		v.log.WarnContext(ctx, "pagecache: listen failed; caching paused", "error", err)
		if time.Since(start) > time.Minute {
			pause = 100 * time.Millisecond
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(pause*2, 10*time.Second)
	}
}

func (v *Versions) listen(ctx context.Context) error {
	conn, err := v.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection will be LISTENing: take it out of the pool, and close
	// it when done rather than hand it back.
	pgc := conn.Hijack()
	defer pgc.Close(context.WithoutCancel(ctx))
	if _, err := pgc.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	v.setLive(true)
	for {
		n, err := pgc.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			return errors.New("pagecache: bad notification payload " + strconv.Quote(n.Payload))
		}
		v.changed(id)
	}
}
