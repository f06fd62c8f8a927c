package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// QueueStat is one River queue's evaluation jobs by state, as the
// operations view and /metrics show them. Only job kinds that evaluate a
// model count (evaluate, retime): the maintenance sweep is not load.
type QueueStat struct {
	Queue     string
	Available int // waiting for a worker
	Running   int
	Retryable int // failed an attempt, waiting for its retry
	Scheduled int
	// OldestWaiting is how long the oldest available job has waited since
	// it became available; 0 when none waits.
	OldestWaiting time.Duration
}

// EvaluationKinds are the River job kinds that run a model.
var EvaluationKinds = []string{"evaluate", "retime"}

// QueueStats counts evaluation jobs per queue and state. Queues with no
// job at all still appear when named in queues, so an idle hardware class
// reads as zero rather than missing.
func (s *Store) QueueStats(ctx context.Context, queues []string) ([]QueueStat, error) {
	rows, err := s.pool.Query(ctx, `
		WITH q AS (SELECT unnest($2::text[]) AS queue
		           UNION SELECT DISTINCT queue FROM river_job WHERE kind = ANY($1) AND state IN ('available', 'running', 'retryable', 'scheduled'))
		SELECT q.queue,
		       count(j.id) FILTER (WHERE j.state = 'available'),
		       count(j.id) FILTER (WHERE j.state = 'running'),
		       count(j.id) FILTER (WHERE j.state = 'retryable'),
		       count(j.id) FILTER (WHERE j.state = 'scheduled'),
		       coalesce(extract(epoch FROM now() - min(j.scheduled_at) FILTER (WHERE j.state = 'available')), 0)::float8
		FROM q LEFT JOIN river_job j ON j.queue = q.queue AND j.kind = ANY($1)
		    AND j.state IN ('available', 'running', 'retryable', 'scheduled')
		GROUP BY q.queue ORDER BY q.queue`, EvaluationKinds, queues)
	if err != nil {
		return nil, translate(err, "queue stats")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueueStat, error) {
		var q QueueStat
		var secs float64
		err := r.Scan(&q.Queue, &q.Available, &q.Running, &q.Retryable, &q.Scheduled, &secs)
		if secs > 0 {
			q.OldestWaiting = time.Duration(secs * float64(time.Second))
		}
		return q, err
	})
	return out, translate(err, "queue stats")
}

// MedianEvaluation is the median wall time of the last n finished
// evaluations on queue (started to finished), and how many there were; 0
// when none finished yet.
func (s *Store) MedianEvaluation(ctx context.Context, queue string, n int) (time.Duration, int, error) {
	var secs *float64
	var count int
	err := s.pool.QueryRow(ctx, `
		SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), count(*)
		FROM (SELECT extract(epoch FROM s.finished_at - s.started_at)::float8 AS d
		      FROM submissions s JOIN challenges c ON c.id = s.challenge_id
		      WHERE s.status = 'finished' AND s.started_at IS NOT NULL AND s.finished_at >= s.started_at
		        AND c.queue = $1
		      ORDER BY s.finished_at DESC LIMIT $2) t`, queue, n).Scan(&secs, &count)
	if err != nil {
		return 0, 0, translate(err, "median evaluation")
	}
	if secs == nil {
		return 0, 0, nil
	}
	return time.Duration(*secs * float64(time.Second)), count, nil
}

// WaitingSubmissions counts the queued and running submissions of the
// given challenges, by queue: what an organizer's own share of the queue is.
func (s *Store) WaitingSubmissions(ctx context.Context, challengeIDs []int64) (map[string][2]int, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT c.queue, count(*) FILTER (WHERE s.status = 'queued'), count(*) FILTER (WHERE s.status = 'running')
		FROM submissions s JOIN challenges c ON c.id = s.challenge_id
		WHERE s.challenge_id = ANY($1) AND s.status IN ('queued', 'running')
		GROUP BY c.queue`, challengeIDs)
	if err != nil {
		return nil, translate(err, "waiting submissions")
	}
	defer rows.Close()
	out := map[string][2]int{}
	for rows.Next() {
		var q string
		var n [2]int
		if err := rows.Scan(&q, &n[0], &n[1]); err != nil {
			return nil, translate(err, "waiting submissions")
		}
		out[q] = n
	}
	return out, translate(rows.Err(), "waiting submissions")
}

// OutcomeCount is how many evaluations ended with an outcome, charged
// against the team's quota or not (a platform failure).
type OutcomeCount struct {
	Outcome string
	Charged bool
	Count   int64
}

// OutcomeCounts counts ended evaluations by outcome and charge (rows
// from before outcomes were recorded are left out).
func (s *Store) OutcomeCounts(ctx context.Context) ([]OutcomeCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT outcome, charged, count(*) FROM submissions WHERE outcome IS NOT NULL
		GROUP BY outcome, charged ORDER BY outcome, charged`)
	if err != nil {
		return nil, translate(err, "outcome counts")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OutcomeCount, error) {
		var o OutcomeCount
		err := r.Scan(&o.Outcome, &o.Charged, &o.Count)
		return o, err
	})
	return out, translate(err, "outcome counts")
}

// DurationHistogram is a cumulative histogram of evaluation wall times
// (seconds) per queue: Buckets[i] counts durations ≤ Bounds[i].
type DurationHistogram struct {
	Queue   string
	Count   uint64
	Sum     float64
	Buckets []uint64
}

// EvaluationDurations builds, from the finished submissions, the histogram
// of their evaluation wall times per queue with the given upper bounds
// (ascending, seconds). Computed from the database at each scrape, so
// every serve process reports the same numbers whatever worker ran them.
func (s *Store) EvaluationDurations(ctx context.Context, bounds []float64) ([]DurationHistogram, error) {
	rows, err := s.pool.Query(ctx, `
		WITH d AS (
		    SELECT c.queue, extract(epoch FROM s.finished_at - s.started_at)::float8 AS secs
		    FROM submissions s JOIN challenges c ON c.id = s.challenge_id
		    WHERE s.status IN ('finished', 'failed') AND s.started_at IS NOT NULL AND s.finished_at >= s.started_at),
		b AS (SELECT u.b, u.i FROM unnest($1::float8[]) WITH ORDINALITY AS u(b, i)),
		per AS (SELECT d.queue, b.i, count(*) FILTER (WHERE d.secs <= b.b) AS n FROM d CROSS JOIN b GROUP BY d.queue, b.i)
		SELECT t.queue, t.n, t.total,
		       coalesce((SELECT array_agg(per.n ORDER BY per.i) FROM per WHERE per.queue = t.queue), '{}')
		FROM (SELECT queue, count(*) AS n, coalesce(sum(secs), 0) AS total FROM d GROUP BY queue) t
		ORDER BY t.queue`, bounds)
	if err != nil {
		return nil, translate(err, "evaluation durations")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DurationHistogram, error) {
		var h DurationHistogram
		var n int64
		var b []int64
		err := r.Scan(&h.Queue, &n, &h.Sum, &b)
		h.Count = uint64(n)
		for _, v := range b {
			h.Buckets = append(h.Buckets, uint64(v))
		}
		return h, err
	})
	return out, translate(err, "evaluation durations")
}
