package store

import (
	"context"
	"encoding/json"

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
}

// CreateChallenge inserts a challenge and returns its id.
func CreateChallenge(ctx context.Context, tx pgx.Tx, c NewChallenge) (int64, error) {
	if c.Queue == "" {
		c.Queue = "eval_cpu"
	}
	var id int64
	err := tx.QueryRow(ctx, `
		INSERT INTO challenges (slug, title, description, scale, rules, max_upload_bytes, daily_quota, queue)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		c.Slug, c.Title, c.Description, c.Scale, c.Rules, c.MaxUploadBytes, c.DailyQuota, c.Queue).Scan(&id)
	return id, translate(err, "create challenge")
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
		INSERT INTO submissions (challenge_id, dataset_id, label, model_sha256, model_bytes, profile, is_baseline)
		VALUES ($1, $2, $3, $4, $5, $6, true) RETURNING id`,
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
