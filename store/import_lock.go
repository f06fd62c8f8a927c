package store

import (
	"context"
	"errors"
	"time"
)

// ErrBusy: a lock is held elsewhere and did not free in time.
var ErrBusy = errors.New("busy")

// datasetImportLock is the advisory lock key serialising dataset imports
// across every web process ("SRIMPORT").
const datasetImportLock = 0x5352_494d_504f5254

// WithDatasetImportLock runs fn while holding the cluster-wide dataset
// import lock (a session advisory lock on a connection of its own), waiting
// up to wait for it; ErrBusy when it stays taken. One import at a time
// bounds the memory and CPU an import takes, and lets an import that fails
// delete the blobs it added without racing another import that would
// reference them.
func (s *Store) WithDatasetImportLock(ctx context.Context, wait time.Duration, fn func() error) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return translate(err, "import lock")
	}
	defer conn.Release()
	deadline := time.Now().Add(wait)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, int64(datasetImportLock)).Scan(&ok); err != nil {
			return translate(err, "import lock")
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return ErrBusy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	defer func() {
		// Unlock even when ctx is done: the connection returns to the pool.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, int64(datasetImportLock)); err != nil {
			// A connection that could not unlock must not hold the lock
			// for its next user.
			conn.Conn().Close(uctx) //nolint:errcheck // closing is the fallback
		}
	}()
	return fn()
}

// UnreferencedBlobs returns the digests of ds that no dataset image and no
// submission refers to: the blobs a failed import may delete.
func (s *Store) UnreferencedBlobs(ctx context.Context, ds []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d FROM unnest($1::text[]) AS d
		WHERE NOT EXISTS (SELECT 1 FROM dataset_images i WHERE i.lr_sha256 = d OR i.hr_sha256 = d)
		  AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.model_sha256 = d)`, ds)
	if err != nil {
		return nil, translate(err, "unreferenced blobs")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, translate(err, "unreferenced blobs")
		}
		out = append(out, d)
	}
	return out, translate(rows.Err(), "unreferenced blobs")
}
