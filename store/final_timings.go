package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// FinalTimingRun is one organizer request: re-time the top N of a phase
// on the official hardware class with more repeats.
type FinalTimingRun struct {
	ID          int64
	PhaseID     int64
	TopN        int
	Repeats     int
	Queue       string
	RequestedBy string
	RequestedAt time.Time
}

// FinalTiming is one submission's re-timing in a run: a record of its own,
// never the submission's result.
type FinalTiming struct {
	ID           int64
	RunID        int64
	SubmissionID int64
	Status       string // queued, running, finished, failed
	RuntimeMS    *float64
	RuntimeStdMS *float64
	Repeats      *int
	Device       string
	Hardware     string
	Worker       string
	Message      string
	FinishedAt   *time.Time
}

// CreateFinalTimingRun records a run in tx.
func CreateFinalTimingRun(ctx context.Context, tx pgx.Tx, r FinalTimingRun) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO final_timing_runs (phase_id, top_n, repeats, queue, requested_by, requested_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		r.PhaseID, r.TopN, r.Repeats, r.Queue, r.RequestedBy, r.RequestedAt).Scan(&id)
	return id, translate(err, "final timing run")
}

// AddFinalTiming adds a queued timing of a submission to a run, in tx.
func AddFinalTiming(ctx context.Context, tx pgx.Tx, runID, submissionID int64) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO final_timings (run_id, submission_id) VALUES ($1, $2) RETURNING id`,
		runID, submissionID).Scan(&id)
	return id, translate(err, "final timing")
}

// FinalTimingJob is what a worker needs to re-time a submission.
type FinalTimingJob struct {
	SubmissionID int64
	Repeats      int
	Status       string
}

// FinalTimingInput returns a timing's submission and repeats.
func (s *Store) FinalTimingInput(ctx context.Context, id int64) (FinalTimingJob, error) {
	var j FinalTimingJob
	err := s.pool.QueryRow(ctx, `
		SELECT t.submission_id, r.repeats, t.status FROM final_timings t JOIN final_timing_runs r ON r.id = t.run_id
		WHERE t.id = $1`, id).Scan(&j.SubmissionID, &j.Repeats, &j.Status)
	return j, translate(err, "final timing input")
}

// StartFinalTiming marks a queued (or retried) timing running on worker;
// false when it has ended already.
func (s *Store) StartFinalTiming(ctx context.Context, id int64, worker string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		UPDATE final_timings SET status = 'running', worker = $2, message = ''
		WHERE id = $1 AND status IN ('queued', 'running')`, id, worker)
	if err != nil {
		return false, translate(err, "start final timing")
	}
	return tag.RowsAffected() == 1, nil
}

// FinishFinalTiming stores a timing's measurement.
func (s *Store) FinishFinalTiming(ctx context.Context, id int64, runtimeMS, stdMS float64, repeats int, device, hardware string, env json.RawMessage) error {
	if len(env) == 0 {
		env = json.RawMessage(`{}`)
	}
	_, err := s.pool.Exec(ctx, `
		UPDATE final_timings SET status = 'finished', runtime_ms = $2, runtime_std_ms = $3, repeats = $4,
		    device = $5, hardware = $6, environment = $7, finished_at = now()
		WHERE id = $1 AND status = 'running'`, id, runtimeMS, stdMS, repeats, device, hardware, env)
	return translate(err, "finish final timing")
}

// FailFinalTiming ends a timing without a measurement.
func (s *Store) FailFinalTiming(ctx context.Context, id int64, message string) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE final_timings SET status = 'failed', message = $2, finished_at = now()
		WHERE id = $1 AND status IN ('queued', 'running')`, id, message)
	return translate(err, "fail final timing")
}

// LatestFinalTimings returns a phase's newest run and its timings; ok is
// false when the phase has none.
func (s *Store) LatestFinalTimings(ctx context.Context, phaseID int64) (run FinalTimingRun, ts []FinalTiming, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT id, phase_id, top_n, repeats, queue, requested_by, requested_at FROM final_timing_runs
		WHERE phase_id = $1 ORDER BY id DESC LIMIT 1`, phaseID).
		Scan(&run.ID, &run.PhaseID, &run.TopN, &run.Repeats, &run.Queue, &run.RequestedBy, &run.RequestedAt)
	if err == pgx.ErrNoRows {
		return run, nil, false, nil
	}
	if err != nil {
		return run, nil, false, translate(err, "final timings")
	}
	rows, err := s.pool.Query(ctx, `
		SELECT id, run_id, submission_id, status, runtime_ms, runtime_std_ms, repeats, device, hardware, worker, message, finished_at
		FROM final_timings WHERE run_id = $1 ORDER BY id`, run.ID)
	if err != nil {
		return run, nil, false, translate(err, "final timings")
	}
	ts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (FinalTiming, error) {
		var t FinalTiming
		err := r.Scan(&t.ID, &t.RunID, &t.SubmissionID, &t.Status, &t.RuntimeMS, &t.RuntimeStdMS, &t.Repeats,
			&t.Device, &t.Hardware, &t.Worker, &t.Message, &t.FinishedAt)
		return t, err
	})
	return run, ts, err == nil, translate(err, "final timings")
}

// SetFrozenNote records where a frozen ranking's runtimes came from.
func SetFrozenNote(ctx context.Context, tx pgx.Tx, phaseID int64, version int, note string) error {
	_, err := tx.Exec(ctx, `UPDATE frozen_rankings SET note = $3 WHERE phase_id = $1 AND version = $2`, phaseID, version, note)
	return translate(err, "frozen note")
}
