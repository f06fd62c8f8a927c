package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/internal/apitoken"
	"github.com/srarena/srarena/store"
)

// apiAuth authenticates /api/v1 requests by `Authorization: Bearer TOKEN`
// alone. Session cookies are ignored there: a cookie is sent by the browser
// on its own, so a cookie-authenticated API would need CSRF checks; a token
// is sent only by a client that holds it, so token requests need none. A
// request without a token is anonymous; a bad, unknown or revoked token is
// refused (401) rather than served anonymously, so a client learns at once
// that its token no longer works.
func (s *Server) apiAuth(st *store.Store, ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			v := &handlers.Visitor{}
			if h := r.Header.Get("Authorization"); h != "" {
				scheme, tok, _ := strings.Cut(h, " ")
				tok = strings.TrimSpace(tok)
				if !strings.EqualFold(scheme, "Bearer") || !apitoken.WellFormed(tok) {
					ea.serve(w, r, s.errToken("The Authorization header must be “Bearer TOKEN” with a token from your account page."))
					return
				}
				u, _, err := st.UserByAPIToken(ctx, apitoken.Hash(tok))
				switch {
				case errors.Is(err, store.ErrNotFound):
					if b, berr := st.BanOfToken(ctx, apitoken.Hash(tok)); berr == nil && b.Banned {
						ea.serve(w, r, handlers.Errorf(http.StatusUnauthorized, "This account is banned by the site admins: %s", b.Reason))
						return
					}
					ea.serve(w, r, s.errToken("This access token is unknown or was revoked."))
					return
				case err != nil:
					ea.serve(w, r, err)
					return
				}
				if handlers.IsDemo(&u) && !s.cfg.DemoLogin {
					ea.serve(w, r, s.errToken("The demo account's tokens work only under `srarena up` on a loopback address."))
					return
				}
				v.User = &u
				infoFrom(ctx).userID = u.ID
			}
			next.ServeHTTP(w, r.WithContext(handlers.WithVisitor(ctx, v)))
		})
	}
}

func (s *Server) errToken(why string) error {
	return handlers.Errorf(http.StatusUnauthorized, "%s Create a token at %s/account#tokens and run `srarena login --server %s --token TOKEN`.",
		why, s.publicURL(), s.publicURL())
}

// requireToken refuses anonymous API requests with a 401 that says how to
// get a token.
func (s *Server) requireToken(ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if handlers.VisitorFrom(r.Context()).User == nil {
				ea.serve(w, r, s.errToken("This needs an access token (browser cookies do not count here)."))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
