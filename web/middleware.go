package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/srarena/srarena/handlers"
)

// reqInfo is filled in as the request passes the middleware, for its log
// line and its error page.
type reqInfo struct {
	id     string
	userID int64
}

type reqInfoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestLog logs one line per request with a request id, which error pages
// show so a participant can quote it to the organizers.
func requestLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var b [8]byte
			rand.Read(b[:])
			ri := &reqInfo{id: hex.EncodeToString(b[:])}
			w.Header().Set("X-Request-Id", ri.id)
			sw := &statusWriter{ResponseWriter: w}
			start := time.Now()
			next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri)))
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			// The query string is left out: it is not needed to debug and
			// should never carry secrets into logs.
			log.LogAttrs(r.Context(), level, "http",
				slog.String("id", ri.id), slog.String("method", r.Method), slog.String("path", r.URL.Path),
				slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes),
				slog.Duration("took", time.Since(start)), slog.Int64("user", ri.userID))
		})
	}
}

// recoverer turns a panic into a 500 page and a log line with the stack.
func recoverer(ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				rec := recover()
				if rec == nil {
					return
				}
				if rec == http.ErrAbortHandler {
					panic(rec)
				}
				ea.log.ErrorContext(r.Context(), "panic", "id", infoFrom(r.Context()).id,
					"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
				if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
					return // too late for an error page
				}
				ea.serve(w, r, fmt.Errorf("panic: %v", rec))
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// securityHeaders: no inline script or style, no framing, no MIME sniffing,
// no Referer to other sites.
func securityHeaders(hsts bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// crossOrigin refuses non-safe requests that browsers mark as cross-site
// (Sec-Fetch-Site) or whose Origin is another host.
func crossOrigin(cop *http.CrossOriginProtection, ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := cop.Check(r); err != nil {
				ea.serve(w, r, &handlers.Error{Status: http.StatusForbidden,
					Msg: "This request came from another site and was refused (cross-origin protection).", Err: err})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// maxFormBytes caps url-encoded form bodies.
const maxFormBytes = 1 << 20

var errCSRF = &handlers.Error{Status: http.StatusForbidden,
	Msg: "The form was stale or forged (CSRF check failed). Reload the page and submit it again."}

// csrfForm checks the csrf_token form field (or X-CSRF-Token header) of
// every non-safe request against the visitor's token, in constant time.
// Multipart bodies are refused here: only the upload route, which checks
// the token as it streams, accepts them.
func csrfForm(ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if safeMethod(r.Method) {
				next.ServeHTTP(w, r)
				return
			}
			tok := r.Header.Get("X-CSRF-Token")
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
				if tok == "" {
					ea.serve(w, r, handlers.Errorf(http.StatusUnsupportedMediaType, "This form does not accept file uploads."))
					return
				}
			} else {
				// Parsed here, whether or not the token came in a header, so
				// that every field is checked before a handler sees it.
				r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
				r.ParseForm() //nolint:errcheck // a malformed body has no token and fails below
				if !cleanValues(r.PostForm) {
					ea.serve(w, r, errBadBytes)
					return
				}
				if tok == "" {
					tok = r.PostForm.Get("csrf_token")
				}
			}
			if !tokenOK(r, tok) {
				ea.serve(w, r, errCSRF)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// csrfStreamed guards the streamed upload: a header token is checked here;
// otherwise the body must be multipart, whose first part the handler checks
// before it stores anything.
func csrfStreamed(ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tok := r.Header.Get("X-CSRF-Token"); tok != "" {
				if !tokenOK(r, tok) {
					ea.serve(w, r, errCSRF)
					return
				}
			} else if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "multipart/form-data" {
				ea.serve(w, r, errCSRF)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func tokenOK(r *http.Request, tok string) bool {
	want := handlers.VisitorFrom(r.Context()).CSRF
	return want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1
}

// requireUser sends anonymous visitors to the login page, coming back here
// afterwards (for a refused POST: to the page the form was on).
func requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handlers.VisitorFrom(r.Context()).User != nil {
			next.ServeHTTP(w, r)
			return
		}
		back := r.URL.RequestURI()
		if !safeMethod(r.Method) {
			back = "/"
			if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host {
				back = ref.RequestURI()
			}
			handlers.SetFlash(w, r, "!Log in first. Nothing was submitted.")
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(back), http.StatusSeeOther)
	})
}

// requireAdmin lets only admins through; others get a 404, so admin pages
// do not advertise themselves. For the organizer routes.
func requireAdmin(ea *errorAdapter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u := handlers.VisitorFrom(r.Context()).User; u == nil || !u.IsAdmin {
				ea.serve(w, r, handlers.ErrNotFound)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
