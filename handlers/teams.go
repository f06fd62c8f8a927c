package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/markdown"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// TeamPages serve registration, the team page and invitation links. The
// rules are domain.Service's; a refusal the visitor can fix re-renders the
// form with the message.
type TeamPages struct {
	*Base
	Domain *domain.Service
	// BaseURL prefixes invitation links ("" gives a path only).
	BaseURL string
}

// fixable reports whether err is a refusal to show on the form.
func fixable(err error) bool {
	k := domain.KindOf(err)
	return k == domain.KindInvalid || k == domain.KindConflict
}

// RegisterForm shows the terms and the registration form. GET /c/{slug}/register
func (h *TeamPages) RegisterForm(w http.ResponseWriter, r *http.Request) error {
	return h.renderRegister(w, r, http.StatusOK, templates.Form{})
}

func (h *TeamPages) renderRegister(w http.ResponseWriter, r *http.Request, status int, f templates.Form) error {
	ci, err := h.Domain.Challenge(r.Context(), viewer(r), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	if ci.Registration != nil && status == http.StatusOK {
		SeeOther(w, r, "/c/"+ci.Slug)
		return nil
	}
	v := templates.Register{Slug: ci.Slug, Title: ci.Title, Terms: ci.Terms, TermsHTML: markdown.Render(ci.Terms), NeedsApproval: ci.RegistrationMode == "approval", Form: f}
	return Render(r.Context(), w, status, templates.RegisterPage(h.Page(r, "Register · "+ci.Title), v))
}

// Register records the registration. POST /c/{slug}/register (accept_terms, team)
func (h *TeamPages) Register(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	team := r.PostFormValue("team")
	reg, err := h.Domain.Register(r.Context(), viewer(r), slug, r.PostFormValue("accept_terms") == "yes", team)
	if fixable(err) {
		return h.renderRegister(w, r, domain.Status(err), templates.Form{Values: map[string]string{"team": team}, General: []string{domain.Message(err)}})
	} else if err != nil {
		return err
	}
	msg := "You are registered."
	if reg.State == store.RegistrationPending {
		msg = "You are registered; the organizers will approve your registration before you can submit."
	}
	SetFlash(w, r, msg)
	SeeOther(w, r, "/c/"+slug)
	return nil
}

// Show is the team page. GET /c/{slug}/team
func (h *TeamPages) Show(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, templates.Team{})
}

func (h *TeamPages) render(w http.ResponseWriter, r *http.Request, status int, v templates.Team) error {
	ctx := r.Context()
	ci, err := h.Domain.Challenge(ctx, viewer(r), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	if ci.Registration == nil {
		SetFlash(w, r, "!Register for the challenge first.")
		SeeOther(w, r, "/c/"+ci.Slug+"/register")
		return nil
	}
	v.Slug, v.Title, v.SizeLimit = ci.Slug, ci.Title, ci.TeamSizeLimit
	if ci.Team != nil {
		v.Name, v.Solo = ci.Team.Name, ci.Team.Solo
		v.Members = v.Members[:0]
		for _, m := range ci.Team.Members {
			v.Members = append(v.Members, m.Username)
		}
	}
	return Render(ctx, w, status, templates.TeamPage(h.Page(r, "Team · "+ci.Title), v))
}

// Create makes a team. POST /c/{slug}/team (name)
func (h *TeamPages) Create(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	name := r.PostFormValue("name")
	_, err := h.Domain.CreateTeam(r.Context(), viewer(r), slug, name)
	if fixable(err) {
		return h.render(w, r, domain.Status(err), templates.Team{Form: templates.Form{Values: map[string]string{"name": name}, General: []string{domain.Message(err)}}})
	} else if err != nil {
		return err
	}
	SetFlash(w, r, "Team created.")
	SeeOther(w, r, "/c/"+slug+"/team")
	return nil
}

// Invite creates an invitation link and shows it once. POST /c/{slug}/team/invite
func (h *TeamPages) Invite(w http.ResponseWriter, r *http.Request) error {
	inv, err := h.Domain.Invite(r.Context(), viewer(r), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, templates.Team{InviteURL: h.BaseURL + "/join/" + inv.Token, InviteExpires: fmtTime(&inv.ExpiresAt)})
}

// Withdraw makes the team's invitation links stop working.
// POST /c/{slug}/team/invitations/withdraw
func (h *TeamPages) Withdraw(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	if err := h.Domain.WithdrawInvitations(r.Context(), viewer(r), slug); err != nil {
		return err
	}
	SetFlash(w, r, "The team's invitation links no longer work.")
	SeeOther(w, r, "/c/"+slug+"/team")
	return nil
}

// Rename renames the team. POST /c/{slug}/team/rename (name)
func (h *TeamPages) Rename(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	_, err := h.Domain.RenameTeam(r.Context(), viewer(r), slug, r.PostFormValue("name"))
	if fixable(err) {
		return h.render(w, r, domain.Status(err), templates.Team{Form: templates.Form{General: []string{domain.Message(err)}}})
	} else if err != nil {
		return err
	}
	SetFlash(w, r, "Team renamed.")
	SeeOther(w, r, "/c/"+slug+"/team")
	return nil
}

// Leave takes the visitor out of the team. POST /c/{slug}/team/leave
func (h *TeamPages) Leave(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	if err := h.Domain.LeaveTeam(r.Context(), viewer(r), slug); err != nil {
		return err
	}
	SetFlash(w, r, "You left the team.")
	SeeOther(w, r, "/c/"+slug+"/team")
	return nil
}

func (h *TeamPages) joinView(r *http.Request, token string) (templates.Join, error) {
	info, err := h.Domain.InvitationFor(r.Context(), viewer(r), token)
	if err != nil {
		return templates.Join{}, err
	}
	v := templates.Join{Token: token, ChallengeSlug: info.Challenge.Slug, ChallengeTitle: info.Challenge.Title,
		Terms: info.Challenge.Terms, TermsHTML: markdown.Render(info.Challenge.Terms), Team: info.Team.Name, Expires: fmtTime(&info.ExpiresAt), Registered: info.Registered}
	for _, m := range info.Team.Members {
		v.Members = append(v.Members, m.Username)
	}
	if info.Registered && !info.Member {
		if t, err := h.Domain.MyTeam(r.Context(), viewer(r), info.Challenge.Slug); err == nil {
			v.CurrentTeam = t.Name
		}
	}
	return v, nil
}

// JoinForm is what an invitation link opens. GET /join/{token}
func (h *TeamPages) JoinForm(w http.ResponseWriter, r *http.Request) error {
	v, err := h.joinView(r, chi.URLParam(r, "token"))
	if err != nil {
		return err
	}
	return Render(r.Context(), w, http.StatusOK, templates.JoinPage(h.Page(r, "Join "+v.Team), v))
}

// Join puts the visitor into the team. POST /join/{token} (accept_terms)
func (h *TeamPages) Join(w http.ResponseWriter, r *http.Request) error {
	token := chi.URLParam(r, "token")
	info, err := h.Domain.InvitationFor(r.Context(), viewer(r), token)
	if err != nil {
		return err
	}
	t, err := h.Domain.JoinTeam(r.Context(), viewer(r), token, r.PostFormValue("accept_terms") == "yes")
	if fixable(err) {
		v, verr := h.joinView(r, token)
		if verr != nil {
			return verr
		}
		v.Error = domain.Message(err)
		return Render(r.Context(), w, domain.Status(err), templates.JoinPage(h.Page(r, "Join "+v.Team), v))
	} else if err != nil {
		return err
	}
	SetFlash(w, r, "You joined team "+t.Name+".")
	SeeOther(w, r, "/c/"+info.Challenge.Slug+"/team")
	return nil
}
