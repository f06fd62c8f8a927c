package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// WorkerInfo is one evaluation worker as it reports itself.
type WorkerInfo struct {
	ID                string // River client id
	Host              string
	Queue             string // hardware class
	Device            string
	Hardware          string
	ORTVersion        string
	Threads           int
	CurrentSubmission *int64
	CurrentJob        *int64
	StartedAt         time.Time
	LastHeartbeat     time.Time
	LostAt            *time.Time
	Done, Failed      int
}

// Heartbeat upserts the worker's row with now() as its last heartbeat. lost
// is true when the lost-worker sweep has already given this worker up (its
// heartbeat stopped long enough for its evaluation to be requeued): the
// worker must then abandon what it is doing and write nothing more to it.
// A lost worker's row is revived by RegisterWorker only.
func (s *Store) Heartbeat(ctx context.Context, w WorkerInfo) (lost bool, err error) {
	err = s.pool.QueryRow(ctx, `
		INSERT INTO workers (id, host, queue, device, hardware, ort_version, threads, current_submission, current_job)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET
		    last_heartbeat = CASE WHEN workers.lost_at IS NULL THEN now() ELSE workers.last_heartbeat END,
		    current_submission = CASE WHEN workers.lost_at IS NULL THEN EXCLUDED.current_submission ELSE workers.current_submission END,
		    current_job = CASE WHEN workers.lost_at IS NULL THEN EXCLUDED.current_job ELSE workers.current_job END,
		    ort_version = CASE WHEN EXCLUDED.ort_version <> '' THEN EXCLUDED.ort_version ELSE workers.ort_version END
		RETURNING lost_at IS NOT NULL`,
		w.ID, w.Host, w.Queue, w.Device, w.Hardware, w.ORTVersion, w.Threads, w.CurrentSubmission, w.CurrentJob).Scan(&lost)
	return lost, translate(err, "heartbeat")
}

// RegisterWorker starts (or restarts) a worker's row: a fresh heartbeat,
// not lost, no current job.
func (s *Store) RegisterWorker(ctx context.Context, w WorkerInfo) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO workers (id, host, queue, device, hardware, ort_version, threads)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, queue = EXCLUDED.queue, device = EXCLUDED.device,
		    hardware = EXCLUDED.hardware, ort_version = EXCLUDED.ort_version, threads = EXCLUDED.threads,
		    current_submission = NULL, current_job = NULL, started_at = now(), last_heartbeat = now(), lost_at = NULL`,
		w.ID, w.Host, w.Queue, w.Device, w.Hardware, w.ORTVersion, w.Threads)
	return translate(err, "register worker")
}

// WorkerFinished counts one evaluation a worker ended (ok: with a result).
func (s *Store) WorkerFinished(ctx context.Context, id string, ok bool) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE workers SET done = done + CASE WHEN $2 THEN 1 ELSE 0 END,
		    failed = failed + CASE WHEN $2 THEN 0 ELSE 1 END,
		    current_submission = NULL, current_job = NULL
		WHERE id = $1`, id, ok)
	return translate(err, "worker finished")
}

// StopWorker removes a worker that stopped in an orderly way.
func (s *Store) StopWorker(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM workers WHERE id = $1`, id)
	return translate(err, "stop worker")
}

// Workers lists every worker, most recent heartbeat first (the organizer
// panel).
func (s *Store) Workers(ctx context.Context) ([]WorkerInfo, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, host, queue, device, hardware, ort_version, threads, current_submission, current_job,
		       started_at, last_heartbeat, lost_at, done, failed
		FROM workers ORDER BY last_heartbeat DESC, id`)
	if err != nil {
		return nil, translate(err, "workers")
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WorkerInfo, error) {
		var w WorkerInfo
		err := r.Scan(&w.ID, &w.Host, &w.Queue, &w.Device, &w.Hardware, &w.ORTVersion, &w.Threads,
			&w.CurrentSubmission, &w.CurrentJob, &w.StartedAt, &w.LastHeartbeat, &w.LostAt, &w.Done, &w.Failed)
		return w, err
	})
	return ws, translate(err, "workers")
}

// LostJob is an evaluate job whose worker stopped heartbeating.
type LostJob struct {
	JobID        int64
	SubmissionID int64
	Queue        string
	Worker       string
	Attempts     int // the submission's evaluation attempts so far
}

// RequeueLostJobs gives up on workers silent for longer than lostAfter:
// it marks them lost, discards each running evaluate job whose latest
// attempt is theirs (so that a lost worker coming back can neither complete
// nor retry it: River only finalises running jobs), puts its submission
// back to queued with message in its log, and calls requeue in the same
// transaction for each, which inserts the job that finishes it elsewhere
// (or fails the submission, when it has been lost too often). Dropped
// workers' rows are deleted a day after they were lost.
func (s *Store) RequeueLostJobs(ctx context.Context, lostAfter time.Duration, message string,
	requeue func(ctx context.Context, tx pgx.Tx, j LostJob) error) ([]LostJob, error) {
	var out []LostJob
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE workers SET lost_at = now()
			WHERE lost_at IS NULL AND last_heartbeat < now() - make_interval(secs => $1::float8)`, lostAfter.Seconds()); err != nil {
			return translate(err, "lost workers")
		}
		if _, err := tx.Exec(ctx, `DELETE FROM workers WHERE lost_at < now() - interval '1 day'`); err != nil {
			return translate(err, "lost workers")
		}
		rows, err := tx.Query(ctx, `
			UPDATE river_job j SET state = 'discarded', finalized_at = now(),
			    errors = array_append(j.errors, jsonb_build_object(
			        'at', now(), 'attempt', j.attempt, 'error', 'worker lost: no heartbeat from ' || w.id, 'trace', ''))
			FROM workers w
			WHERE j.state = 'running' AND j.kind = 'evaluate' AND w.lost_at IS NOT NULL
			  AND j.attempted_by[array_upper(j.attempted_by, 1)] = w.id
			RETURNING j.id, (j.args->>'submission_id')::bigint, j.queue, w.id`)
		if err != nil {
			return translate(err, "lost jobs")
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LostJob, error) {
			var j LostJob
			err := r.Scan(&j.JobID, &j.SubmissionID, &j.Queue, &j.Worker)
			return j, err
		})
		if err != nil {
			return translate(err, "lost jobs")
		}
		for i := range out {
			j := &out[i]
			err := tx.QueryRow(ctx, `
				UPDATE submissions SET status = 'queued'
				WHERE id = $1 AND status = 'running'
				RETURNING attempts`, j.SubmissionID).Scan(&j.Attempts)
			if err == pgx.ErrNoRows {
				continue // finished, failed or reset meanwhile: nothing to resume
			}
			if err != nil {
				return translate(err, "requeue lost job")
			}
			if _, err := tx.Exec(ctx, `INSERT INTO submission_logs (submission_id, line) VALUES ($1, $2)`, j.SubmissionID, message); err != nil {
				return translate(err, "requeue lost job")
			}
			if err := requeue(ctx, tx, *j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FailQueuedTx fails a queued submission with f inside tx (and logs the
// message), for a sweep that gives up on it.
func FailQueuedTx(ctx context.Context, tx pgx.Tx, submissionID int64, f Failure) error {
	tag, err := tx.Exec(ctx, `
		UPDATE submissions SET status = 'failed', message = $2, finished_at = now(), outcome = $3, charged = $4
		WHERE id = $1 AND status = 'queued'`, submissionID, f.Message, f.Outcome, f.Charged)
	if err != nil {
		return translate(err, "fail submission")
	}
	if tag.RowsAffected() == 0 {
		return nil
	}
	_, err = tx.Exec(ctx, `INSERT INTO submission_logs (submission_id, line) VALUES ($1, $2)`, submissionID, "evaluation failed: "+f.Message)
	return translate(err, "fail submission")
}
