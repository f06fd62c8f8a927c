package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// SubmissionFilter narrows the organizers' submission table; zero fields
// match everything.
type SubmissionFilter struct {
	PhaseID int64
	TeamID  int64
	Status  string
	// Search matches the team, uploader, label or method name
	// (case-insensitive substring), or a submission id.
	Search string
	Limit  int // 0: 500
}

// ChallengeSubmissions lists a challenge's submissions for its organizers,
// newest first, with their results (without per-image tables).
func (s *Store) ChallengeSubmissions(ctx context.Context, challengeID int64, f SubmissionFilter) ([]Scored, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(f.Search) + "%"
	rows, err := s.pool.Query(ctx, `
		SELECT `+submissionColumns+`, `+rankingResultColumns+`
		FROM `+submissionFrom+`
		LEFT JOIN results r ON r.submission_id = s.id
		WHERE s.challenge_id = $1 AND ($2 = 0 OR s.phase_id = $2) AND ($3 = 0 OR s.team_id = $3)
		  AND ($4 = '' OR s.status = $4)
		  AND ($5 = '' OR s.id::text = $5 OR t.name ILIKE $6 OR u.username ILIKE $6 OR s.label ILIKE $6 OR s.method_name ILIKE $6)
		ORDER BY s.created_at DESC, s.id DESC LIMIT $7`,
		challengeID, f.PhaseID, f.TeamID, f.Status, f.Search, like, f.Limit)
	if err != nil {
		return nil, translate(err, "challenge submissions")
	}
	return collectScored(rows, "challenge submissions")
}

// TeamsOfChallenge lists a challenge's teams with their members, by name.
func (s *Store) TeamsOfChallenge(ctx context.Context, challengeID int64) ([]Team, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, challenge_id, name, solo, disqualified_reason, created_at FROM teams
		WHERE challenge_id = $1 ORDER BY lower(name)`, challengeID)
	if err != nil {
		return nil, translate(err, "teams")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Team, error) {
		var t Team
		err := row.Scan(&t.ID, &t.ChallengeID, &t.Name, &t.Solo, &t.DisqualifiedReason, &t.CreatedAt)
		return t, err
	})
	return out, translate(err, "teams")
}

// SubmissionForUpdate locks a submission row of a challenge until tx ends
// and returns its status, hidden reason and phase; ErrNotFound when the
// challenge has no such submission.
func SubmissionForUpdate(ctx context.Context, tx pgx.Tx, challengeID, id int64) (status, hidden string, phaseID int64, err error) {
	err = tx.QueryRow(ctx, `SELECT status, hidden_reason, phase_id FROM submissions WHERE id = $1 AND challenge_id = $2 FOR UPDATE`,
		id, challengeID).Scan(&status, &hidden, &phaseID)
	return status, hidden, phaseID, translate(err, fmt.Sprintf("submission %d", id))
}

// RequeueSubmission puts an ended submission back in the queue for a new
// evaluation: its result stays until the new one replaces it (the runner
// upserts), its attempts restart, and the log says who asked.
func RequeueSubmission(ctx context.Context, tx pgx.Tx, id int64, by string) error {
	_, err := tx.Exec(ctx, `
		UPDATE submissions SET status = 'queued', message = '', attempts = 0, worker = '', started_at = NULL,
		    finished_at = NULL, cancelled_at = NULL, images_done = 0, images_total = 0
		WHERE id = $1`, id)
	if err != nil {
		return translate(err, "requeue submission")
	}
	_, err = tx.Exec(ctx, `INSERT INTO submission_logs (submission_id, line) VALUES ($1, $2)`, id, "re-run requested by "+by)
	return translate(err, "requeue submission")
}

// SetHidden hides a submission from the board with a reason ("" shows it
// again).
func SetHidden(ctx context.Context, tx pgx.Tx, id int64, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE submissions SET hidden_reason = $2 WHERE id = $1`, id, reason)
	return translate(err, "hide submission")
}

// TeamForUpdate locks a team of a challenge until tx ends.
func TeamForUpdate(ctx context.Context, tx pgx.Tx, challengeID, teamID int64) (Team, error) {
	var t Team
	err := tx.QueryRow(ctx, `SELECT id, challenge_id, name, solo, disqualified_reason, created_at FROM teams
		WHERE id = $1 AND challenge_id = $2 FOR UPDATE`, teamID, challengeID).
		Scan(&t.ID, &t.ChallengeID, &t.Name, &t.Solo, &t.DisqualifiedReason, &t.CreatedAt)
	return t, translate(err, fmt.Sprintf("team %d", teamID))
}

// SetDisqualified disqualifies a team with a reason its members see ("" lifts it).
func SetDisqualified(ctx context.Context, tx pgx.Tx, teamID int64, reason string) error {
	_, err := tx.Exec(ctx, `UPDATE teams SET disqualified_reason = $2 WHERE id = $1`, teamID, reason)
	return translate(err, "disqualify team")
}

// PendingRegistration is a registration waiting for the organizers.
type PendingRegistration struct {
	UserID   int64
	Username string
	State    string
	TeamName string
}

// RegistrationsOf lists a challenge's registrations, pending first.
func (s *Store) RegistrationsOf(ctx context.Context, challengeID int64) ([]PendingRegistration, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT r.user_id, u.username, r.state, coalesce(t.name, '')
		FROM registrations r JOIN users u ON u.id = r.user_id
		LEFT JOIN team_members m ON m.challenge_id = r.challenge_id AND m.user_id = r.user_id
		LEFT JOIN teams t ON t.id = m.team_id
		WHERE r.challenge_id = $1 ORDER BY (r.state = 'pending') DESC, r.created_at`, challengeID)
	if err != nil {
		return nil, translate(err, "registrations")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PendingRegistration, error) {
		var p PendingRegistration
		err := row.Scan(&p.UserID, &p.Username, &p.State, &p.TeamName)
		return p, err
	})
	return out, translate(err, "registrations")
}

// DecideRegistration sets a registration's state in tx and returns the old
// one; ErrNotFound when the user is not registered.
func DecideRegistration(ctx context.Context, tx pgx.Tx, challengeID, userID int64, state string) (string, error) {
	var old string
	err := tx.QueryRow(ctx, `SELECT state FROM registrations WHERE challenge_id = $1 AND user_id = $2 FOR UPDATE`,
		challengeID, userID).Scan(&old)
	if err != nil {
		return "", translate(err, "registration")
	}
	_, err = tx.Exec(ctx, `UPDATE registrations SET state = $3, decided_at = now() WHERE challenge_id = $1 AND user_id = $2`,
		challengeID, userID, state)
	return old, translate(err, "decide registration")
}

// FrozenRanking is one stored version of a phase's final ranking.
type FrozenRanking struct {
	ID       int64
	PhaseID  int64
	Version  int
	FrozenAt time.Time
	FrozenBy string
	CSV      string
}

// FreezeRanking stores a new version of a phase's ranking in tx and returns
// its version number. Versions of a phase are serialised by locking the
// phase row.
func FreezeRanking(ctx context.Context, tx pgx.Tx, phaseID int64, at time.Time, by, csv string) (int, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM phases WHERE id = $1 FOR UPDATE`, phaseID); err != nil {
		return 0, translate(err, "lock phase")
	}
	var v int
	err := tx.QueryRow(ctx, `
		INSERT INTO frozen_rankings (phase_id, version, frozen_at, frozen_by, csv)
		VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM frozen_rankings WHERE phase_id = $1), $2, $3, $4)
		RETURNING version`, phaseID, at, by, csv).Scan(&v)
	return v, translate(err, "freeze ranking")
}

// FrozenRankings lists a phase's frozen rankings, newest version first
// (with their CSV only when withCSV).
func (s *Store) FrozenRankings(ctx context.Context, phaseID int64, withCSV bool) ([]FrozenRanking, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, phase_id, version, frozen_at, frozen_by, CASE WHEN $2 THEN csv ELSE '' END
		FROM frozen_rankings WHERE phase_id = $1 ORDER BY version DESC`, phaseID, withCSV)
	if err != nil {
		return nil, translate(err, "frozen rankings")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (FrozenRanking, error) {
		var f FrozenRanking
		err := row.Scan(&f.ID, &f.PhaseID, &f.Version, &f.FrozenAt, &f.FrozenBy, &f.CSV)
		return f, err
	})
	return out, translate(err, "frozen rankings")
}

// SetDatasetManifest stores an imported dataset's manifest and public flag.
func SetDatasetManifest(ctx context.Context, tx pgx.Tx, datasetID int64, public bool, manifest []byte) error {
	_, err := tx.Exec(ctx, `UPDATE datasets SET public = $2, manifest = $3 WHERE id = $1`, datasetID, public, manifest)
	return translate(err, "dataset manifest")
}

// DatasetsOf lists a challenge's datasets with their image counts.
func (s *Store) DatasetsOf(ctx context.Context, challengeID int64) ([]Dataset, []int, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.id, d.challenge_id, d.name, d.split, d.public, (SELECT count(*) FROM dataset_images i WHERE i.dataset_id = d.id)::int
		FROM datasets d WHERE d.challenge_id = $1 ORDER BY d.id`, challengeID)
	if err != nil {
		return nil, nil, translate(err, "datasets")
	}
	defer rows.Close()
	var ds []Dataset
	var counts []int
	for rows.Next() {
		var d Dataset
		var n int
		if err := rows.Scan(&d.ID, &d.ChallengeID, &d.Name, &d.Split, &d.Public, &n); err != nil {
			return nil, nil, translate(err, "datasets")
		}
		ds, counts = append(ds, d), append(counts, n)
	}
	return ds, counts, translate(rows.Err(), "datasets")
}

// DatasetManifest returns a dataset's stored manifest (nil when it has none).
func (s *Store) DatasetManifest(ctx context.Context, challengeID int64, name string) ([]byte, error) {
	var m []byte
	err := s.pool.QueryRow(ctx, `SELECT manifest FROM datasets WHERE challenge_id = $1 AND name = $2`, challengeID, name).Scan(&m)
	return m, translate(err, "dataset "+name)
}
