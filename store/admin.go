package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// NewChallenge is what an organizer (or the demo seed) sets up.
type NewChallenge struct {
	Slug, Title, Description string
	Scale                    int
	Rules                    json.RawMessage
	MaxUploadBytes           int64
	DailyQuota               int
	Queue                    string // "" means eval_cpu
	Terms                    string
	TeamSizeLimit            int    // 0 means 5
	Registration             string // "" means open
	// Phases to create; none creates one default phase "main" with the
	// challenge's daily quota, open with no window, public, entry rule best.
	Phases []NewPhase
}

// NewPhase is a phase an organizer (or the demo seed) sets up.
type NewPhase struct {
	Name, Title                             string
	OpensAt, ClosesAt                       *time.Time // truncated to the minute
	QuotaDaily, QuotaTotal, QuotaConcurrent int
	EntryRule                               string // "" means best
	Visibility                              string // "" means public
}

// CreateChallenge inserts a challenge with its phases and returns its id.
func CreateChallenge(ctx context.Context, tx pgx.Tx, c NewChallenge) (int64, error) {
	if c.Queue == "" {
		c.Queue = "eval_cpu"
	}
	if c.TeamSizeLimit == 0 {
		c.TeamSizeLimit = 5
	}
	if c.Registration == "" {
		c.Registration = "open"
	}
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO challenges (slug, title, description, scale, rules, max_upload_bytes, daily_quota, queue,
		    terms, team_size_limit, registration)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		c.Slug, c.Title, c.Description, c.Scale, c.Rules, c.MaxUploadBytes, c.DailyQuota, c.Queue,
		c.Terms, c.TeamSizeLimit, c.Registration).Scan(&id)
	if err != nil {
		return 0, translate(err, "create challenge")
	}
	phases := c.Phases
	if len(phases) == 0 {
		phases = []NewPhase{{Name: "main", Title: "Main phase", QuotaDaily: c.DailyQuota}}
	}
	for i, p := range phases {
		if _, err := CreatePhase(ctx, tx, id, i, p); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func minute(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	m := t.UTC().Truncate(time.Minute)
	return &m
}

// CreatePhase inserts a phase of a challenge at position and returns its id.
func CreatePhase(ctx context.Context, tx pgx.Tx, challengeID int64, position int, p NewPhase) (int64, error) {
	if p.EntryRule == "" {
		p.EntryRule = EntryBest
	}
	if p.Visibility == "" {
		p.Visibility = VisibilityPublic
	}
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO phases (challenge_id, name, title, position, opens_at, closes_at, quota_daily, quota_total,
		    quota_concurrent, entry_rule, visibility)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		challengeID, p.Name, p.Title, position, minute(p.OpensAt), minute(p.ClosesAt), p.QuotaDaily, p.QuotaTotal,
		p.QuotaConcurrent, p.EntryRule, p.Visibility).Scan(&id)
	return id, translate(err, "create phase "+p.Name)
}

// AddPhaseDataset lets a phase score on a dataset of its challenge; primary
// makes it the one new submissions are evaluated on.
func AddPhaseDataset(ctx context.Context, tx pgx.Tx, phaseID, datasetID int64, primary bool) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO phase_datasets (phase_id, dataset_id, is_primary)
		SELECT p.id, d.id, $3 FROM phases p JOIN datasets d ON d.challenge_id = p.challenge_id
		WHERE p.id = $1 AND d.id = $2`, phaseID, datasetID, primary)
	return translate(err, "add phase dataset")
}

// CreateDataset inserts a dataset with its images (blobs already stored).
func CreateDataset(ctx context.Context, tx pgx.Tx, challengeID int64, name, split string, images []DatasetImage) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO datasets (challenge_id, name, split) VALUES ($1, $2, $3) RETURNING id`,
		challengeID, name, split).Scan(&id)
	if err != nil {
		return 0, translate(err, "create dataset")
	}
	rows := make([][]any, len(images))
	for i, im := range images {
		rows[i] = []any{id, im.Name, im.LRSHA256, im.HRSHA256}
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"dataset_images"}, []string{"dataset_id", "name", "lr_sha256", "hr_sha256"}, pgx.CopyFromRows(rows))
	// A challenge with a single phase that has no dataset yet scores on
	// this one (migration 0006's trigger): the common case needs no
	// AddPhaseDataset call.
	return id, translate(err, "add dataset images")
}

// CountChallenges tells the seed whether the database is new.
func (s *Store) CountChallenges(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM challenges`).Scan(&n)
	return n, translate(err, "count challenges")
}

// CreateBaselineSubmission inserts a challenge's reference model, queued for
// evaluation like any other; its result sets the PSNR gate.
func CreateBaselineSubmission(ctx context.Context, tx pgx.Tx, challengeID, datasetID int64, label, modelSHA string, modelBytes int64, profile []byte) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO submissions (challenge_id, dataset_id, phase_id, label, model_sha256, model_bytes, profile, is_baseline)
		VALUES ($1, $2, (SELECT pd.phase_id FROM phase_datasets pd JOIN phases p ON p.id = pd.phase_id
		                 WHERE pd.dataset_id = $2 AND p.challenge_id = $1
		                 ORDER BY pd.is_primary DESC, p.position, p.id LIMIT 1),
		        $3, $4, $5, $6, true) RETURNING id`,
		challengeID, datasetID, label, modelSHA, modelBytes, profile).Scan(&id)
	return id, translate(err, "create baseline submission")
}

// EnsureUser creates the account unless its username or email is taken; the
// demo login of `srarena up` is made this way on every start.
func (s *Store) EnsureUser(ctx context.Context, email, username, passwordHash string, admin bool) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO users (email, username, password_hash, is_admin) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, email, username, passwordHash, admin)
	return translate(err, "ensure user")
}
