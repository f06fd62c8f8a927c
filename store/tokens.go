package store

import (
	"context"
	"time"
)

// APIToken is a personal access token as stored: never the token itself.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// CreateAPIToken stores a token under the sha256 of its secret.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (APIToken, error) {
	t := APIToken{UserID: userID, Name: name}
	err := s.pool.QueryRow(ctx, `
		INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, $2, $3)
		RETURNING id, created_at`, userID, name, tokenHash).Scan(&t.ID, &t.CreatedAt)
	return t, translate(err, "create api token")
}

// UserByAPIToken returns the owner of an unrevoked token and records its
// use; ErrNotFound for an unknown or revoked token. last_used_at is written
// at most once a minute per token, so a busy client costs no write per
// request.
func (s *Store) UserByAPIToken(ctx context.Context, tokenHash []byte) (User, int64, error) {
	var u User
	var id int64
	err := s.pool.QueryRow(ctx, `
		SELECT t.id, u.id, u.email, u.username, u.password_hash, u.is_admin, u.created_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.banned_at IS NULL`, tokenHash).
		Scan(&id, &u.ID, &u.Email, &u.Username, &u.PasswordHash, &u.IsAdmin, &u.CreatedAt)
	if err != nil {
		return u, 0, translate(err, "api token")
	}
	_, err = s.pool.Exec(ctx, `
		UPDATE api_tokens SET last_used_at = now()
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`, id)
	return u, id, translate(err, "api token: last used")
}

// APITokensOfUser lists a user's tokens, newest first, revoked ones too.
func (s *Store) APITokensOfUser(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, user_id, name, created_at, last_used_at, revoked_at
		FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, translate(err, "list api tokens")
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		var t APIToken
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.CreatedAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
			return nil, translate(err, "list api tokens")
		}
		out = append(out, t)
	}
	return out, translate(rows.Err(), "list api tokens")
}

// RevokeAPIToken revokes the user's token id. Another user's token, or an
// unknown one, is ErrNotFound; revoking twice is not an error.
func (s *Store) RevokeAPIToken(ctx context.Context, userID, id int64) error {
	var ok bool
	err := s.pool.QueryRow(ctx, `
		WITH t AS (
			UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
			WHERE id = $1 AND user_id = $2 RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM t)`, id, userID).Scan(&ok)
	if err == nil && !ok {
		return translate(errNoRows, "revoke api token")
	}
	return translate(err, "revoke api token")
}
