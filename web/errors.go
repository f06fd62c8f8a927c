package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// errorAdapter is the one place handler errors become HTTP statuses, error
// pages (or JSON for .json routes) and, for server faults, log lines.
type errorAdapter struct {
	log  *slog.Logger
	base *handlers.Base
}

// wrap adapts an error-returning handler.
func (ea *errorAdapter) wrap(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			ea.serve(w, r, err)
		}
	}
}

var headings = map[int]string{
	http.StatusBadRequest:            "Bad request",
	http.StatusUnauthorized:          "Please log in",
	http.StatusForbidden:             "Refused",
	http.StatusNotFound:              "Not found",
	http.StatusMethodNotAllowed:      "Method not allowed",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "Too large",
	http.StatusUnsupportedMediaType:  "Unsupported form",
	http.StatusTooManyRequests:       "Too many requests",
	http.StatusServiceUnavailable:    "Unavailable",
}

func (ea *errorAdapter) serve(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	status, msg := http.StatusInternalServerError, ""
	var he *handlers.Error
	var de *domain.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		status, msg = he.Status, he.Msg
	case errors.As(err, &de):
		status, msg = domain.Status(err), de.Msg
		if de.Kind == domain.KindNotFound && msg == "" {
			msg = handlers.ErrNotFound.Msg
		}
	case errors.Is(err, store.ErrNotFound):
		status, msg = http.StatusNotFound, handlers.ErrNotFound.Msg
	case errors.Is(err, store.ErrConflict):
		status, msg = http.StatusConflict, "That already exists."
	case errors.As(err, &mbe):
		status, msg = http.StatusRequestEntityTooLarge, "The request body is too large."
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The client went away; there is nobody to answer.
		ea.log.DebugContext(ctx, "request cancelled", "id", infoFrom(ctx).id, "error", err)
		return
	}
	id := infoFrom(ctx).id
	if status >= 500 {
		ea.log.ErrorContext(ctx, "request failed", "id", id, "method", r.Method, "path", r.URL.Path, "error", err)
		msg = "Something went wrong on our side. It has been logged; quote request id " + id + " if you report it."
	}
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized && isAPI(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="srarena"`)
	}
	if isAPI(r) || strings.HasSuffix(r.URL.Path, ".json") || strings.Contains(r.Header.Get("Accept"), "application/json") {
		handlers.WriteJSON(w, status, map[string]any{"error": msg, "status": status, "request_id": id}) //nolint:errcheck
		return
	}
	heading := headings[status]
	if heading == "" {
		heading = http.StatusText(status)
	}
	if status >= 500 {
		heading = "Server error"
	}
	page := templates.ErrorPage(ea.base.Page(r, heading), templates.Error{Status: status, Heading: heading, Detail: msg})
	if rerr := handlers.Render(ctx, w, status, page); rerr != nil {
		ea.log.ErrorContext(ctx, "render error page", "id", id, "error", rerr)
		http.Error(w, msg, status)
	}
}

// isAPI: /api/ answers are always JSON.
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }
