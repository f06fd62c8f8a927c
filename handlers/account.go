package handlers

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/internal/apitoken"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// TokenStore is the part of the store the profile page uses.
type TokenStore interface {
	CreateAPIToken(ctx context.Context, userID int64, name string, tokenHash []byte) (store.APIToken, error)
	APITokensOfUser(ctx context.Context, userID int64) ([]store.APIToken, error)
	RevokeAPIToken(ctx context.Context, userID, id int64) error
}

// Account serves the profile page and its personal access tokens.
type Account struct {
	*Base
	Store TokenStore
	// Server is the site's base URL, shown in the login command.
	Server string
}

// MaxTokensPerUser bounds a user's active tokens.
const MaxTokensPerUser = 20

func (h *Account) render(w http.ResponseWriter, r *http.Request, status int, v templates.Account) error {
	u := VisitorFrom(r.Context()).User
	toks, err := h.Store.APITokensOfUser(r.Context(), u.ID)
	if err != nil {
		return err
	}
	v.Username, v.Email, v.Server = u.Username, u.Email, h.Server
	for _, t := range toks {
		v.Tokens = append(v.Tokens, templates.Token{ID: t.ID, Name: t.Name, Created: fmtTime(&t.CreatedAt),
			LastUsed: fmtTime(t.LastUsedAt), Revoked: fmtTime(t.RevokedAt)})
	}
	// The page may carry a token: never cache it.
	w.Header().Set("Cache-Control", "no-store")
	return Render(r.Context(), w, status, templates.AccountPage(h.Page(r, "Your account"), v))
}

// Show is the profile page. GET /account
func (h *Account) Show(w http.ResponseWriter, r *http.Request) error {
	return h.render(w, r, http.StatusOK, templates.Account{})
}

// CreateToken makes a token and shows it once, in the answer itself (not
// through a redirect and a cookie). POST /account/tokens
func (h *Account) CreateToken(w http.ResponseWriter, r *http.Request) error {
	u := VisitorFrom(r.Context()).User
	name := strings.TrimSpace(r.PostFormValue("name"))
	f := templates.Form{Values: map[string]string{"name": name}, Errors: map[string]string{}}
	switch {
	case name == "":
		f.Errors["name"] = "Name the token after where you will use it, e.g. “laptop” or “CI”."
	case len(name) > apitoken.MaxName || !utf8.ValidString(name):
		f.Errors["name"] = "Use at most 100 characters."
	}
	if len(f.Errors) == 0 {
		toks, err := h.Store.APITokensOfUser(r.Context(), u.ID)
		if err != nil {
			return err
		}
		active := 0
		for _, t := range toks {
			if t.RevokedAt == nil {
				active++
			}
		}
		if active >= MaxTokensPerUser {
			f.General = []string{"You have " + strconv.Itoa(active) + " active tokens, the most allowed; revoke one you no longer use first."}
		}
	}
	if len(f.Errors) > 0 || len(f.General) > 0 {
		return h.render(w, r, http.StatusUnprocessableEntity, templates.Account{Form: f})
	}
	tok, hash, err := apitoken.New()
	if err != nil {
		return err
	}
	if _, err := h.Store.CreateAPIToken(r.Context(), u.ID, name, hash); err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, templates.Account{NewToken: tok, NewTokenName: name})
}

// RevokeToken revokes one of the user's tokens; another user's token is a
// 404. POST /account/tokens/{id}/revoke
func (h *Account) RevokeToken(w http.ResponseWriter, r *http.Request) error {
	u := VisitorFrom(r.Context()).User
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return ErrNotFound
	}
	if err := h.Store.RevokeAPIToken(r.Context(), u.ID, id); err != nil {
		return notFoundAs(err)
	}
	SetFlash(w, r, "Token revoked: it no longer works.")
	SeeOther(w, r, "/account#tokens")
	return nil
}
