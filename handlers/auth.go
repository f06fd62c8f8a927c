package handlers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// Bans tells the login whether an account is banned (store.Store).
type Bans interface {
	BanOf(ctx context.Context, userID int64) (store.Ban, error)
}

// Users is the part of the store sign-up and login use.
type Users interface {
	CreateUser(ctx context.Context, email, username, passwordHash string) (store.User, error)
	UserByLogin(ctx context.Context, login string) (store.User, error)
}

// Sessions starts and ends browser sessions; web implements it, since the
// cookie's settings are the server's.
type Sessions interface {
	Start(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64) error
	End(ctx context.Context, w http.ResponseWriter, r *http.Request) error
}

// Auth serves sign-up, login and logout.
type Auth struct {
	*Base
	Users Users
	// Bans, when set, refuses banned accounts at login with their reason.
	Bans     Bans
	Sessions Sessions
	Hasher   *Hasher
	// Throttle limits failed logins; nil means no limit.
	Throttle *LoginThrottle
	// Signups limits sign-ups per IP; nil means no limit.
	Signups *SignupThrottle
	// DemoLogin lets the demo account (DemoEmail) log in: only `srarena
	// up` on a loopback address with its private database sets it.
	DemoLogin bool
}

// DemoEmail is the demo account's address; the account logs in only where
// DemoLogin is set, so its well-known password is worthless on a served
// site even if the account exists in the database.
const DemoEmail = "demo@srarena.localhost"

// IsDemo reports whether u is the demo account.
func IsDemo(u *store.User) bool { return u != nil && strings.EqualFold(u.Email, DemoEmail) }

var errDemo = &Error{Status: http.StatusForbidden,
	Msg: "The demo account logs in only while `srarena up` runs on a loopback address with its private database; this server refuses it."}

// errBusy is what a request gets when all password-hashing slots stayed
// taken: retrying shortly is the right reaction.
var errBusy = &Error{Status: http.StatusServiceUnavailable, Msg: "The server is busy right now; please try again in a moment."}

func hashErr(err error) error {
	if errors.Is(err, ErrHasherBusy) {
		return &Error{Status: errBusy.Status, Msg: errBusy.Msg, Err: err}
	}
	return err
}

// clientIP is the connection's address. It is not taken from
// X-Forwarded-For: behind a proxy every client has the proxy's address, which
// is why the per-IP login limit is generous (LoginFailuresPerIP).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// MinPassword is the shortest accepted password, in characters.
const MinPassword = 10

var usernameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{2,40}$`)

// ValidUsername reports whether name is an acceptable username.
func ValidUsername(name string) bool { return usernameRE.MatchString(name) }

// SignupForm shows the sign-up page. GET /signup
func (h *Auth) SignupForm(w http.ResponseWriter, r *http.Request) error {
	return Render(r.Context(), w, http.StatusOK, templates.SignupPage(h.Page(r, "Sign up"), templates.Signup{}))
}

// SignupDone is the answer to every valid sign-up form, whether it created
// an account or not.
const SignupDone = "If that username and email address were free, your account now exists: log in with them below. " +
	"If logging in fails, one of them was taken already: log in to your existing account, or sign up with another username."

// Signup creates an account. POST /signup
func (h *Auth) Signup(w http.ResponseWriter, r *http.Request) error {
	f := templates.Form{
		Values: map[string]string{
			"email":    strings.TrimSpace(r.PostFormValue("email")),
			"username": strings.TrimSpace(r.PostFormValue("username")),
		},
		Errors: map[string]string{},
	}
	password := r.PostFormValue("password")
	email, username := f.Values["email"], f.Values["username"]
	if len(email) > maxLogin {
		f.Values["email"] = ""
		f.Errors["email"] = "Enter an email address like name@example.org."
	} else if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		f.Errors["email"] = "Enter an email address like name@example.org."
	}
	if !usernameRE.MatchString(username) {
		if len(username) > maxLogin {
			f.Values["username"] = ""
		}
		f.Errors["username"] = "Use 2 to 40 letters, digits, '_', '.' or '-'."
	}
	if len(password) > maxPassword {
		f.Errors["password"] = "Use at most 1024 bytes."
	} else if n := utf8.RuneCountInString(password); n < MinPassword {
		f.Errors["password"] = "Use at least 10 characters."
	}
	if len(f.Errors) == 0 && h.Signups != nil {
		// Only a valid form gets this far: typos cost no allowance.
		ipKey := clientIP(r)
		blocked, wait, err := h.Signups.byIP.Blocked(r.Context(), ipKey)
		if err != nil {
			return err
		}
		if blocked {
			f.General = []string{fmt.Sprintf("Too many sign-ups from your network address; try again in %d minutes.", minutesLeft(wait))}
			return Render(r.Context(), w, http.StatusTooManyRequests,
				templates.SignupPage(h.Page(r, "Sign up"), templates.Signup{Form: f}))
		}
		if _, err := h.Signups.byIP.Add(r.Context(), ipKey); err != nil {
			return err
		}
	}
	if len(f.Errors) == 0 {
		hash, err := h.Hasher.HashContext(r.Context(), password)
		if err != nil {
			return hashErr(err)
		}
		_, err = h.Users.CreateUser(r.Context(), email, username, hash)
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		// A new account and a taken email or username get the same answer
		// (same status, same page, no session), so the form does not tell a
		// stranger which emails and usernames exist; the existing account
		// is left untouched. The price is one more step for a newcomer:
		// logging in, which is where a taken name shows.
		SetFlash(w, r, SignupDone)
		SeeOther(w, r, "/login?next=%2F")
		return nil
	}
	return Render(r.Context(), w, http.StatusUnprocessableEntity,
		templates.SignupPage(h.Page(r, "Sign up"), templates.Signup{Form: f}))
}

// LoginForm shows the login page. GET /login
func (h *Auth) LoginForm(w http.ResponseWriter, r *http.Request) error {
	return Render(r.Context(), w, http.StatusOK,
		templates.LoginPage(h.Page(r, "Log in"), templates.Login{Next: safeNext(r.URL.Query().Get("next"))}))
}

// Login checks the credentials and starts a session. POST /login
func (h *Auth) Login(w http.ResponseWriter, r *http.Request) error {
	login := strings.TrimSpace(r.PostFormValue("login"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	// Over-long values are refused before any hashing and before they
	// become throttle keys (a 1 MiB login kept for 15 minutes per request).
	// No account has such a name or password, so this reveals nothing.
	if len(login) > maxLogin || len(password) > maxPassword {
		f := templates.Form{General: []string{"Wrong username, email or password."}}
		return Render(r.Context(), w, http.StatusUnprocessableEntity,
			templates.LoginPage(h.Page(r, "Log in"), templates.Login{Form: f, Next: next}))
	}
	ipKey := clientIP(r)
	nameKey := nameIPKey(strings.ToLower(login), ipKey)
	// Refuse before hashing: a throttled client costs no argon2 work. The
	// same answer for a known and an unknown name.
	if h.Throttle != nil {
		blockedIP, waitIP, err := h.Throttle.byIP.Blocked(r.Context(), ipKey)
		if err != nil {
			return err
		}
		blockedName, waitName, err := h.Throttle.byNameIP.Blocked(r.Context(), nameKey)
		if err != nil {
			return err
		}
		if blockedIP || blockedName {
			f := templates.Form{
				Values:  map[string]string{"login": login},
				General: []string{fmt.Sprintf("Too many failed login attempts; try again in %d minutes.", minutesLeft(max(waitIP, waitName)))},
			}
			return Render(r.Context(), w, http.StatusTooManyRequests,
				templates.LoginPage(h.Page(r, "Log in"), templates.Login{Form: f, Next: next}))
		}
	}
	u, err := h.Users.UserByLogin(r.Context(), login)
	if err == nil && IsDemo(&u) && !h.DemoLogin {
		return errDemo
	}
	ok := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Same work as for a known user, so timing does not reveal which
		// accounts exist.
		if err := h.Hasher.VerifyDummy(r.Context(), password); err != nil {
			return hashErr(err)
		}
	case err != nil:
		return err
	default:
		ok, err = h.Hasher.VerifyContext(r.Context(), password, u.PasswordHash)
		if err != nil {
			return hashErr(err)
		}
	}
	if !ok {
		if h.Throttle != nil {
			if _, err := h.Throttle.byIP.Add(r.Context(), ipKey); err != nil {
				return err
			}
			if _, err := h.Throttle.byNameIP.Add(r.Context(), nameKey); err != nil {
				return err
			}
		}
		f := templates.Form{
			Values:  map[string]string{"login": login},
			General: []string{"Wrong username, email or password."},
		}
		return Render(r.Context(), w, http.StatusUnauthorized,
			templates.LoginPage(h.Page(r, "Log in"), templates.Login{Form: f, Next: next}))
	}
	if h.Throttle != nil {
		// The name's failures from this address were someone guessing or
		// the owner typing; either way the owner is in now. The address
		// keeps its count, so one valid account cannot reset an address
		// that tries many others.
		if err := h.Throttle.byNameIP.Reset(r.Context(), nameKey); err != nil {
			return err
		}
	}
	// A banned account learns why, but only with its right password:
	// the reason is no one else's business.
	if h.Bans != nil {
		b, err := h.Bans.BanOf(r.Context(), u.ID)
		if err != nil {
			return err
		}
		if b.Banned {
			f := templates.Form{Values: map[string]string{"login": login},
				General: []string{"This account is banned by the site admins: " + b.Reason}}
			return Render(r.Context(), w, http.StatusForbidden,
				templates.LoginPage(h.Page(r, "Log in"), templates.Login{Form: f, Next: next}))
		}
	}
	if err := h.Sessions.Start(r.Context(), w, r, u.ID); err != nil {
		return err
	}
	SeeOther(w, r, next)
	return nil
}

// Logout ends the session. POST /logout
func (h *Auth) Logout(w http.ResponseWriter, r *http.Request) error {
	if err := h.Sessions.End(r.Context(), w, r); err != nil {
		return err
	}
	SetFlash(w, r, "You are logged out.")
	SeeOther(w, r, "/")
	return nil
}
