package store

import (
	"context"
	"time"
)

// Session is a logged-in browser: the user and the session's CSRF token.
type Session struct {
	User      User
	CSRFToken string
	ExpiresAt time.Time
}

// CreateSession stores a session under the sha256 of its token; the token
// itself lives only in the user's cookie.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, userID int64, csrfToken string, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at)
		VALUES ($1, $2, $3, $4)`, tokenHash, userID, csrfToken, expiresAt)
	return translate(err, "create session")
}

// SessionByTokenHash returns the unexpired session and its user, or
// ErrNotFound.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash []byte) (Session, error) {
	var ss Session
	u := &ss.User
	err := s.pool.QueryRow(ctx, `
		SELECT u.id, u.email, u.username, u.password_hash, u.is_admin, u.created_at,
		       s.csrf_token, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > now() AND u.banned_at IS NULL`, tokenHash).
		Scan(&u.ID, &u.Email, &u.Username, &u.PasswordHash, &u.IsAdmin, &u.CreatedAt, &ss.CSRFToken, &ss.ExpiresAt)
	return ss, translate(err, "session")
}

// DeleteSession ends a session; deleting an unknown one is not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	return translate(err, "delete session")
}

// DeleteExpiredSessions sweeps sessions past their expiry and returns how
// many went.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= now()`)
	if err != nil {
		return 0, translate(err, "delete expired sessions")
	}
	return tag.RowsAffected(), nil
}
