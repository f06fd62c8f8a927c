package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

var errNoRows = pgx.ErrNoRows

// RateCount counts bucket/key's events after since and returns the time of
// the limit-th newest one (zero when there are fewer): when that one ages out
// of the window, the key is below the limit again.
func (s *Store) RateCount(ctx context.Context, bucket, key string, since time.Time, limit int) (int, time.Time, error) {
	var n int
	var nth *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT count(*),
		       (SELECT at FROM rate_events WHERE bucket = $1 AND key = $2 AND at > $3
		        ORDER BY at DESC OFFSET $4 - 1 LIMIT 1)
		FROM rate_events WHERE bucket = $1 AND key = $2 AND at > $3`,
		bucket, key, since, max(limit, 1)).Scan(&n, &nth)
	if err != nil || nth == nil {
		return n, time.Time{}, translate(err, "rate count")
	}
	return n, *nth, nil
}

// RateAdd records one event and returns its id (for RateRemove).
func (s *Store) RateAdd(ctx context.Context, bucket, key string, at time.Time) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO rate_events (bucket, key, at) VALUES ($1, $2, $3) RETURNING id`,
		bucket, key, at).Scan(&id)
	return id, translate(err, "rate add")
}

// RateRemove forgets one event (a tentatively counted one that did not count).
func (s *Store) RateRemove(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM rate_events WHERE id = $1`, id)
	return translate(err, "rate remove")
}

// RateReset forgets every event of bucket/key.
func (s *Store) RateReset(ctx context.Context, bucket, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM rate_events WHERE bucket = $1 AND key = $2`, bucket, key)
	return translate(err, "rate reset")
}

// RateSweep deletes events older than before and returns how many went.
func (s *Store) RateSweep(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM rate_events WHERE at < $1`, before)
	if err != nil {
		return 0, translate(err, "rate sweep")
	}
	return tag.RowsAffected(), nil
}
