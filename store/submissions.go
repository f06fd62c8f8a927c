package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrQuotaExceeded: the user has used the challenge's daily submission quota.
var ErrQuotaExceeded = errors.New("daily submission quota used")

// QuotaWindow is how far back the daily quota looks.
const QuotaWindow = 24 * time.Hour

// quotaWhere selects the submissions that count against a user's quota: all
// of the last 24 hours except those that failed before a worker started them
// (infrastructure trouble is not the participant's fault). Models rejected at
// upload never get a row, so they never count either.
const quotaWhere = `user_id = $1 AND challenge_id = $2 AND created_at > now() - interval '24 hours'
	AND NOT (status = 'failed' AND started_at IS NULL)`

// NewSubmission is what an upload stores.
type NewSubmission struct {
	ChallengeID int64
	UserID      int64
	DatasetID   int64
	Label       string
	ModelSHA256 string
	ModelBytes  int64
	Profile     []byte  // JSON; nil for none
	DataRange   float32 // 1 or 255 (protocol.md §1.1); 0 means 1
}

// CreateSubmission inserts a queued submission and, in the same transaction,
// calls enqueue with its id so the job row commits (or not) with it. The
// transaction holds the model digest's advisory lock (ModelLockSQL), so
// enqueue may also make sure the blob is (still) stored. The
// user's row is locked first so that concurrent uploads cannot both slip
// under quota (quota <= 0 means unlimited). Returns ErrQuotaExceeded when the
// quota is used up.
func (s *Store) CreateSubmission(ctx context.Context, ns NewSubmission, quota int,
	enqueue func(ctx context.Context, tx pgx.Tx, id int64) error) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, ns.UserID); err != nil {
			return translate(err, "lock user")
		}
		if quota > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE `+quotaWhere, ns.UserID, ns.ChallengeID).Scan(&n); err != nil {
				return translate(err, "count quota")
			}
			if n >= quota {
				return ErrQuotaExceeded
			}
		}
		// The digest's lock: a refused upload of the same bytes cannot
		// delete the blob between here and commit (DeleteModelIfUnused).
		if _, err := tx.Exec(ctx, ModelLockSQL, ns.ModelSHA256); err != nil {
			return translate(err, "lock model")
		}
		dr := ns.DataRange
		if dr == 0 {
			dr = 1
		}
		err := tx.QueryRow(ctx, `
			INSERT INTO submissions (challenge_id, user_id, dataset_id, label, model_sha256, model_bytes, profile, data_range, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued')
			RETURNING id`,
			ns.ChallengeID, ns.UserID, ns.DatasetID, ns.Label, ns.ModelSHA256, ns.ModelBytes, ns.Profile, dr).Scan(&id)
		if err != nil {
			return translate(err, "insert submission")
		}
		if err := enqueue(ctx, tx, id); err != nil {
			return fmt.Errorf("enqueue submission %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("create submission: %w", err)
	}
	return id, nil
}

// QuotaUsed counts the submissions of the user to the challenge that count
// against its daily quota, and when the oldest of them leaves the window.
func (s *Store) QuotaUsed(ctx context.Context, userID, challengeID int64) (n int, oldest *time.Time, err error) {
	err = s.pool.QueryRow(ctx, `SELECT count(*), min(created_at) FROM submissions WHERE `+quotaWhere,
		userID, challengeID).Scan(&n, &oldest)
	return n, oldest, translate(err, "quota used")
}

// ModelInUse reports whether any submission references the model digest.
// The answer is stale as soon as it returns: to delete a blob, use
// DeleteModelIfUnused, which holds the digest's lock across check and delete.
func (s *Store) ModelInUse(ctx context.Context, digest string) (bool, error) {
	var used bool
	err := s.pool.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM submissions WHERE model_sha256 = $1)
			    OR EXISTS (SELECT 1 FROM dataset_images WHERE lr_sha256 = $1 OR hr_sha256 = $1)`, digest).Scan(&used)
	return used, translate(err, "model in use")
}

// ModelLockSQL takes the transaction-scoped advisory lock of a model digest
// ($1). Everything that decides whether a model blob lives or dies takes it:
// the insert of a submission referencing the digest (CreateSubmission) and
// the check-and-delete of a refused upload (DeleteModelIfUnused). So a
// delete can never interleave with an insert of the same digest. Other
// packages that delete model blobs (a garbage collector, say) must take it
// too.
const ModelLockSQL = `SELECT pg_advisory_xact_lock(hashtext($1))`

// DeleteModelIfUnused calls del (which removes the blob) only if no
// submission and no dataset image references digest, and does so while
// holding the digest's advisory lock, so no submission can start referencing
// it between the check and the delete. Models and images share one
// content-addressed store: a refused "model" that is byte for byte a dataset
// PNG must not take the dataset's image with it. It reports whether del ran.
// del's error is returned.
func (s *Store) DeleteModelIfUnused(ctx context.Context, digest string, del func() error) (bool, error) {
	deleted := false
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, ModelLockSQL, digest); err != nil {
			return translate(err, "lock model")
		}
		var used bool
		if err := tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM submissions WHERE model_sha256 = $1)
			    OR EXISTS (SELECT 1 FROM dataset_images WHERE lr_sha256 = $1 OR hr_sha256 = $1)`, digest).Scan(&used); err != nil {
			return translate(err, "model in use")
		}
		if used {
			return nil
		}
		deleted = true
		return del()
	})
	if err != nil {
		return deleted, fmt.Errorf("delete unused model: %w", err)
	}
	return deleted, nil
}

const submissionColumns = `s.id, s.challenge_id, s.user_id, coalesce(u.username, ''), s.dataset_id, s.label,
	s.model_sha256, s.model_bytes, s.profile, s.data_range, s.is_baseline, s.status, s.message, s.attempts, s.worker,
	s.created_at, s.started_at, s.finished_at, s.synthetic`

func scanSubmission(row interface{ Scan(...any) error }, s *Submission, extra ...any) error {
	dst := []any{&s.ID, &s.ChallengeID, &s.UserID, &s.Username, &s.DatasetID, &s.Label,
		&s.ModelSHA256, &s.ModelBytes, &s.Profile, &s.DataRange, &s.IsBaseline, &s.Status, &s.Message, &s.Attempts, &s.Worker,
		&s.CreatedAt, &s.StartedAt, &s.FinishedAt, &s.Synthetic}
	return row.Scan(append(dst, extra...)...)
}

// SubmissionByID returns ErrNotFound for an unknown id.
func (s *Store) SubmissionByID(ctx context.Context, id int64) (Submission, error) {
	var sub Submission
	err := scanSubmission(s.pool.QueryRow(ctx, `
		SELECT `+submissionColumns+`
		FROM submissions s LEFT JOIN users u ON u.id = s.user_id
		WHERE s.id = $1`, id), &sub)
	return sub, translate(err, fmt.Sprintf("submission %d", id))
}

// resultColumns and resultDest must stay in step: resultDest's indices are
// used by collectScored.
const resultColumns = `r.submission_id, r.psnr, r.psnr_y, r.ssim, r.runtime_ms, r.runtime_std_ms,
	r.runtime_min_ms, r.runtime_max_ms, r.repeats, r.peak_memory_mb, r.device, r.ort_version,
	r.per_image, r.created_at, r.warmup`

// rankingResultColumns are resultColumns without the per-image table
// (NULL in its place): ranking needs the aggregates only, and per_image
// grows with the dataset, so the public leaderboard never reads it.
var rankingResultColumns = strings.Replace(resultColumns, "r.per_image", "NULL::jsonb", 1)

func resultDest(r *Result) []any {
	return []any{&r.SubmissionID, &r.PSNR, &r.PSNRY, &r.SSIM, &r.RuntimeMS, &r.RuntimeStdMS,
		&r.RuntimeMinMS, &r.RuntimeMaxMS, &r.Repeats, &r.PeakMemoryMB, &r.Device, &r.ORTVersion,
		&r.PerImage, &r.CreatedAt, &r.Warmup}
}

// ResultBySubmission returns ErrNotFound while the submission has no result.
func (s *Store) ResultBySubmission(ctx context.Context, submissionID int64) (Result, error) {
	var r Result
	err := s.pool.QueryRow(ctx, `SELECT `+resultColumns+` FROM results r WHERE r.submission_id = $1`,
		submissionID).Scan(resultDest(&r)...)
	return r, translate(err, fmt.Sprintf("result of submission %d", submissionID))
}

// Scored is a submission with its result, if it has one.
type Scored struct {
	Submission
	Result *Result
}

func collectScored(rows pgx.Rows, what string) ([]Scored, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Scored, error) {
		var sc Scored
		var r Result
		var rid *int64
		dst := resultDest(&r)
		// LEFT JOIN: every result column may be NULL; scan into nullable
		// holders and keep the result only when the row had one.
		var psnr, runtime *float64
		var repeats, warmup *int
		var device, ort *string
		var perImage []byte
		var created *time.Time
		dst[0], dst[1], dst[4], dst[8], dst[10], dst[11], dst[12], dst[13], dst[14] =
			&rid, &psnr, &runtime, &repeats, &device, &ort, &perImage, &created, &warmup
		if err := scanSubmission(row, &sc.Submission, dst...); err != nil {
			return sc, err
		}
		if rid != nil {
			r.SubmissionID, r.PSNR, r.RuntimeMS = *rid, deref(psnr), deref(runtime)
			r.Repeats, r.Device, r.ORTVersion, r.PerImage = deref(repeats), deref(device), deref(ort), perImage
			r.CreatedAt, r.Warmup = deref(created), deref(warmup)
			sc.Result = &r
		}
		return sc, nil
	})
	return out, translate(err, what)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// SubmissionsOfUser lists a user's submissions to a challenge, newest first,
// with their results where they have one.
func (s *Store) SubmissionsOfUser(ctx context.Context, challengeID, userID int64) ([]Scored, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+submissionColumns+`, `+resultColumns+`
		FROM submissions s
		LEFT JOIN users u ON u.id = s.user_id
		LEFT JOIN results r ON r.submission_id = s.id
		WHERE s.challenge_id = $1 AND s.user_id = $2
		ORDER BY s.created_at DESC, s.id DESC`, challengeID, userID)
	if err != nil {
		return nil, translate(err, "submissions of user")
	}
	return collectScored(rows, "submissions of user")
}

// FinishedWithResults lists every finished submission of a challenge on one
// dataset that has a result, baselines included, oldest first: the input of
// ranking. Results on different datasets are never ranked together. The
// results come without their per-image table (Result.PerImage is nil): the
// public leaderboard calls this, and must not read and parse every image of
// every result on each request.
func (s *Store) FinishedWithResults(ctx context.Context, challengeID, datasetID int64) ([]Scored, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+submissionColumns+`, `+rankingResultColumns+`
		FROM submissions s
		JOIN results r ON r.submission_id = s.id
		LEFT JOIN users u ON u.id = s.user_id
		WHERE s.challenge_id = $1 AND s.dataset_id = $2 AND s.status = 'finished'
		ORDER BY s.created_at, s.id`, challengeID, datasetID)
	if err != nil {
		return nil, translate(err, "finished submissions")
	}
	return collectScored(rows, "finished submissions")
}

// LogLine is one line of a submission's evaluation log.
type LogLine struct {
	ID   int64
	At   time.Time
	Line string
}

// SubmissionLogs returns up to limit log lines with id > afterID, in order,
// so a poller can ask only for what it has not seen.
func (s *Store) SubmissionLogs(ctx context.Context, submissionID, afterID int64, limit int) ([]LogLine, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, at, line FROM submission_logs
		WHERE submission_id = $1 AND id > $2
		ORDER BY id LIMIT $3`, submissionID, afterID, limit)
	if err != nil {
		return nil, translate(err, "submission logs")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (LogLine, error) {
		var l LogLine
		err := row.Scan(&l.ID, &l.At, &l.Line)
		return l, err
	})
	return out, translate(err, "submission logs")
}
