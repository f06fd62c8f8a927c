package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditEvent is one organizer action. Before and After hold the fields it
// changed, as JSON (nil when there is no before or after).
type AuditEvent struct {
	ID          int64
	ChallengeID *int64
	ActorID     *int64
	Actor       string
	Action      string // e.g. "challenge.create", "phase.update", "submission.rerun"
	Target      string // what it acted on, e.g. "phase development", "submission 12"
	Before      json.RawMessage
	After       json.RawMessage
	Reason      string
	At          time.Time
}

// InsertAudit writes an audit event in tx: the caller's change and its log
// line commit or roll back together.
func InsertAudit(ctx context.Context, tx pgx.Tx, e AuditEvent) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO audit_events (challenge_id, actor_id, actor, action, target, before, after, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.ChallengeID, e.ActorID, e.Actor, e.Action, e.Target, nullJSON(e.Before), nullJSON(e.After), e.Reason, e.At)
	return translate(err, "audit "+e.Action)
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
}

// AuditEvents returns a challenge's audit log, newest first, at most limit.
func (s *Store) AuditEvents(ctx context.Context, challengeID int64, limit int) ([]AuditEvent, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, challenge_id, actor_id, actor, action, target, before, after, reason, at
		FROM audit_events WHERE challenge_id = $1 ORDER BY id DESC LIMIT $2`, challengeID, limit)
	if err != nil {
		return nil, translate(err, "audit events")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (AuditEvent, error) {
		var e AuditEvent
		err := row.Scan(&e.ID, &e.ChallengeID, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.Before, &e.After, &e.Reason, &e.At)
		return e, err
	})
	return out, translate(err, "audit events")
}

// OrganizedChallenges returns the challenges the user organizes, newest
// first.
func (s *Store) OrganizedChallenges(ctx context.Context, userID int64) ([]Challenge, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+challengeColumns+` FROM challenges
		WHERE id IN (SELECT challenge_id FROM challenge_organizers WHERE user_id = $1)
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, translate(err, "organized challenges")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Challenge, error) {
		var c Challenge
		err := scanChallenge(row, &c)
		return c, err
	})
	return out, translate(err, "organized challenges")
}

// Organizers lists the usernames of a challenge's organizers, sorted.
func (s *Store) Organizers(ctx context.Context, challengeID int64) ([]string, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT u.username FROM challenge_organizers o JOIN users u ON u.id = o.user_id
		WHERE o.challenge_id = $1 ORDER BY lower(u.username)`, challengeID)
	if err != nil {
		return nil, translate(err, "organizers")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, translate(err, "organizers")
}

// AddOrganizerTx gives a user organizer rights on a challenge in tx;
// ErrConflict when the user has them already.
func AddOrganizerTx(ctx context.Context, tx pgx.Tx, challengeID, userID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO challenge_organizers (challenge_id, user_id) VALUES ($1, $2)`, challengeID, userID)
	return translate(err, "add organizer")
}

// UserByUsername returns ErrNotFound for an unknown name (case-insensitive).
func (s *Store) UserByUsername(ctx context.Context, username string) (User, error) {
	var u User
	err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE lower(username) = lower($1)`, username), &u)
	return u, translate(err, "user "+username)
}

// SetChallengeTemplate records which template a challenge was made from.
func SetChallengeTemplate(ctx context.Context, tx pgx.Tx, challengeID int64, template string) error {
	_, err := tx.Exec(ctx, `UPDATE challenges SET template = $2 WHERE id = $1`, challengeID, template)
	return translate(err, "set template")
}

// ChallengeSettings are the fields of a challenge an organizer edits.
type ChallengeSettings struct {
	Title          string          `json:"title"`
	Description    string          `json:"description"`
	Terms          string          `json:"terms"`
	Scale          int             `json:"scale"`
	Rules          json.RawMessage `json:"rules"`
	MaxUploadBytes int64           `json:"max_upload_bytes"`
	TeamSizeLimit  int             `json:"team_size_limit"`
	Registration   string          `json:"registration"`
	Queue          string          `json:"queue"`
}

// ChallengeSettingsForUpdate reads a challenge's settings and locks its row
// until tx ends, so the audit's "before" is what the update replaces.
func ChallengeSettingsForUpdate(ctx context.Context, tx pgx.Tx, challengeID int64) (ChallengeSettings, error) {
	var c ChallengeSettings
	err := tx.QueryRow(ctx, `
		SELECT title, description, terms, scale, rules, max_upload_bytes, team_size_limit, registration, queue
		FROM challenges WHERE id = $1 FOR UPDATE`, challengeID).
		Scan(&c.Title, &c.Description, &c.Terms, &c.Scale, &c.Rules, &c.MaxUploadBytes, &c.TeamSizeLimit, &c.Registration, &c.Queue)
	return c, translate(err, fmt.Sprintf("challenge %d", challengeID))
}

// UpdateChallenge writes a challenge's settings in tx.
func UpdateChallenge(ctx context.Context, tx pgx.Tx, challengeID int64, c ChallengeSettings) error {
	_, err := tx.Exec(ctx, `
		UPDATE challenges SET title = $2, description = $3, terms = $4, scale = $5, rules = $6,
		    max_upload_bytes = $7, team_size_limit = $8, registration = $9, queue = $10
		WHERE id = $1`, challengeID, c.Title, c.Description, c.Terms, c.Scale, c.Rules,
		c.MaxUploadBytes, c.TeamSizeLimit, c.Registration, c.Queue)
	return translate(err, "update challenge")
}

// PhaseSettings are the fields of a phase an organizer edits.
type PhaseSettings struct {
	Title           string     `json:"title"`
	OpensAt         *time.Time `json:"opens_at"`
	ClosesAt        *time.Time `json:"closes_at"`
	QuotaDaily      int        `json:"quota_daily"`
	QuotaTotal      int        `json:"quota_total"`
	QuotaConcurrent int        `json:"quota_concurrent"`
	EntryRule       string     `json:"entry_rule"`
	Visibility      string     `json:"visibility"`
	RevealedAt      *time.Time `json:"revealed_at"`
	// Fair runtimes (migration 0045).
	RuntimeBasis       string   `json:"runtime_basis"`
	RuntimeReferenceMS *float64 `json:"runtime_reference_ms"`
	TimingProtocol     string   `json:"timing_protocol"`
	Threads            *int     `json:"threads"` // nil: the worker's setting (migration 0070)
}

// PhaseSettingsForUpdate reads a phase of a challenge and locks it until
// tx ends; ErrNotFound when the challenge has no such phase.
func PhaseSettingsForUpdate(ctx context.Context, tx pgx.Tx, challengeID int64, name string) (int64, PhaseSettings, error) {
	var id int64
	var p PhaseSettings
	err := tx.QueryRow(ctx, `
		SELECT id, title, opens_at, closes_at, quota_daily, quota_total, quota_concurrent, entry_rule, visibility, revealed_at,
		    runtime_basis, runtime_reference_ms, timing_protocol, ort_threads
		FROM phases WHERE challenge_id = $1 AND name = $2 FOR UPDATE`, challengeID, name).
		Scan(&id, &p.Title, &p.OpensAt, &p.ClosesAt, &p.QuotaDaily, &p.QuotaTotal, &p.QuotaConcurrent, &p.EntryRule, &p.Visibility, &p.RevealedAt,
			&p.RuntimeBasis, &p.RuntimeReferenceMS, &p.TimingProtocol, &p.Threads)
	return id, p, translate(err, "phase "+name)
}

// UpdatePhase writes a phase's settings in tx (windows cut to the minute).
func UpdatePhase(ctx context.Context, tx pgx.Tx, phaseID int64, p PhaseSettings) error {
	_, err := tx.Exec(ctx, `
		UPDATE phases SET title = $2, opens_at = $3, closes_at = $4, quota_daily = $5, quota_total = $6,
		    quota_concurrent = $7, entry_rule = $8, visibility = $9, revealed_at = $10,
		    runtime_basis = coalesce(nullif($11, ''), runtime_basis), runtime_reference_ms = $12,
		    timing_protocol = coalesce(nullif($13, ''), timing_protocol), ort_threads = $14
		WHERE id = $1`, phaseID, p.Title, minute(p.OpensAt), minute(p.ClosesAt), p.QuotaDaily, p.QuotaTotal,
		p.QuotaConcurrent, p.EntryRule, p.Visibility, p.RevealedAt,
		p.RuntimeBasis, p.RuntimeReferenceMS, p.TimingProtocol, p.Threads)
	return translate(err, "update phase")
}
