package store

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// EvaluationInput is what a worker needs to evaluate one submission.
type EvaluationInput struct {
	SubmissionID int64
	Status       string
	ModelSHA256  string
	Scale        int
	Images       []DatasetImage // ordered by name
}

// EvaluationInput loads the submission's model digest, its challenge's
// scale and its dataset's images.
func (s *Store) EvaluationInput(ctx context.Context, submissionID int64) (*EvaluationInput, error) {
	in := &EvaluationInput{SubmissionID: submissionID}
	var datasetID int64
	err := s.pool.QueryRow(ctx, `
		SELECT s.status, s.model_sha256, c.scale, s.dataset_id
		FROM submissions s JOIN challenges c ON c.id = s.challenge_id
		WHERE s.id = $1`, submissionID).Scan(&in.Status, &in.ModelSHA256, &in.Scale, &datasetID)
	if err != nil {
		return nil, translate(err, "evaluation input")
	}
	rows, err := s.pool.Query(ctx, `
		SELECT name, lr_sha256, hr_sha256 FROM dataset_images
		WHERE dataset_id = $1 ORDER BY name`, datasetID)
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
		    finished_at = NULL, message = ''
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

// FinishEvaluation stores the result and marks the submission finished, in
// one transaction: a result row exists exactly when the status is finished.
func (s *Store) FinishEvaluation(ctx context.Context, r *Result) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		perImage := r.PerImage
		if len(perImage) == 0 {
			perImage = []byte("[]")
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO results (submission_id, psnr, psnr_y, ssim, runtime_ms, runtime_std_ms,
			    runtime_min_ms, runtime_max_ms, repeats, peak_memory_mb, device, ort_version, per_image)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (submission_id) DO UPDATE SET
			    psnr = EXCLUDED.psnr, psnr_y = EXCLUDED.psnr_y, ssim = EXCLUDED.ssim,
			    runtime_ms = EXCLUDED.runtime_ms, runtime_std_ms = EXCLUDED.runtime_std_ms,
			    runtime_min_ms = EXCLUDED.runtime_min_ms, runtime_max_ms = EXCLUDED.runtime_max_ms,
			    repeats = EXCLUDED.repeats, peak_memory_mb = EXCLUDED.peak_memory_mb,
			    device = EXCLUDED.device, ort_version = EXCLUDED.ort_version,
			    per_image = EXCLUDED.per_image, created_at = now()`,
			r.SubmissionID, r.PSNR, r.PSNRY, r.SSIM, r.RuntimeMS, r.RuntimeStdMS, r.RuntimeMinMS,
			r.RuntimeMaxMS, r.Repeats, r.PeakMemoryMB, r.Device, r.ORTVersion, perImage)
		if err != nil {
			return translate(err, "store result")
		}
		tag, err := tx.Exec(ctx, `
			UPDATE submissions SET status = 'finished', message = '', finished_at = now()
			WHERE id = $1`, r.SubmissionID)
		if err != nil {
			return translate(err, "finish evaluation")
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("finish evaluation %d: %w", r.SubmissionID, ErrNotFound)
		}
		return nil
	})
}

// FailEvaluation marks the submission failed with a participant-actionable
// message and removes any result of an earlier run.
func (s *Store) FailEvaluation(ctx context.Context, submissionID int64, message string) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM results WHERE submission_id = $1`, submissionID); err != nil {
			return translate(err, "fail evaluation")
		}
		tag, err := tx.Exec(ctx, `
			UPDATE submissions SET status = 'failed', message = $2, finished_at = now()
			WHERE id = $1`, submissionID, message)
		if err != nil {
			return translate(err, "fail evaluation")
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("fail evaluation %d: %w", submissionID, ErrNotFound)
		}
		return nil
	})
}
