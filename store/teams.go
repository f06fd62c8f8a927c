package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotAllowed: the row exists but the change is refused by a rule the
// store enforces under its lock (a full team, a finished submission that
// cannot be cancelled). The wrapping message says which.
var ErrNotAllowed = errors.New("not allowed")

const phaseColumns = `p.id, p.challenge_id, p.name, p.title, p.position, p.opens_at, p.closes_at, p.quota_daily,
	p.quota_total, p.quota_concurrent, p.entry_rule, p.visibility, p.revealed_at,
	p.runtime_basis, p.runtime_reference_ms, p.timing_protocol, p.ort_threads`

func scanPhase(row interface{ Scan(...any) error }, p *Phase) error {
	return row.Scan(&p.ID, &p.ChallengeID, &p.Name, &p.Title, &p.Position, &p.OpensAt, &p.ClosesAt, &p.QuotaDaily,
		&p.QuotaTotal, &p.QuotaConcurrent, &p.EntryRule, &p.Visibility, &p.RevealedAt,
		&p.RuntimeBasis, &p.RuntimeReferenceMS, &p.TimingProtocol, &p.Threads)
}

// PhasesOfChallenge lists a challenge's phases in order, each with its
// datasets (primary first).
func (s *Store) PhasesOfChallenge(ctx context.Context, challengeID int64) ([]Phase, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+phaseColumns+` FROM phases p WHERE p.challenge_id = $1 ORDER BY p.position, p.id`, challengeID)
	if err != nil {
		return nil, translate(err, "phases")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Phase, error) {
		var p Phase
		err := scanPhase(row, &p)
		return p, err
	})
	if err != nil {
		return nil, translate(err, "phases")
	}
	drows, err := s.pool.Query(ctx, `
		SELECT pd.phase_id, d.id, d.challenge_id, d.name, d.split, d.public, pd.is_primary
		FROM phase_datasets pd JOIN datasets d ON d.id = pd.dataset_id JOIN phases p ON p.id = pd.phase_id
		WHERE p.challenge_id = $1
		ORDER BY pd.is_primary DESC, (d.split = 'validation') DESC, d.id`, challengeID)
	if err != nil {
		return nil, translate(err, "phase datasets")
	}
	defer drows.Close()
	for drows.Next() {
		var pid int64
		var d Dataset
		if err := drows.Scan(&pid, &d.ID, &d.ChallengeID, &d.Name, &d.Split, &d.Public, &d.Primary); err != nil {
			return nil, translate(err, "phase datasets")
		}
		for i := range out {
			if out[i].ID == pid {
				out[i].Datasets = append(out[i].Datasets, d)
			}
		}
	}
	return out, translate(drows.Err(), "phase datasets")
}

// RevealPhase makes a hidden phase's board public from at on.
func (s *Store) RevealPhase(ctx context.Context, phaseID int64, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE phases SET revealed_at = $2 WHERE id = $1`, phaseID, at)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return translate(err, "reveal phase")
}

// IsOrganizer reports whether the user organizes the challenge (site
// admins are handled by the caller).
func (s *Store) IsOrganizer(ctx context.Context, challengeID, userID int64) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM challenge_organizers WHERE challenge_id = $1 AND user_id = $2)`,
		challengeID, userID).Scan(&ok)
	return ok, translate(err, "is organizer")
}

// AddOrganizer gives a user organizer rights on a challenge.
func (s *Store) AddOrganizer(ctx context.Context, challengeID, userID int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO challenge_organizers (challenge_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		challengeID, userID)
	return translate(err, "add organizer")
}

// RegistrationOf returns the user's registration for the challenge, with
// their team if they have one; ErrNotFound when not registered.
func (s *Store) RegistrationOf(ctx context.Context, challengeID, userID int64) (Registration, error) {
	var r Registration
	err := s.pool.QueryRow(ctx, `
		SELECT r.challenge_id, r.user_id, r.state, r.terms_accepted_at, m.team_id
		FROM registrations r
		LEFT JOIN team_members m ON m.challenge_id = r.challenge_id AND m.user_id = r.user_id
		WHERE r.challenge_id = $1 AND r.user_id = $2`, challengeID, userID).
		Scan(&r.ChallengeID, &r.UserID, &r.State, &r.TermsAcceptedAt, &r.TeamID)
	return r, translate(err, "registration")
}

// Register records the user's registration (terms accepted at now, in
// state) and, when withTeam, puts them in a new team: teamName, or a solo
// team named after the user when teamName is "". ErrConflict when already
// registered or the team name is taken (the message says which).
func (s *Store) Register(ctx context.Context, challengeID, userID int64, state string, withTeam bool, teamName string, now time.Time) (Registration, error) {
	r := Registration{ChallengeID: challengeID, UserID: userID, State: state, TermsAcceptedAt: now}
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO registrations (challenge_id, user_id, state, terms_accepted_at, decided_at, created_at)
			VALUES ($1, $2, $3, $4, CASE WHEN $3 = 'approved' THEN $4::timestamptz END, $4)`,
			challengeID, userID, state, now)
		if err != nil {
			return translate(err, "register")
		}
		if !withTeam {
			return nil
		}
		id, err := createTeam(ctx, tx, challengeID, userID, teamName, now)
		if err != nil {
			return err
		}
		r.TeamID = &id
		return nil
	})
	return r, err
}

// createTeam makes a team with the user as its only member.
func createTeam(ctx context.Context, tx pgx.Tx, challengeID, userID int64, name string, now time.Time) (int64, error) {
	solo := name == ""
	if solo {
		if err := tx.QueryRow(ctx, `SELECT username FROM users WHERE id = $1`, userID).Scan(&name); err != nil {
			return 0, translate(err, "team owner")
		}
	}
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO teams (challenge_id, name, solo, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		challengeID, name, solo, now).Scan(&id)
	if err != nil {
		return 0, translate(err, "team name "+name)
	}
	_, err = tx.Exec(ctx, `INSERT INTO team_members (team_id, challenge_id, user_id, joined_at) VALUES ($1, $2, $3, $4)`,
		id, challengeID, userID, now)
	if err != nil {
		return 0, translate(err, "team member")
	}
	return id, nil
}

// CreateTeam makes a team (a solo one when name is "") with the registered
// user as its member. ErrConflict when the user already has a team or the
// name is taken.
func (s *Store) CreateTeam(ctx context.Context, challengeID, userID int64, name string, now time.Time) (int64, error) {
	var id int64
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = createTeam(ctx, tx, challengeID, userID, name, now)
		return err
	})
	return id, err
}

// TeamByID returns a team with its members; ErrNotFound when unknown.
func (s *Store) TeamByID(ctx context.Context, id int64) (Team, error) {
	var t Team
	err := s.pool.QueryRow(ctx, `SELECT id, challenge_id, name, solo, disqualified_reason, created_at FROM teams WHERE id = $1`, id).
		Scan(&t.ID, &t.ChallengeID, &t.Name, &t.Solo, &t.DisqualifiedReason, &t.CreatedAt)
	if err != nil {
		return t, translate(err, fmt.Sprintf("team %d", id))
	}
	rows, err := s.pool.Query(ctx, `
		SELECT m.user_id, u.username, m.joined_at FROM team_members m JOIN users u ON u.id = m.user_id
		WHERE m.team_id = $1 ORDER BY m.joined_at, m.user_id`, id)
	if err != nil {
		return t, translate(err, "team members")
	}
	t.Members, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (TeamMember, error) {
		var m TeamMember
		err := row.Scan(&m.UserID, &m.Username, &m.JoinedAt)
		return m, err
	})
	return t, translate(err, "team members")
}

// JoinTeam adds the user to the team while it has fewer than sizeLimit
// members. A user who is alone in a team without submissions leaves it
// (and it is deleted); any other team membership is ErrConflict. A full
// team is ErrNotAllowed.
func (s *Store) JoinTeam(ctx context.Context, teamID, userID int64, sizeLimit int, now time.Time) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		var challengeID int64
		if err := tx.QueryRow(ctx, `SELECT challenge_id FROM teams WHERE id = $1 FOR UPDATE`, teamID).Scan(&challengeID); err != nil {
			return translate(err, "team")
		}
		var cur *int64
		err := tx.QueryRow(ctx, `SELECT team_id FROM team_members WHERE challenge_id = $1 AND user_id = $2`, challengeID, userID).Scan(&cur)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return translate(err, "current team")
		}
		if cur != nil {
			if *cur == teamID {
				return fmt.Errorf("join team: you are in this team already: %w", ErrConflict)
			}
			var others, subs int
			if err := tx.QueryRow(ctx, `
				SELECT (SELECT count(*) FROM team_members WHERE team_id = $1 AND user_id <> $2),
				       (SELECT count(*) FROM submissions WHERE team_id = $1)`, *cur, userID).Scan(&others, &subs); err != nil {
				return translate(err, "current team")
			}
			if others > 0 || subs > 0 {
				return fmt.Errorf("join team: you are in another team of this challenge; leave it first: %w", ErrConflict)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM teams WHERE id = $1`, *cur); err != nil {
				return translate(err, "leave empty team")
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM team_members WHERE team_id = $1`, teamID).Scan(&n); err != nil {
			return translate(err, "team size")
		}
		if n >= sizeLimit {
			return fmt.Errorf("join team: the team is full (%d members, the limit): %w", n, ErrNotAllowed)
		}
		_, err = tx.Exec(ctx, `INSERT INTO team_members (team_id, challenge_id, user_id, joined_at) VALUES ($1, $2, $3, $4)`,
			teamID, challengeID, userID, now)
		if err != nil {
			return translate(err, "join team")
		}
		_, err = tx.Exec(ctx, `UPDATE teams SET solo = false WHERE id = $1`, teamID)
		return translate(err, "join team")
	})
}

// LeaveTeam removes the user from the team. A team left without members
// and without submissions is deleted; one with submissions stays, so its
// rows and quota history remain.
func (s *Store) LeaveTeam(ctx context.Context, teamID, userID int64) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM teams WHERE id = $1 FOR UPDATE`, teamID); err != nil {
			return translate(err, "team")
		}
		tag, err := tx.Exec(ctx, `DELETE FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID)
		if err != nil {
			return translate(err, "leave team")
		}
		if tag.RowsAffected() == 0 {
			return translate(pgx.ErrNoRows, "team membership")
		}
		_, err = tx.Exec(ctx, `
			DELETE FROM teams t WHERE t.id = $1
			  AND NOT EXISTS (SELECT 1 FROM team_members WHERE team_id = t.id)
			  AND NOT EXISTS (SELECT 1 FROM submissions WHERE team_id = t.id)`, teamID)
		return translate(err, "leave team")
	})
}

// RenameTeam sets a team's name; ErrConflict when taken in the challenge.
func (s *Store) RenameTeam(ctx context.Context, teamID int64, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE teams SET name = $2, solo = false WHERE id = $1`, teamID, name)
	if err == nil && tag.RowsAffected() == 0 {
		err = pgx.ErrNoRows
	}
	return translate(err, "team name "+name)
}

// CreateInvitation stores an invitation link's token hash.
func (s *Store) CreateInvitation(ctx context.Context, teamID, createdBy int64, tokenHash []byte, expires time.Time) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `
		INSERT INTO team_invitations (team_id, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		teamID, tokenHash, createdBy, expires).Scan(&id)
	return id, translate(err, "create invitation")
}

// InvitationByHash finds an invitation by its token hash, expired and
// revoked ones included (the caller says why they no longer work).
func (s *Store) InvitationByHash(ctx context.Context, tokenHash []byte) (Invitation, error) {
	var in Invitation
	err := s.pool.QueryRow(ctx, `
		SELECT i.id, i.team_id, t.challenge_id, i.created_at, i.expires_at, i.revoked_at
		FROM team_invitations i JOIN teams t ON t.id = i.team_id
		WHERE i.token_hash = $1`, tokenHash).
		Scan(&in.ID, &in.TeamID, &in.ChallengeID, &in.CreatedAt, &in.ExpiresAt, &in.RevokedAt)
	return in, translate(err, "invitation")
}

// RevokeInvitations ends every open invitation of a team.
func (s *Store) RevokeInvitations(ctx context.Context, teamID int64, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE team_invitations SET revoked_at = $2 WHERE team_id = $1 AND revoked_at IS NULL`, teamID, at)
	return translate(err, "revoke invitations")
}

// CancelSubmission marks a queued or running submission cancelled, logs
// who did it, and calls cancelJob, in the same transaction, with each River
// job of it that is not final yet (a running job's worker is told to stop).
// ErrNotAllowed when the submission has ended already.
func (s *Store) CancelSubmission(ctx context.Context, id int64, by string, now time.Time,
	cancelJob func(ctx context.Context, tx pgx.Tx, jobID int64) error) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `SELECT status FROM submissions WHERE id = $1 FOR UPDATE`, id).Scan(&status); err != nil {
			return translate(err, fmt.Sprintf("submission %d", id))
		}
		if status != StatusQueued && status != StatusRunning {
			return fmt.Errorf("cancel submission %d: it is %s already: %w", id, status, ErrNotAllowed)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE submissions SET status = 'cancelled', cancelled_at = $2, finished_at = $2,
			    message = 'cancelled by ' || $3
			WHERE id = $1`, id, now, by); err != nil {
			return translate(err, "cancel submission")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO submission_logs (submission_id, line) VALUES ($1, $2)`,
			id, "cancelled by "+by+" while "+status); err != nil {
			return translate(err, "cancel submission")
		}
		rows, err := tx.Query(ctx, `
			SELECT id FROM river_job
			WHERE kind = 'evaluate' AND args->>'submission_id' = ($1::bigint)::text
			  AND state NOT IN ('cancelled', 'completed', 'discarded')`, id)
		if err != nil {
			return translate(err, "evaluation jobs")
		}
		jobIDs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return translate(err, "evaluation jobs")
		}
		for _, j := range jobIDs {
			if err := cancelJob(ctx, tx, j); err != nil {
				return fmt.Errorf("cancel job %d: %w", j, err)
			}
		}
		return nil
	})
}

// SelectSubmission makes a finished submission its team's entry in its
// phase, unselecting the previous one. ErrNotAllowed unless the submission
// belongs to the team and phase and is finished.
func (s *Store) SelectSubmission(ctx context.Context, teamID, phaseID, submissionID int64) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM teams WHERE id = $1 FOR UPDATE`, teamID); err != nil {
			return translate(err, "lock team")
		}
		if _, err := tx.Exec(ctx, `UPDATE submissions SET selected = false WHERE team_id = $1 AND phase_id = $2 AND selected`,
			teamID, phaseID); err != nil {
			return translate(err, "unselect")
		}
		tag, err := tx.Exec(ctx, `UPDATE submissions SET selected = true
			WHERE id = $1 AND team_id = $2 AND phase_id = $3 AND status = 'finished'`, submissionID, teamID, phaseID)
		if err != nil {
			return translate(err, "select")
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("select submission %d: only a finished submission of the team can be its entry: %w", submissionID, ErrNotAllowed)
		}
		return nil
	})
}

// SetProgress records that a running evaluation attempt has evaluated done
// of total images. The runner calls it per image; a stale attempt's call
// changes nothing.
func (s *Store) SetProgress(ctx context.Context, submissionID int64, attempt, done, total int) error {
	_, err := s.pool.Exec(ctx, `
		UPDATE submissions SET images_done = $3, images_total = $4
		WHERE id = $1 AND status = 'running' AND attempts = $2`, submissionID, attempt, done, total)
	return translate(err, "set progress")
}

// QueueState is where a queued submission stands in its hardware queue.
type QueueState struct {
	Ahead   int // queued submissions of the same queue created before it
	Running int // evaluations running on the queue now
	// Mean duration of the last finished evaluations on the queue; 0 when
	// none finished yet.
	MeanRun time.Duration
}

// QueueStateOf says how many submissions of the same hardware queue are
// ahead of the submission, how many run now, and how long runs take.
func (s *Store) QueueStateOf(ctx context.Context, submissionID int64) (QueueState, error) {
	var q QueueState
	var secs *float64
	err := s.pool.QueryRow(ctx, `
		WITH me AS (
			SELECT s.id, s.created_at, c.queue FROM submissions s JOIN challenges c ON c.id = s.challenge_id WHERE s.id = $1
		), q AS (
			SELECT s.id, s.status, s.created_at, s.started_at, s.finished_at
			FROM submissions s JOIN challenges c ON c.id = s.challenge_id, me
			WHERE c.queue = me.queue
		)
		SELECT
			(SELECT count(*) FROM q, me WHERE q.status = 'queued' AND (q.created_at, q.id) < (me.created_at, me.id)),
			(SELECT count(*) FROM q WHERE q.status = 'running'),
			(SELECT avg(extract(epoch FROM f.finished_at - f.started_at))::float8 FROM (
				SELECT finished_at, started_at FROM q WHERE q.status = 'finished' AND started_at IS NOT NULL
				ORDER BY finished_at DESC LIMIT 20) f)
		FROM me`, submissionID).Scan(&q.Ahead, &q.Running, &secs)
	if secs != nil {
		q.MeanRun = time.Duration(*secs * float64(time.Second))
	}
	return q, translate(err, "queue state")
}

// TeamNameTaken is how callers recognise a refused team name.
func TeamNameTaken(err error) bool {
	return errors.Is(err, ErrConflict) && strings.Contains(err.Error(), "teams_name_key")
}
