package store

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// EvaluationInput is what a worker needs to evaluate one submission.
type EvaluationInput struct {
	SubmissionID int64
	Status       string
	ModelSHA256  string
	Scale        int
	DataRange    float32        // the model's pixel range: 1 or 255
	Split        string         // the dataset's split: "validation" or "test"
	Protocol     string         // the phase's timing protocol: "robust" or "official"
	Threads      int            // the phase's ORT intra-op threads; 0: the worker's setting
	Images       []DatasetImage // ordered by name, bytewise (COLLATE "C")
}

// EvaluationInput loads the submission's model digest and data range, its
// challenge's scale and its dataset's split and images. The images are in
// bytewise name order (ORDER BY name COLLATE "C", independent of the
// database's locale): on a test split the runner names them only by their
// 1-based position in this order ("image 3"), so an administrator maps such
// a name back with the same query.
func (s *Store) EvaluationInput(ctx context.Context, submissionID int64) (*EvaluationInput, error) {
	in := &EvaluationInput{SubmissionID: submissionID}
	var datasetID int64
	err := s.pool.QueryRow(ctx, `
		SELECT s.status, s.model_sha256, c.scale, s.dataset_id, s.data_range, d.split,
		    coalesce((SELECT p.timing_protocol FROM phases p WHERE p.id = s.phase_id), 'robust'),
		    coalesce((SELECT p.ort_threads FROM phases p WHERE p.id = s.phase_id), 0)
		FROM submissions s
		JOIN challenges c ON c.id = s.challenge_id
		JOIN datasets d ON d.id = s.dataset_id
		WHERE s.id = $1`, submissionID).Scan(&in.Status, &in.ModelSHA256, &in.Scale, &datasetID, &in.DataRange, &in.Split, &in.Protocol, &in.Threads)
	if err != nil {
		return nil, translate(err, "evaluation input")
	}
	rows, err := s.pool.Query(ctx, `
		SELECT name, lr_sha256, hr_sha256 FROM dataset_images
		WHERE dataset_id = $1 ORDER BY name COLLATE "C"`, datasetID)
	if err != nil {
		return nil, translate(err, "dataset images")
	}
	in.Images, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DatasetImage, error) {
		var im DatasetImage
		err := r.Scan(&im.Name, &im.LRSHA256, &im.HRSHA256)
		return im, err
	})
	if err != nil {
		return nil, translate(err, "dataset images")
	}
	return in, nil
}

// StartEvaluation marks a queued (or, on a retry, running) submission as
// running on worker and counts the attempt. It returns false, and changes
// nothing, when the submission is finished or failed: an admin re-run resets
// it to queued first.
func (s *Store) StartEvaluation(ctx context.Context, submissionID int64, worker string) (attempt int, started bool, err error) {
	err = s.pool.QueryRow(ctx, `
		UPDATE submissions
		SET status = 'running', attempts = attempts + 1, worker = $2, started_at = now(),
		    finished_at = NULL, message = '', outcome = NULL, charged = true, images_done = 0, images_total = 0
		WHERE id = $1 AND status IN ('queued', 'running')
		RETURNING attempts`, submissionID, worker).Scan(&attempt)
	if err == pgx.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, translate(err, "start evaluation")
	}
	return attempt, true, nil
}

// maxLogLine bounds one submission_logs line.
const maxLogLine = 2000

// AppendLog adds a participant-visible line to the submission's log.
func (s *Store) AppendLog(ctx context.Context, submissionID int64, line string) error {
	if len(line) > maxLogLine {
		line = line[:maxLogLine]
		for !utf8.ValidString(line) {
			line = line[:len(line)-1]
		}
		line += "…"
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO submission_logs (submission_id, line) VALUES ($1, $2)`, submissionID, line)
	return translate(err, "append log")
}

// AppendLogAttempt adds a participant-visible line to the submission's log
// only while attempt is its latest evaluation attempt: a worker that lost its
// job (requeued after its heartbeat stopped, or superseded) writes nothing
// more. applied is false for such a stale line.
func (s *Store) AppendLogAttempt(ctx context.Context, submissionID int64, attempt int, line string) (applied bool, err error) {
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO submission_logs (submission_id, line)
		SELECT $1, $2 FROM submissions WHERE id = $1 AND attempts = $3 AND status <> 'queued'`,
		submissionID, clipLine(line), attempt)
	if err != nil {
		return false, translate(err, "append log")
	}
	return tag.RowsAffected() == 1, nil
}

func clipLine(line string) string {
	if len(line) > maxLogLine {
		line = line[:maxLogLine]
		for !utf8.ValidString(line) {
			line = line[:len(line)-1]
		}
		line += "…"
	}
	return line
}

// FinishEvaluation stores the result and marks the submission finished, in
// one transaction: a result row exists exactly when the status is finished.
// It applies only while the submission is still running attempt (the number
// StartEvaluation returned): a worker whose job was rescued and re-run
// elsewhere, or whose submission an admin reset, must not overwrite the newer
// outcome. applied is false, and nothing changes, for such a stale write.
func (s *Store) FinishEvaluation(ctx context.Context, r *Result, attempt int) (applied bool, err error) {
	return s.FinishEvaluationWith(ctx, r, attempt, nil)
}

// FinishEvaluationWith is FinishEvaluation that also runs also (when
// non-nil) in the same transaction once the write applies: the worker
// completes its River job there, so a result and its job's completion are
// committed together or not at all.
func (s *Store) FinishEvaluationWith(ctx context.Context, r *Result, attempt int, also func(pgx.Tx) error) (applied bool, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		// Claim the row first: the UPDATE locks it, so a concurrent
		// FailEvaluation of the same attempt cannot interleave.
		tag, err := tx.Exec(ctx, `
			UPDATE submissions SET status = 'finished', message = '', finished_at = now(),
			    outcome = 'succeeded', charged = true
			WHERE id = $1 AND status = 'running' AND attempts = $2`, r.SubmissionID, attempt)
		if err != nil {
			return translate(err, "finish evaluation")
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		applied = true
		perImage := r.PerImage
		if len(perImage) == 0 {
			perImage = []byte("[]")
		}
		env := r.Environment
		if len(env) == 0 {
			env = []byte("{}")
		}
		protocol := r.Protocol
		if protocol == "" {
			protocol = "robust"
		}
		_, err = tx.Exec(ctx, `
			INSERT INTO results (submission_id, psnr, psnr_y, ssim, runtime_ms, runtime_std_ms,
			    runtime_min_ms, runtime_max_ms, repeats, peak_memory_mb, device, ort_version, per_image, sandbox, warmup,
			    environment, protocol, runtime_ratio, runtime_ratio_std, baseline_runtime_ms)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
			ON CONFLICT (submission_id) DO UPDATE SET
			    psnr = EXCLUDED.psnr, psnr_y = EXCLUDED.psnr_y, ssim = EXCLUDED.ssim,
			    runtime_ms = EXCLUDED.runtime_ms, runtime_std_ms = EXCLUDED.runtime_std_ms,
			    runtime_min_ms = EXCLUDED.runtime_min_ms, runtime_max_ms = EXCLUDED.runtime_max_ms,
			    repeats = EXCLUDED.repeats, peak_memory_mb = EXCLUDED.peak_memory_mb,
			    device = EXCLUDED.device, ort_version = EXCLUDED.ort_version,
			    per_image = EXCLUDED.per_image, sandbox = EXCLUDED.sandbox, warmup = EXCLUDED.warmup,
			    environment = EXCLUDED.environment, protocol = EXCLUDED.protocol,
			    runtime_ratio = EXCLUDED.runtime_ratio, runtime_ratio_std = EXCLUDED.runtime_ratio_std,
			    baseline_runtime_ms = EXCLUDED.baseline_runtime_ms,
			    created_at = now()`,
			r.SubmissionID, r.PSNR, r.PSNRY, r.SSIM, r.RuntimeMS, r.RuntimeStdMS, r.RuntimeMinMS,
			r.RuntimeMaxMS, r.Repeats, r.PeakMemoryMB, r.Device, r.ORTVersion, perImage, r.Sandbox, r.Warmup,
			env, protocol, r.RuntimeRatio, r.RuntimeRatioStd, r.BaselineRuntimeMS)
		if err != nil {
			return translate(err, "store result")
		}
		if _, err := tx.Exec(ctx, `UPDATE results SET runtime_ratio_cv = $2, runtime_ratio_clock = nullif($3, '')
			WHERE submission_id = $1`, r.SubmissionID, r.RuntimeRatioCV, r.RatioClock); err != nil {
			return translate(err, "store result's ratio spread")
		}
		if err := writeDatasetResults(ctx, tx, r); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return applied, nil
}

// Failure is how an evaluation failed: its outcome (runner/outcome; a
// closed set the database checks), whether it counts against the quota,
// and the participant-actionable message.
type Failure struct {
	Outcome string
	Charged bool
	Message string
}

// FailEvaluation marks the submission failed with f and removes any result
// of an earlier run. Like FinishEvaluation it applies only to the running
// attempt; applied is false for a stale write.
func (s *Store) FailEvaluation(ctx context.Context, submissionID int64, attempt int, f Failure) (applied bool, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE submissions SET status = 'failed', message = $3, finished_at = now(), outcome = $4, charged = $5
			WHERE id = $1 AND status = 'running' AND attempts = $2`, submissionID, attempt, f.Message, f.Outcome, f.Charged)
		if err != nil {
			return translate(err, "fail evaluation")
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		applied = true
		_, err = tx.Exec(ctx, `DELETE FROM results WHERE submission_id = $1`, submissionID)
		return translate(err, "fail evaluation")
	})
	if err != nil {
		return false, err
	}
	return applied, nil
}

// FailUnfinished marks failed, and logs message to the participant, a
// submission that is still in the state one job left it in: queued, when
// attempt is 0 (the job failed before StartEvaluation counted an attempt),
// or running that very attempt, when attempt > 0. A stale job (rescued and
// re-run elsewhere, or superseded) thus never fails a newer run: applied is
// false, and nothing changes, when the submission moved on (a newer
// attempt, finished, failed, or reset to queued after attempt started).
func (s *Store) FailUnfinished(ctx context.Context, submissionID int64, attempt int, f Failure) (applied bool, err error) {
	message := f.Message
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE submissions SET status = 'failed', message = $2, finished_at = now(), outcome = $4, charged = $5
			WHERE id = $1 AND CASE WHEN $3::int = 0 THEN status = 'queued'
			                       ELSE status = 'running' AND attempts = $3 END`, submissionID, message, attempt, f.Outcome, f.Charged)
		if err != nil {
			return translate(err, "fail evaluation")
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		applied = true
		if _, err := tx.Exec(ctx, `DELETE FROM results WHERE submission_id = $1`, submissionID); err != nil {
			return translate(err, "fail evaluation")
		}
		_, err = tx.Exec(ctx, `INSERT INTO submission_logs (submission_id, line) VALUES ($1, $2)`, submissionID, "evaluation failed: "+message)
		return translate(err, "fail evaluation")
	})
	if err != nil {
		return false, err
	}
	return applied, nil
}

// FailOrphanedEvaluations marks failed (a platform error, not charged), with message (also appended to each
// one's log), every queued or running submission that no live River
// "evaluate" job will ever pick up: its jobs are all discarded, cancelled or
// completed, or it has none at all. A River panic on the last attempt, a
// job deleted by hand, or an insert lost between two transactions would
// otherwise leave it "running" forever.
//
// Live jobs are those in any non-final River state (available, scheduled,
// retryable, pending, running; written as NOT IN the final ones so that a
// state River adds later counts as live, never as dead). grace keeps the
// sweep from racing a job being inserted or a worker recording its own
// outcome: the submission must be at least that old and none of its jobs
// may have finalised within it. runHorizon protects a running evaluation
// whatever its jobs say: a submission running since less than runHorizon
// (the longest an evaluation may take plus grace) is never swept. Without
// it, a job rescued from a stuck worker A and re-run by worker B is marked
// completed when A returns after its stale write, and B's healthy run would
// be failed a grace later. It returns the ids it failed.
func (s *Store) FailOrphanedEvaluations(ctx context.Context, grace, runHorizon time.Duration, message string) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `
		WITH orphan AS (
			UPDATE submissions s SET status = 'failed', message = $2, finished_at = now(),
			    outcome = 'platform_error', charged = false
			WHERE s.status IN ('queued', 'running')
			  AND s.created_at < now() - make_interval(secs => $1::float8)
			  AND coalesce(s.started_at, s.created_at) < now() - make_interval(secs => $1::float8)
			  AND NOT (s.status = 'running' AND s.started_at IS NOT NULL
			           AND s.started_at > now() - make_interval(secs => $3::float8))
			  AND NOT EXISTS (
				SELECT 1 FROM river_job j
				WHERE j.kind = 'evaluate' AND j.args->>'submission_id' = s.id::text
				  AND (j.state NOT IN ('discarded', 'cancelled', 'completed')
				       OR j.finalized_at > now() - make_interval(secs => $1::float8)))
			RETURNING s.id
		), logged AS (
			INSERT INTO submission_logs (submission_id, line)
			SELECT id, 'evaluation failed: ' || $2 FROM orphan
		)
		SELECT id FROM orphan ORDER BY id`, grace.Seconds(), message, runHorizon.Seconds())
	if err != nil {
		return nil, translate(err, "fail orphaned evaluations")
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, translate(err, "fail orphaned evaluations")
}

// BaselineModelFor returns the model digest of the baseline a submission
// is timed against: its challenge's baseline submission (is_baseline, the
// latest that finished), unless the submission is that baseline itself.
// ok is false when there is none. This is the one place that decides
// which baseline applies.
func (s *Store) BaselineModelFor(ctx context.Context, submissionID int64) (sha string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `
		SELECT b.model_sha256 FROM submissions s
		JOIN submissions b ON b.challenge_id = s.challenge_id AND b.is_baseline AND b.status = 'finished'
		WHERE s.id = $1 AND NOT s.is_baseline
		ORDER BY b.finished_at DESC, b.id DESC LIMIT 1`, submissionID).Scan(&sha)
	if err == pgx.ErrNoRows {
		return "", false, nil
	}
	if err != nil {
		return "", false, translate(err, "baseline model")
	}
	return sha, true, nil
}
