package web

import (
	"net/http"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/pagecache"
)

// loadIfCookie is sessions.load for public read-only pages, but only when
// the request carries a session or flash cookie: an anonymous reader gets
// no cookie (no CSRF token either — these pages have no forms), so the
// response is the same bytes for everyone and can be cached and shared.
func (s *sessions) loadIfCookie(next http.Handler) http.Handler {
	load := s.load(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasCookie(r, sessionCookie) || hasCookie(r, handlers.FlashCookie) {
			load.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(handlers.WithVisitor(r.Context(), &handlers.Visitor{Secure: s.secure})))
	})
}

func hasCookie(r *http.Request, name string) bool {
	_, err := r.Cookie(name)
	return err == nil
}

// maxCachedPages bounds the public page cache: pages × challenges × sort
// orders.
const maxCachedPages = 4096

func newPageCache(d Deps) (*pagecache.Versions, *pagecache.Cache) {
	v := pagecache.NewVersions(d.Store.Pool(), d.Log)
	return v, pagecache.New(v, maxCachedPages)
}
