package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

const challengeColumns = `id, slug, title, description, scale, rules, max_upload_bytes,
	daily_quota, queue, terms, team_size_limit, registration, opens_at, closes_at, created_at`

func scanChallenge(row interface{ Scan(...any) error }, c *Challenge) error {
	return row.Scan(&c.ID, &c.Slug, &c.Title, &c.Description, &c.Scale, &c.Rules, &c.MaxUploadBytes,
		&c.DailyQuota, &c.Queue, &c.Terms, &c.TeamSizeLimit, &c.RegistrationMode, &c.OpensAt, &c.ClosesAt, &c.CreatedAt)
}

// ChallengeBySlug returns ErrNotFound for an unknown slug.
func (s *Store) ChallengeBySlug(ctx context.Context, slug string) (Challenge, error) {
	var c Challenge
	err := scanChallenge(s.pool.QueryRow(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE slug = $1`, slug), &c)
	return c, translate(err, "challenge "+slug)
}

// ListChallenges returns every challenge, newest first.
func (s *Store) ListChallenges(ctx context.Context) ([]Challenge, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+challengeColumns+` FROM challenges ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, translate(err, "list challenges")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Challenge, error) {
		var c Challenge
		err := scanChallenge(row, &c)
		return c, err
	})
	return out, translate(err, "list challenges")
}

// EvaluationDataset picks the dataset new submissions of a challenge are
// evaluated on: the newest validation set, else the newest test set. Returns
// ErrNotFound when the challenge has none yet.
func (s *Store) EvaluationDataset(ctx context.Context, challengeID int64) (Dataset, error) {
	var d Dataset
	err := s.pool.QueryRow(ctx, `
		SELECT id, challenge_id, name, split, public FROM datasets
		WHERE challenge_id = $1
		ORDER BY (split = 'validation') DESC, created_at DESC, id DESC
		LIMIT 1`, challengeID).Scan(&d.ID, &d.ChallengeID, &d.Name, &d.Split, &d.Public)
	return d, translate(err, "evaluation dataset")
}

// ChallengeByID returns ErrNotFound for an unknown id.
func (s *Store) ChallengeByID(ctx context.Context, id int64) (Challenge, error) {
	var c Challenge
	err := scanChallenge(s.pool.QueryRow(ctx, `SELECT `+challengeColumns+` FROM challenges WHERE id = $1`, id), &c)
	return c, translate(err, "challenge by id")
}

// DatasetByID returns ErrNotFound for an unknown id. It returns the name and
// split only: never image names or digests, which pages must not show for a
// hidden (test) split.
func (s *Store) DatasetByID(ctx context.Context, id int64) (Dataset, error) {
	var d Dataset
	err := s.pool.QueryRow(ctx, `SELECT id, challenge_id, name, split, public FROM datasets WHERE id = $1`, id).
		Scan(&d.ID, &d.ChallengeID, &d.Name, &d.Split, &d.Public)
	return d, translate(err, "dataset by id")
}
