package domain

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind classifies a domain error; the HTML and JSON layers map it to a
// status code with Status.
type Kind int

// The kinds of domain errors.
const (
	KindInternal        Kind = iota // not a domain error: a failure of the platform
	KindNotFound                    // nothing there, or nothing the viewer may see (indistinguishable on purpose)
	KindUnauthenticated             // the action needs a signed-in user
	KindForbidden                   // signed in, but not allowed (not registered, not approved, not a member)
	KindConflict                    // the state forbids it (already registered, name taken, already ended)
	KindQuota                       // a submission quota is used up; Error.ResetAt says when a slot frees
	KindWindow                      // outside the phase's window; the message gives the window
	KindInvalid                     // the input is wrong (a name too long, terms not accepted)
)

// Error is a refusal with a message a person can act on. Msg is safe to
// show to the viewer.
type Error struct {
	Kind Kind
	Msg  string
	// ResetAt, for KindQuota, is when the next slot frees (nil when no
	// time is known: the total quota, or a running evaluation must end).
	ResetAt *time.Time
	Err     error // the cause, for logs; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches errors of the same kind: errors.Is(err, domain.ErrNotFound).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Msg == "" && t.Kind == e.Kind
}

// Sentinels for errors.Is; each matches every error of its kind.
var (
	ErrNotFound        = &Error{Kind: KindNotFound}
	ErrUnauthenticated = &Error{Kind: KindUnauthenticated}
	ErrForbidden       = &Error{Kind: KindForbidden}
	ErrConflict        = &Error{Kind: KindConflict}
	ErrQuota           = &Error{Kind: KindQuota}
	ErrWindow          = &Error{Kind: KindWindow}
	ErrInvalid         = &Error{Kind: KindInvalid}
)

func newErr(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// notFound is the one message for anything missing or not the viewer's.
func notFound(cause error) *Error {
	return &Error{Kind: KindNotFound, Msg: "There is nothing here.", Err: cause}
}

// KindOf returns the kind of err's domain error, KindInternal for others.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// Status is the HTTP status of err: the one mapping the HTML pages and the
// JSON API share.
func Status(err error) int {
	switch KindOf(err) {
	case KindNotFound:
		return http.StatusNotFound
	case KindUnauthenticated:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindConflict:
		return http.StatusConflict
	case KindQuota:
		return http.StatusTooManyRequests
	case KindWindow:
		return http.StatusForbidden
	case KindInvalid:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// Message is err's text for the viewer: a domain error's Msg, else a
// generic sentence (details of internal errors go to logs only).
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return "Something went wrong on our side; please try again."
}
