package store

// SQL of the organizers' content tools: account bans, score overrides,
// re-run history, challenge settings export/import and phase model lists
// (migration 0050).

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Ban is an account's ban state.
type Ban struct {
	Banned bool
	Reason string
	By     string
	At     *time.Time
}

// BanOf returns a user's ban state; ErrNotFound for an unknown user.
func (s *Store) BanOf(ctx context.Context, userID int64) (Ban, error) {
	var b Ban
	err := s.pool.QueryRow(ctx, `SELECT banned_at IS NOT NULL, banned_reason, banned_by, banned_at FROM users WHERE id = $1`, userID).
		Scan(&b.Banned, &b.Reason, &b.By, &b.At)
	return b, translate(err, fmt.Sprintf("ban of user %d", userID))
}

// BanForUpdate locks a user row until tx ends and returns its ban state.
func BanForUpdate(ctx context.Context, tx pgx.Tx, userID int64) (Ban, error) {
	var b Ban
	err := tx.QueryRow(ctx, `SELECT banned_at IS NOT NULL, banned_reason, banned_by, banned_at FROM users WHERE id = $1 FOR UPDATE`, userID).
		Scan(&b.Banned, &b.Reason, &b.By, &b.At)
	return b, translate(err, fmt.Sprintf("user %d", userID))
}

// SetBan bans a user (at non-nil) or lifts the ban (at nil) in tx. A ban
// also deletes the user's sessions: the session lookup skips banned users
// anyway, this keeps no dead rows around.
func SetBan(ctx context.Context, tx pgx.Tx, userID int64, at *time.Time, reason, by string) error {
	if at == nil {
		reason, by = "", ""
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET banned_at = $2, banned_reason = $3, banned_by = $4 WHERE id = $1`,
		userID, at, reason, by); err != nil {
		return translate(err, "ban user")
	}
	if at != nil {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID); err != nil {
			return translate(err, "ban user: sessions")
		}
	}
	return nil
}

// BannedUser is a row of the site admins' list of banned accounts.
type BannedUser struct {
	ID       int64
	Username string
	Reason   string
	By       string
	At       time.Time
}

// BannedUsers lists banned accounts, newest ban first.
func (s *Store) BannedUsers(ctx context.Context) ([]BannedUser, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, username, banned_reason, banned_by, banned_at FROM users
		WHERE banned_at IS NOT NULL ORDER BY banned_at DESC, id DESC`)
	if err != nil {
		return nil, translate(err, "banned users")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (BannedUser, error) {
		var b BannedUser
		err := row.Scan(&b.ID, &b.Username, &b.Reason, &b.By, &b.At)
		return b, err
	})
	return out, translate(err, "banned users")
}

// ScoreOverride is an organizer's replacement of one measured metric.
type ScoreOverride struct {
	ID           int64
	ChallengeID  int64
	SubmissionID int64
	Metric       string // psnr, ssim, runtime_ms, memory_mb
	Value        float64
	Reason       string
	CreatedBy    string
	CreatedAt    time.Time
	RevokedAt    *time.Time
	RevokedBy    string
}

const overrideColumns = `id, challenge_id, submission_id, metric, value, reason, created_by, created_at, revoked_at, revoked_by`

func collectOverrides(rows pgx.Rows, what string) ([]ScoreOverride, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ScoreOverride, error) {
		var o ScoreOverride
		err := row.Scan(&o.ID, &o.ChallengeID, &o.SubmissionID, &o.Metric, &o.Value, &o.Reason, &o.CreatedBy, &o.CreatedAt, &o.RevokedAt, &o.RevokedBy)
		return o, err
	})
	return out, translate(err, what)
}

// ActiveOverride returns the active override of a submission's metric in
// tx, locked; ErrNotFound when there is none.
func ActiveOverride(ctx context.Context, tx pgx.Tx, submissionID int64, metric string) (ScoreOverride, error) {
	rows, err := tx.Query(ctx, `SELECT `+overrideColumns+` FROM score_overrides
		WHERE submission_id = $1 AND metric = $2 AND revoked_at IS NULL FOR UPDATE`, submissionID, metric)
	if err != nil {
		return ScoreOverride{}, translate(err, "override")
	}
	os, err := collectOverrides(rows, "override")
	if err != nil {
		return ScoreOverride{}, err
	}
	if len(os) == 0 {
		return ScoreOverride{}, translate(errNoRows, "override")
	}
	return os[0], nil
}

// InsertOverride stores an active override in tx; ErrConflict when the
// metric has one already (revoke it first).
func InsertOverride(ctx context.Context, tx pgx.Tx, o ScoreOverride) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO score_overrides (challenge_id, submission_id, metric, value, reason, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		o.ChallengeID, o.SubmissionID, o.Metric, o.Value, o.Reason, o.CreatedBy, o.CreatedAt).Scan(&id)
	return id, translate(err, "insert override")
}

// RevokeOverride ends an active override in tx; the record stays.
func RevokeOverride(ctx context.Context, tx pgx.Tx, id int64, by string, at time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE score_overrides SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL`, id, at, by)
	return translate(err, "revoke override")
}

// ActiveOverrides returns a challenge's active overrides, oldest first.
func (s *Store) ActiveOverrides(ctx context.Context, challengeID int64) ([]ScoreOverride, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+overrideColumns+` FROM score_overrides
		WHERE challenge_id = $1 AND revoked_at IS NULL ORDER BY id`, challengeID)
	if err != nil {
		return nil, translate(err, "overrides")
	}
	return collectOverrides(rows, "overrides")
}

// OverridesOfSubmission returns every override of a submission, revoked
// ones too, newest first.
func (s *Store) OverridesOfSubmission(ctx context.Context, submissionID int64) ([]ScoreOverride, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+overrideColumns+` FROM score_overrides
		WHERE submission_id = $1 ORDER BY id DESC`, submissionID)
	if err != nil {
		return nil, translate(err, "overrides of submission")
	}
	return collectOverrides(rows, "overrides of submission")
}

// PastRun is an archived earlier run of a submission.
type PastRun struct {
	Run        int
	Status     string
	Message    string
	Worker     string
	StartedAt  *time.Time
	FinishedAt *time.Time
	Result     json.RawMessage // the results row as JSON; nil when the run had none
	Log        string
	RerunBy    string
	ArchivedAt time.Time
}

// ArchiveRun copies a submission's current run into result_history in tx
// before a re-run: its status, message, worker and times, its result row
// as JSON (with its per-dataset rows under "datasets", which the new run
// replaces), and its log lines (moved: the new run's log starts empty).
// The results row itself stays until the new run's result replaces it
// (the runner upserts), as before; the queued status keeps it off the
// board meanwhile. Returns the archived run's number. The caller holds the
// submission's row lock (SubmissionForUpdate).
func ArchiveRun(ctx context.Context, tx pgx.Tx, submissionID int64, by string, byID *int64, at time.Time) (int, error) {
	var run int
	err := tx.QueryRow(ctx, `
		INSERT INTO result_history (submission_id, run, status, message, worker, started_at, finished_at, result, log,
		    rerun_by, rerun_by_id, archived_at)
		SELECT s.id, (SELECT coalesce(max(h.run), 0) + 1 FROM result_history h WHERE h.submission_id = s.id),
		    s.status, s.message, s.worker, s.started_at, s.finished_at,
		    (SELECT to_jsonb(r) || jsonb_build_object('datasets',
		            (SELECT coalesce(jsonb_agg(to_jsonb(d) ORDER BY d.position), '[]'::jsonb)
		             FROM result_datasets d WHERE d.submission_id = s.id))
		     FROM results r WHERE r.submission_id = s.id),
		    coalesce((SELECT string_agg(to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' ' || l.line, E'\n' ORDER BY l.id)
		              FROM submission_logs l WHERE l.submission_id = s.id), ''),
		    $2, $3, $4
		FROM submissions s WHERE s.id = $1
		RETURNING run`, submissionID, by, byID, at).Scan(&run)
	if err != nil {
		return 0, translate(err, "archive run")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM submission_logs WHERE submission_id = $1`, submissionID); err != nil {
		return 0, translate(err, "archive run: log")
	}
	return run, nil
}

// RunHistory returns a submission's archived runs, newest first.
func (s *Store) RunHistory(ctx context.Context, submissionID int64) ([]PastRun, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT run, status, message, worker, started_at, finished_at, result, log, rerun_by, archived_at
		FROM result_history WHERE submission_id = $1 ORDER BY run DESC`, submissionID)
	if err != nil {
		return nil, translate(err, "run history")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PastRun, error) {
		var p PastRun
		err := row.Scan(&p.Run, &p.Status, &p.Message, &p.Worker, &p.StartedAt, &p.FinishedAt, &p.Result, &p.Log, &p.RerunBy, &p.ArchivedAt)
		return p, err
	})
	return out, translate(err, "run history")
}

// DatasetImages lists a dataset's images by name.
func (s *Store) DatasetImages(ctx context.Context, datasetID int64) ([]DatasetImage, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, lr_sha256, hr_sha256 FROM dataset_images WHERE dataset_id = $1 ORDER BY name`, datasetID)
	if err != nil {
		return nil, translate(err, "dataset images")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (DatasetImage, error) {
		var d DatasetImage
		err := row.Scan(&d.Name, &d.LRSHA256, &d.HRSHA256)
		return d, err
	})
	return out, translate(err, "dataset images")
}

// ChallengeTemplate returns the template a challenge was made from ("" when none).
func (s *Store) ChallengeTemplate(ctx context.Context, challengeID int64) (string, error) {
	var t string
	err := s.pool.QueryRow(ctx, `SELECT template FROM challenges WHERE id = $1`, challengeID).Scan(&t)
	return t, translate(err, "challenge template")
}

// PhaseModel is a submission's model as the bulk download lists it.
type PhaseModel struct {
	SubmissionID int64
	TeamName     string
	Label        string
	MethodName   string
	IsBaseline   bool
	Status       string
	ModelSHA256  string
	ModelBytes   int64
	CreatedAt    time.Time
}

// PhaseModels lists the models of a phase's submissions, oldest first.
func (s *Store) PhaseModels(ctx context.Context, phaseID int64) ([]PhaseModel, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT s.id, coalesce(t.name, ''), s.label, s.method_name, s.is_baseline, s.status, s.model_sha256, s.model_bytes, s.created_at
		FROM submissions s LEFT JOIN teams t ON t.id = s.team_id
		WHERE s.phase_id = $1 AND s.model_sha256 <> '' ORDER BY s.id`, phaseID)
	if err != nil {
		return nil, translate(err, "phase models")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PhaseModel, error) {
		var m PhaseModel
		err := row.Scan(&m.SubmissionID, &m.TeamName, &m.Label, &m.MethodName, &m.IsBaseline, &m.Status, &m.ModelSHA256, &m.ModelBytes, &m.CreatedAt)
		return m, err
	})
	return out, translate(err, "phase models")
}

// ClearPhaseDatasets unlinks every dataset from a challenge's phases in tx
// (an import then links them as its file says, whatever migration 0006's
// trigger linked on its own).
func ClearPhaseDatasets(ctx context.Context, tx pgx.Tx, challengeID int64) error {
	_, err := tx.Exec(ctx, `DELETE FROM phase_datasets WHERE phase_id IN (SELECT id FROM phases WHERE challenge_id = $1)`, challengeID)
	return translate(err, "clear phase datasets")
}

// SiteAuditEvents returns the site-level audit log (actions on no
// challenge, like bans), newest first, at most limit.
func (s *Store) SiteAuditEvents(ctx context.Context, limit int) ([]AuditEvent, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, challenge_id, actor_id, actor, action, target, before, after, reason, at
		FROM audit_events WHERE challenge_id IS NULL ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, translate(err, "site audit events")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		err := row.Scan(&e.ID, &e.ChallengeID, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After, &e.Reason, &e.At)
		return e, err
	})
	return out, translate(err, "site audit events")
}

// BanOfToken returns the ban of an unrevoked token's owner (Banned false
// when the owner is not banned); ErrNotFound for an unknown or revoked
// token. The API asks only after UserByAPIToken refused a token, to say why.
func (s *Store) BanOfToken(ctx context.Context, tokenHash []byte) (Ban, error) {
	var b Ban
	err := s.pool.QueryRow(ctx, `
		SELECT u.banned_at IS NOT NULL, u.banned_reason, u.banned_by, u.banned_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, tokenHash).Scan(&b.Banned, &b.Reason, &b.By, &b.At)
	return b, translate(err, "ban of token")
}
