// Package handlers holds srarena's page and resource handlers, one file per
// page or resource. Each handler parses the request, calls the store (or the
// model check), and renders a templ component or redirects; it returns an
// error that web's adapter turns into a status and an error page. Handlers
// declare small interfaces for what they use, so the wiring lives in web.
package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// Visitor is what web's session middleware learned about the request: the
// signed-in user (nil when anonymous), the CSRF token forms must carry, a
// flash message to show once, and whether cookies must be Secure.
type Visitor struct {
	User   *store.User
	CSRF   string
	Flash  string
	Secure bool
}

type visitorKey struct{}

// WithVisitor returns ctx carrying v.
func WithVisitor(ctx context.Context, v *Visitor) context.Context {
	return context.WithValue(ctx, visitorKey{}, v)
}

// VisitorFrom returns the request's visitor; never nil.
func VisitorFrom(ctx context.Context) *Visitor {
	if v, ok := ctx.Value(visitorKey{}).(*Visitor); ok && v != nil {
		return v
	}
	return &Visitor{}
}

// viewer is the request's visitor as the domain layer sees them.
func viewer(r *http.Request) domain.Viewer {
	return domain.ViewerOf(VisitorFrom(r.Context()).User)
}

// Error is an error with an HTTP status and a message safe to show. Other
// errors become 500 with a generic message (and a log line).
type Error struct {
	Status int
	Msg    string
	Err    error // the cause, for logs; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted public message.
func Errorf(status int, format string, args ...any) error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// ErrNotFound is the 404 that access control returns, so that someone else's
// submission is indistinguishable from a missing one.
var ErrNotFound = &Error{Status: http.StatusNotFound, Msg: "There is nothing here."}

// Assets are the hashed URLs of the stylesheet and script.
type Assets struct{ CSS, JS string }

// Base is what every handler shares.
type Base struct {
	Log    *slog.Logger
	Assets Assets
	Now    func() time.Time // nil: time.Now
}

func (b *Base) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Page builds the layout's view for the request.
func (b *Base) Page(r *http.Request, title string) templates.Page {
	v := VisitorFrom(r.Context())
	p := templates.Page{Title: title, CSRF: v.CSRF, Flash: v.Flash, CSS: b.Assets.CSS, JS: b.Assets.JS}
	if strings.HasPrefix(v.Flash, "!") {
		p.Flash, p.FlashError = v.Flash[1:], true
	}
	if v.User != nil {
		p.User = &templates.User{Username: v.User.Username, IsAdmin: v.User.IsAdmin}
	}
	return p
}

// Render writes c with status. It renders into a buffer first, so a template
// failure still yields a clean 500 instead of half a page.
func Render(ctx context.Context, w http.ResponseWriter, status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	if err != nil {
		return fmt.Errorf("render: write: %w", err)
	}
	return nil
}

// FlashCookie is the cookie carrying a one-shot message across a redirect.
const FlashCookie = "srarena_flash"

// SetFlash shows msg on the next page; a leading "!" marks an error.
func SetFlash(w http.ResponseWriter, r *http.Request, msg string) {
	http.SetCookie(w, &http.Cookie{
		Name: FlashCookie, Value: url.QueryEscape(msg), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: VisitorFrom(r.Context()).Secure, SameSite: http.SameSiteLaxMode,
	})
}

// SeeOther redirects after a successful POST.
func SeeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site: a local path, never a
// scheme-relative or absolute URL. Browsers strip tabs and newlines from URLs
// and treat "\\" like "/", so "/\t/evil.example" or "/\\evil.example" would
// leave the site: any control byte or backslash is refused outright, and what
// remains must parse as a URL with no scheme and no host whose path starts
// with exactly one "/".
func safeNext(next string) string {
	if next == "" || len(next) > 2048 {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

// NotFoundAs maps store.ErrNotFound to the public 404, keeping other errors.
func notFoundAs(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Msg: ErrNotFound.Msg, Err: err}
	}
	return err
}

const timeLayout = domain.TimeLayout

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(timeLayout)
}
