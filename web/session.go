package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/store"
)

const (
	sessionCookie = "srarena_session"
	// anonCSRFCookie carries the CSRF token of visitors without a session
	// (the sign-up and login forms): a double-submit token, HttpOnly.
	anonCSRFCookie = "srarena_csrf"
)

// sessions keeps logins in Postgres: the cookie holds a random 32-byte
// token, the table only its sha256, so a leaked dump logs nobody in.
type sessions struct {
	store  *store.Store
	ttl    time.Duration
	secure bool
	log    *slog.Logger
	// demo: the demo account's sessions count (see handlers.DemoEmail).
	demo bool
}

func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("session: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

func (s *sessions) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
}

// load puts the request's Visitor into its context.
func (s *sessions) load(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		v := &handlers.Visitor{Secure: s.secure}
		if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) == 43 {
			ss, err := s.store.SessionByTokenHash(ctx, hashToken(c.Value))
			switch {
			case err == nil && handlers.IsDemo(&ss.User) && !s.demo:
				// A session made under `srarena up` does not carry over to a
				// server that refuses the demo login.
				http.SetCookie(w, s.cookie(sessionCookie, "", -1))
			case err == nil:
				v.User, v.CSRF = &ss.User, ss.CSRFToken
				infoFrom(ctx).userID = ss.User.ID
			case errors.Is(err, store.ErrNotFound):
				http.SetCookie(w, s.cookie(sessionCookie, "", -1))
			default:
				// The database is down: serve the page anonymously rather
				// than fail every request; forms will fail their CSRF check.
				s.log.ErrorContext(ctx, "session: load", "error", err)
			}
		}
		if v.User == nil {
			if c, err := r.Cookie(anonCSRFCookie); err == nil && len(c.Value) == 43 {
				v.CSRF = c.Value
			} else if tok, err := newToken(); err == nil {
				v.CSRF = tok
				http.SetCookie(w, s.cookie(anonCSRFCookie, tok, 0))
			}
		}
		if c, err := r.Cookie(handlers.FlashCookie); err == nil {
			if msg, err := url.QueryUnescape(c.Value); err == nil && len(msg) <= 300 {
				v.Flash = msg
			}
			http.SetCookie(w, s.cookie(handlers.FlashCookie, "", -1))
		}
		next.ServeHTTP(w, r.WithContext(handlers.WithVisitor(ctx, v)))
	})
}

// Start implements handlers.Sessions: a new session (and so a new CSRF
// token) on every login, so a token planted before login is worthless.
func (s *sessions) Start(ctx context.Context, w http.ResponseWriter, r *http.Request, userID int64) error {
	if err := s.End(ctx, w, r); err != nil {
		return err
	}
	tok, err := newToken()
	if err != nil {
		return err
	}
	csrf, err := newToken()
	if err != nil {
		return err
	}
	if err := s.store.CreateSession(ctx, hashToken(tok), userID, csrf, time.Now().Add(s.ttl)); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	http.SetCookie(w, s.cookie(sessionCookie, tok, int(s.ttl/time.Second)))
	return nil
}

// End implements handlers.Sessions.
func (s *sessions) End(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	if err := s.store.DeleteSession(ctx, hashToken(c.Value)); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	return nil
}
