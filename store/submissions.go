package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrQuotaExceeded: the team has used one of the phase's quotas; the error
// is a *QuotaError saying which.
var ErrQuotaExceeded = errors.New("submission quota used")

// Quota kinds.
const (
	QuotaDaily      = "daily"
	QuotaTotal      = "total"
	QuotaConcurrent = "concurrent"
)

// QuotaError says which quota refused a submission.
type QuotaError struct {
	Kind  string // QuotaDaily, QuotaTotal or QuotaConcurrent
	Limit int
	Used  int
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%s quota used (%d of %d)", e.Kind, e.Used, e.Limit)
}

// Is makes errors.Is(err, ErrQuotaExceeded) true.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// PlatformFailureMessage is the message the runner gives a submission that
// failed for a reason on the platform's side (runner.InternalErrorMessage;
// a test keeps them equal). Such failures never count against a quota.
const PlatformFailureMessage = "internal error, the organizers have been notified"

// Quota is a phase's limits; 0 means unlimited.
type Quota struct{ Daily, Total, Concurrent int }

// QuotaUsage is what a team has used of a phase's quotas at a moment.
type QuotaUsage struct {
	Today    int       // counted submissions since DayStart
	Total    int       // counted submissions in the phase
	Active   int       // queued or running now
	DayStart time.Time // 00:00 UTC of the day the count is for
}

// DayStart is 00:00 UTC of t's day: the daily quota resets then.
func DayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// quotaUsage is the one place that decides what counts against a quota:
// every submission of the team in the phase except those cancelled, and
// those that failed for a reason of the platform's: before a worker started
// them, not charged (the runner's outcome: missing data, retries run out, a
// lost worker; see runner/outcome), or, for rows from before that flag, with
// the platform's failure message. Models refused at upload never get a row,
// so they never count either.
func quotaUsage(ctx context.Context, q querier, teamID, phaseID int64, now time.Time) (QuotaUsage, error) {
	u := QuotaUsage{DayStart: DayStart(now)}
	err := q.QueryRow(ctx, `
		WITH counted AS (
			SELECT created_at, status FROM submissions
			WHERE team_id = $1 AND phase_id = $2 AND NOT is_baseline
			  AND status <> 'cancelled' AND charged
			  AND NOT (status = 'failed' AND (started_at IS NULL OR message = $4)))
		SELECT count(*) FILTER (WHERE created_at >= $3),
		       count(*),
		       count(*) FILTER (WHERE status IN ('queued', 'running'))
		FROM counted`, teamID, phaseID, u.DayStart, PlatformFailureMessage).Scan(&u.Today, &u.Total, &u.Active)
	return u, translate(err, "quota usage")
}

// QuotaUsage is what the team has used of the phase's quotas at now.
func (s *Store) QuotaUsage(ctx context.Context, teamID, phaseID int64, now time.Time) (QuotaUsage, error) {
	return quotaUsage(ctx, s.pool, teamID, phaseID, now)
}

// Exceeded returns the first quota of q that u has used up, or nil.
func (u QuotaUsage) Exceeded(q Quota) *QuotaError {
	switch {
	case q.Concurrent > 0 && u.Active >= q.Concurrent:
		return &QuotaError{Kind: QuotaConcurrent, Limit: q.Concurrent, Used: u.Active}
	case q.Total > 0 && u.Total >= q.Total:
		return &QuotaError{Kind: QuotaTotal, Limit: q.Total, Used: u.Total}
	case q.Daily > 0 && u.Today >= q.Daily:
		return &QuotaError{Kind: QuotaDaily, Limit: q.Daily, Used: u.Today}
	}
	return nil
}

// NewSubmission is what an upload stores. PhaseID and TeamID 0 leave them
// to migration 0006's defaults (the dataset's phase, the uploader's team),
// for callers that predate phases and teams.
type NewSubmission struct {
	ChallengeID int64
	PhaseID     int64
	TeamID      int64
	UserID      int64 // the uploader
	DatasetID   int64
	Label       string
	MethodName  string
	Description string
	ModelSHA256 string
	ModelBytes  int64
	Profile     []byte    // JSON; nil for none
	DataRange   float32   // 1 or 255 (protocol.md §1.1); 0 means 1
	Now         time.Time // the upload's time (created_at); zero means the database's now()
}

// CreateSubmission inserts a queued submission and, in the same transaction,
// calls enqueue with its id so the job row commits (or not) with it. The
// transaction holds the model digest's advisory lock (ModelLockSQL), so
// enqueue may also make sure the blob is (still) stored. The team's row is
// locked first so that concurrent uploads of one team cannot both slip
// under a quota. Returns a *QuotaError (errors.Is ErrQuotaExceeded) when a
// quota is used up.
func (s *Store) CreateSubmission(ctx context.Context, ns NewSubmission, quota Quota,
	enqueue func(ctx context.Context, tx pgx.Tx, id int64) error) (int64, error) {
	var id int64
	now := ns.Now
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if now.IsZero() {
			if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
				return translate(err, "now")
			}
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM teams WHERE id = $1 FOR UPDATE`, ns.TeamID); err != nil {
			return translate(err, "lock team")
		}
		u, err := quotaUsage(ctx, tx, ns.TeamID, ns.PhaseID, now)
		if err != nil {
			return err
		}
		if qe := u.Exceeded(quota); qe != nil {
			return qe
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
		err = tx.QueryRow(ctx, `
			INSERT INTO submissions (challenge_id, phase_id, team_id, user_id, dataset_id, label, method_name, description,
			    model_sha256, model_bytes, profile, data_range, status, created_at)
			VALUES ($1, NULLIF($2, 0), NULLIF($3, 0), $4, $5, $6, $7, $8, $9, $10, $11, $12, 'queued', $13)
			RETURNING id`,
			ns.ChallengeID, ns.PhaseID, ns.TeamID, ns.UserID, ns.DatasetID, ns.Label, ns.MethodName, ns.Description,
			ns.ModelSHA256, ns.ModelBytes, ns.Profile, dr, now).Scan(&id)
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

// ModelInUse reports whether any submission references the model digest.
// The answer is stale as soon as it returns: to delete a blob, use
// DeleteModelIfUnused, which holds the digest's lock across check and delete.
func (s *Store) ModelInUse(ctx context.Context, digest string) (bool, error) {
	var used bool
	err := s.pool.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM submissions WHERE model_sha256 = $1)
			    OR EXISTS (SELECT 1 FROM dataset_images WHERE lr_sha256 = $1 OR hr_sha256 = $1)
			    OR EXISTS (SELECT 1 FROM sr_outputs WHERE png_sha256 = $1)`, digest).Scan(&used)
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
// PNG (or a stored SR output) must not take that image with it. It reports
// whether del ran.
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
			    OR EXISTS (SELECT 1 FROM dataset_images WHERE lr_sha256 = $1 OR hr_sha256 = $1)
			    OR EXISTS (SELECT 1 FROM sr_outputs WHERE png_sha256 = $1)`, digest).Scan(&used); err != nil {
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

// submissionColumns need "FROM submissions s LEFT JOIN users u ON u.id =
// s.user_id LEFT JOIN teams t ON t.id = s.team_id" (submissionFrom).
const submissionColumns = `s.id, s.challenge_id, s.user_id, coalesce(u.username, ''), s.dataset_id, s.label,
	s.model_sha256, s.model_bytes, s.profile, s.data_range, s.is_baseline, s.status, s.message, s.attempts, s.worker,
	s.created_at, s.started_at, s.finished_at, s.phase_id, s.team_id, coalesce(t.name, ''), s.method_name,
	s.description, s.selected, s.hidden_reason, s.cancelled_at, s.images_done, s.images_total, s.synthetic`

const submissionFrom = `submissions s LEFT JOIN users u ON u.id = s.user_id LEFT JOIN teams t ON t.id = s.team_id`

func scanSubmission(row interface{ Scan(...any) error }, s *Submission, extra ...any) error {
	dst := []any{&s.ID, &s.ChallengeID, &s.UserID, &s.Username, &s.DatasetID, &s.Label,
		&s.ModelSHA256, &s.ModelBytes, &s.Profile, &s.DataRange, &s.IsBaseline, &s.Status, &s.Message, &s.Attempts, &s.Worker,
		&s.CreatedAt, &s.StartedAt, &s.FinishedAt, &s.PhaseID, &s.TeamID, &s.TeamName, &s.MethodName,
		&s.Description, &s.Selected, &s.HiddenReason, &s.CancelledAt, &s.ImagesDone, &s.ImagesTotal, &s.Synthetic}
	return row.Scan(append(dst, extra...)...)
}

// SubmissionByID returns ErrNotFound for an unknown id.
func (s *Store) SubmissionByID(ctx context.Context, id int64) (Submission, error) {
	var sub Submission
	err := scanSubmission(s.pool.QueryRow(ctx, `
		SELECT `+submissionColumns+`
		FROM `+submissionFrom+`
		WHERE s.id = $1`, id), &sub)
	return sub, translate(err, fmt.Sprintf("submission %d", id))
}

// resultColumns and resultDest must stay in step: resultDest's indices are
// used by collectScored.
const resultColumns = `r.submission_id, r.psnr, r.psnr_y, r.ssim, r.runtime_ms, r.runtime_std_ms,
	r.runtime_min_ms, r.runtime_max_ms, r.repeats, r.peak_memory_mb, r.device, r.ort_version,
	r.per_image, r.created_at, r.warmup, r.psnr_val, r.psnr_test, r.runtime_val_ms, r.runtime_test_ms`

// rankingResultColumns are resultColumns without the per-image table
// (NULL in its place): ranking needs the aggregates only, and per_image
// grows with the dataset, so the public leaderboard never reads it.
var rankingResultColumns = strings.Replace(resultColumns, "r.per_image", "NULL::jsonb", 1)

func resultDest(r *Result) []any {
	return []any{&r.SubmissionID, &r.PSNR, &r.PSNRY, &r.SSIM, &r.RuntimeMS, &r.RuntimeStdMS,
		&r.RuntimeMinMS, &r.RuntimeMaxMS, &r.Repeats, &r.PeakMemoryMB, &r.Device, &r.ORTVersion,
		&r.PerImage, &r.CreatedAt, &r.Warmup, &r.PSNRVal, &r.PSNRTest, &r.RuntimeValMS, &r.RuntimeTestMS}
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

// SubmissionsOfTeam lists a team's submissions to a phase (every phase
// when phaseID is 0), newest first, with their results where they have one.
func (s *Store) SubmissionsOfTeam(ctx context.Context, teamID, phaseID int64) ([]Scored, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+submissionColumns+`, `+resultColumns+`
		FROM `+submissionFrom+`
		LEFT JOIN results r ON r.submission_id = s.id
		WHERE s.team_id = $1 AND ($2 = 0 OR s.phase_id = $2)
		ORDER BY s.created_at DESC, s.id DESC`, teamID, phaseID)
	if err != nil {
		return nil, translate(err, "submissions of team")
	}
	return collectScored(rows, "submissions of team")
}

// FinishedWithResults lists every finished submission of a phase on one
// dataset that has a result, baselines included, oldest first: the input of
// ranking. Submissions an organizer hid, and those of disqualified teams, are
// left out. Results on different
// datasets are never ranked together. The results come without their
// per-image table (Result.PerImage is nil): the public leaderboard calls
// this, and must not read and parse every image of every result on each
// request.
func (s *Store) FinishedWithResults(ctx context.Context, phaseID, datasetID int64) ([]Scored, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+submissionColumns+`, `+rankingResultColumns+`
		FROM `+submissionFrom+`
		JOIN results r ON r.submission_id = s.id
		WHERE s.phase_id = $1 AND s.dataset_id = $2 AND s.status = 'finished' AND s.hidden_reason = ''
		  AND coalesce(t.disqualified_reason, '') = ''
		ORDER BY s.created_at, s.id`, phaseID, datasetID)
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
