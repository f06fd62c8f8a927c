package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// LeaseAcquire takes one of limit leases of bucket/key for ttl, unless
// limit unexpired ones are held (ok false, nothing written). An advisory
// lock on bucket/key serialises acquirers, so two processes racing for the
// last lease cannot both get it. Expired leases of the key are deleted on
// the way. Times are the database's, so clocks of web processes don't
// matter.
func (s *Store) LeaseAcquire(ctx context.Context, bucket, key, holder string, limit int, ttl time.Duration) (int64, bool, error) {
	var id int64
	ok := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 1701))`, bucket, key); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM leases WHERE bucket = $1 AND key = $2 AND expires_at <= now()`, bucket, key); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM leases WHERE bucket = $1 AND key = $2`, bucket, key).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return nil
		}
		ok = true
		return tx.QueryRow(ctx, `
			INSERT INTO leases (bucket, key, holder, expires_at)
			VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING id`,
			bucket, key, holder, ttl.Seconds()).Scan(&id)
	})
	if err != nil {
		return 0, false, translate(err, "lease acquire")
	}
	return id, ok, nil
}

// LeaseRenew extends a held lease to ttl from now; false when it is gone
// (released, or expired and taken over).
func (s *Store) LeaseRenew(ctx context.Context, id int64, ttl time.Duration) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE leases SET expires_at = now() + make_interval(secs => $2) WHERE id = $1`, id, ttl.Seconds())
	if err != nil {
		return false, translate(err, "lease renew")
	}
	return tag.RowsAffected() == 1, nil
}

// LeaseRelease gives a lease back; releasing a missing one is not an error.
func (s *Store) LeaseRelease(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE id = $1`, id)
	return translate(err, "lease release")
}

// LeaseSweep deletes expired leases (those of processes that died, for
// keys nobody acquired since) and returns how many went.
func (s *Store) LeaseSweep(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE expires_at <= now()`)
	if err != nil {
		return 0, translate(err, "lease sweep")
	}
	return tag.RowsAffected(), nil
}
