package store

import (
	"context"
)

const userColumns = `id, email, username, password_hash, is_admin, created_at`

func scanUser(row interface{ Scan(...any) error }, u *User) error {
	return row.Scan(&u.ID, &u.Email, &u.Username, &u.PasswordHash, &u.IsAdmin, &u.CreatedAt)
}

// CreateUser inserts an account. A taken email or username (compared
// case-insensitively) returns ErrConflict; the wrapped message names the
// constraint (users_email_key or users_username_key) so callers can say which.
func (s *Store) CreateUser(ctx context.Context, email, username, passwordHash string) (User, error) {
	var u User
	err := scanUser(s.pool.QueryRow(ctx, `
		INSERT INTO users (email, username, password_hash)
		VALUES ($1, $2, $3)
		RETURNING `+userColumns, email, username, passwordHash), &u)
	return u, translate(err, "create user")
}

// UserByLogin finds an account by username or email, case-insensitively.
// Returns ErrNotFound when neither matches.
func (s *Store) UserByLogin(ctx context.Context, login string) (User, error) {
	var u User
	err := scanUser(s.pool.QueryRow(ctx, `
		SELECT `+userColumns+` FROM users
		WHERE lower(username) = lower($1) OR lower(email) = lower($1)
		ORDER BY (lower(username) = lower($1)) DESC
		LIMIT 1`, login), &u)
	return u, translate(err, "user by login")
}

// UserByID returns ErrNotFound for an unknown id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	var u User
	err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id), &u)
	return u, translate(err, "user by id")
}

// CreateUserAs inserts an account with its admin flag (the operator's
// `srarena user add`); a taken email or username is ErrConflict.
func (s *Store) CreateUserAs(ctx context.Context, email, username, passwordHash string, admin bool) (User, error) {
	var u User
	err := scanUser(s.pool.QueryRow(ctx, `
		INSERT INTO users (email, username, password_hash, is_admin)
		VALUES ($1, $2, $3, $4)
		RETURNING `+userColumns, email, username, passwordHash, admin), &u)
	return u, translate(err, "create user")
}
