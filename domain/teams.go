package domain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/srarena/srarena/store"
)

// MaxTeamName is the longest team name, in characters.
const MaxTeamName = 60

func teamName(name string) (string, error) {
	n, err := checkText("team name", name, MaxTeamName, false)
	if err != nil {
		return "", err
	}
	return n, nil
}

func (s *Service) requireUser(v Viewer) error {
	if v.Anonymous() {
		return &Error{Kind: KindUnauthenticated, Msg: "Log in first."}
	}
	return nil
}

// Register enters the viewer into the challenge. acceptTerms must be true
// (the terms are on the challenge page). teamName names a new team; ""
// makes a solo team named after the viewer. A challenge whose registration
// mode is "approval" records the registration as pending: the viewer may
// form a team but not submit until an organizer approves.
func (s *Service) Register(ctx context.Context, v Viewer, slug string, acceptTerms bool, teamName string) (store.Registration, error) {
	if err := s.requireUser(v); err != nil {
		return store.Registration{}, err
	}
	c, err := s.st.ChallengeBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return store.Registration{}, notFound(err)
	} else if err != nil {
		return store.Registration{}, err
	}
	if !acceptTerms {
		return store.Registration{}, newErr(KindInvalid, "To register, accept the terms of %s.", c.Title)
	}
	if teamName != "" {
		if teamName, err = teamNameOK(teamName); err != nil {
			return store.Registration{}, err
		}
	}
	state := store.RegistrationApproved
	if c.RegistrationMode == "approval" {
		state = store.RegistrationPending
	}
	reg, err := s.st.Register(ctx, c.ID, v.UserID, state, true, teamName, s.now())
	switch {
	case store.TeamNameTaken(err):
		return reg, &Error{Kind: KindConflict, Msg: "A team of that name exists in this challenge already; choose another name.", Err: err}
	case errors.Is(err, store.ErrConflict):
		return reg, &Error{Kind: KindConflict, Msg: "You are registered for this challenge already.", Err: err}
	}
	return reg, err
}

func teamNameOK(name string) (string, error) {
	n, err := teamName(name)
	if err != nil {
		return "", err
	}
	if n == "" {
		return "", newErr(KindInvalid, "Give the team a name.")
	}
	return n, nil
}

// membership returns the viewer's registration and team in the challenge,
// refusing with a message that says what to do first.
func (s *Service) membership(ctx context.Context, v Viewer, slug string) (store.Challenge, store.Registration, error) {
	if err := s.requireUser(v); err != nil {
		return store.Challenge{}, store.Registration{}, err
	}
	c, err := s.st.ChallengeBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return c, store.Registration{}, notFound(err)
	} else if err != nil {
		return c, store.Registration{}, err
	}
	reg, err := s.st.RegistrationOf(ctx, c.ID, v.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return c, reg, newErr(KindForbidden, "Register for %s first (accept its terms on the challenge page).", c.Title)
	}
	return c, reg, err
}

// CreateTeam makes a team with the registered viewer as its only member
// (name "" makes a solo team named after the viewer).
func (s *Service) CreateTeam(ctx context.Context, v Viewer, slug, name string) (store.Team, error) {
	c, reg, err := s.membership(ctx, v, slug)
	if err != nil {
		return store.Team{}, err
	}
	if reg.TeamID != nil {
		return store.Team{}, newErr(KindConflict, "You are in a team of this challenge already; leave it first.")
	}
	if name != "" {
		if name, err = teamNameOK(name); err != nil {
			return store.Team{}, err
		}
	}
	id, err := s.st.CreateTeam(ctx, c.ID, v.UserID, name, s.now())
	switch {
	case store.TeamNameTaken(err):
		return store.Team{}, &Error{Kind: KindConflict, Msg: "A team of that name exists in this challenge already; choose another name.", Err: err}
	case errors.Is(err, store.ErrConflict):
		return store.Team{}, &Error{Kind: KindConflict, Msg: "You are in a team of this challenge already; leave it first.", Err: err}
	case err != nil:
		return store.Team{}, err
	}
	return s.st.TeamByID(ctx, id)
}

// MyTeam returns the viewer's team in the challenge; KindNotFound (with a
// message saying what to do) when the viewer has none.
func (s *Service) MyTeam(ctx context.Context, v Viewer, slug string) (store.Team, error) {
	_, reg, err := s.membership(ctx, v, slug)
	if err != nil {
		return store.Team{}, err
	}
	if reg.TeamID == nil {
		return store.Team{}, newErr(KindNotFound, "You are not in a team of this challenge; create one or join one through an invitation link.")
	}
	return s.st.TeamByID(ctx, *reg.TeamID)
}

// RenameTeam renames the viewer's team.
func (s *Service) RenameTeam(ctx context.Context, v Viewer, slug, name string) (store.Team, error) {
	t, err := s.MyTeam(ctx, v, slug)
	if err != nil {
		return t, err
	}
	if name, err = teamNameOK(name); err != nil {
		return t, err
	}
	err = s.st.RenameTeam(ctx, t.ID, name)
	if store.TeamNameTaken(err) {
		return t, &Error{Kind: KindConflict, Msg: "A team of that name exists in this challenge already; choose another name.", Err: err}
	} else if err != nil {
		return t, err
	}
	s.dropBoards()
	return s.st.TeamByID(ctx, t.ID)
}

// LeaveTeam takes the viewer out of their team. The team's submissions stay
// with the team; the viewer may then create or join another team.
func (s *Service) LeaveTeam(ctx context.Context, v Viewer, slug string) error {
	t, err := s.MyTeam(ctx, v, slug)
	if err != nil {
		return err
	}
	return s.st.LeaveTeam(ctx, t.ID, v.UserID)
}

// Invitation is a new invitation link's secret.
type Invitation struct {
	Token     string // goes in the link /join/{token}; shown once, stored hashed
	ExpiresAt time.Time
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// Invite creates an invitation link to the viewer's team.
func (s *Service) Invite(ctx context.Context, v Viewer, slug string) (Invitation, error) {
	t, err := s.MyTeam(ctx, v, slug)
	if err != nil {
		return Invitation{}, err
	}
	var b [24]byte
	rand.Read(b[:])
	inv := Invitation{Token: base64.RawURLEncoding.EncodeToString(b[:]), ExpiresAt: s.now().Add(s.invTTL)}
	if _, err := s.st.CreateInvitation(ctx, t.ID, v.UserID, hashToken(inv.Token), inv.ExpiresAt); err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// WithdrawInvitations makes every invitation link of the viewer's team stop
// working.
func (s *Service) WithdrawInvitations(ctx context.Context, v Viewer, slug string) error {
	t, err := s.MyTeam(ctx, v, slug)
	if err != nil {
		return err
	}
	return s.st.RevokeInvitations(ctx, t.ID, s.now())
}

// InvitationInfo is what an invitation link leads to.
type InvitationInfo struct {
	Challenge  store.Challenge
	Team       store.Team
	ExpiresAt  time.Time
	Registered bool // the viewer is registered for the challenge
	// Member: the viewer is in this team already.
	Member bool
}

// InvitationFor looks an invitation up by its token; KindNotFound for an
// unknown, expired or revoked link (the message says which).
func (s *Service) InvitationFor(ctx context.Context, v Viewer, token string) (InvitationInfo, error) {
	if err := s.requireUser(v); err != nil {
		return InvitationInfo{}, err
	}
	if len(token) > 100 {
		return InvitationInfo{}, notFound(nil)
	}
	in, err := s.st.InvitationByHash(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return InvitationInfo{}, newErr(KindNotFound, "This invitation link is not valid. Ask the team for a new one.")
	} else if err != nil {
		return InvitationInfo{}, err
	}
	switch {
	case in.RevokedAt != nil:
		return InvitationInfo{}, newErr(KindNotFound, "This invitation link was withdrawn. Ask the team for a new one.")
	case !s.now().Before(in.ExpiresAt):
		return InvitationInfo{}, newErr(KindNotFound, "This invitation link expired at %s. Ask the team for a new one.", FormatTime(in.ExpiresAt))
	}
	c, err := s.st.ChallengeByID(ctx, in.ChallengeID)
	if err != nil {
		return InvitationInfo{}, err
	}
	t, err := s.st.TeamByID(ctx, in.TeamID)
	if err != nil {
		return InvitationInfo{}, err
	}
	info := InvitationInfo{Challenge: c, Team: t, ExpiresAt: in.ExpiresAt}
	reg, err := s.st.RegistrationOf(ctx, c.ID, v.UserID)
	switch {
	case err == nil:
		info.Registered = true
		info.Member = reg.TeamID != nil && *reg.TeamID == t.ID
	case !errors.Is(err, store.ErrNotFound):
		return info, err
	}
	return info, nil
}

// JoinTeam puts the viewer into the invitation's team. A viewer not yet
// registered for the challenge registers on the way (acceptTerms must be
// true then). A viewer alone in a team without submissions leaves it; any
// other team must be left first. The team size limit holds.
func (s *Service) JoinTeam(ctx context.Context, v Viewer, token string, acceptTerms bool) (store.Team, error) {
	info, err := s.InvitationFor(ctx, v, token)
	if err != nil {
		return store.Team{}, err
	}
	if info.Member {
		return info.Team, nil
	}
	if !info.Registered {
		if !acceptTerms {
			return store.Team{}, newErr(KindInvalid, "To join, accept the terms of %s.", info.Challenge.Title)
		}
		state := store.RegistrationApproved
		if info.Challenge.RegistrationMode == "approval" {
			state = store.RegistrationPending
		}
		if _, err := s.st.Register(ctx, info.Challenge.ID, v.UserID, state, false, "", s.now()); err != nil && !errors.Is(err, store.ErrConflict) {
			return store.Team{}, err
		}
	}
	err = s.st.JoinTeam(ctx, info.Team.ID, v.UserID, info.Challenge.TeamSizeLimit, s.now())
	switch {
	case errors.Is(err, store.ErrNotAllowed):
		return store.Team{}, &Error{Kind: KindConflict, Err: err,
			Msg: "The team is full: this challenge allows at most " + itoa(info.Challenge.TeamSizeLimit) + " members per team."}
	case errors.Is(err, store.ErrConflict):
		return store.Team{}, &Error{Kind: KindConflict, Err: err,
			Msg: "You are in another team of this challenge that has other members or submissions; leave it first."}
	case err != nil:
		return store.Team{}, err
	}
	s.dropBoards()
	return s.st.TeamByID(ctx, info.Team.ID)
}
