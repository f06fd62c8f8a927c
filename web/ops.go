package web

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/srarena/srarena/metrics"
)

// RiverUIPath is where River's own UI is mounted, for site admins only.
const RiverUIPath = "/admin/river"

// observeHTTP records each request's latency under its chi route pattern
// (known once routing is done), never the raw path: /submissions/17 and
// /submissions/18 are one series.
func observeHTTP(m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			route := ""
			if rc := chi.RouteContext(r.Context()); rc != nil {
				route = rc.RoutePattern()
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			m.ObserveHTTP(route, r.Method, status, time.Since(start))
		})
	}
}

// queueUI is River's UI (riverqueue.com/riverui) on the web process's
// River client: its job list, queues and actions on jobs, instead of a
// job browser of our own. Its background services start with the server.
type queueUI struct {
	h     *riverui.Handler
	once  sync.Once
	start error
}

func newQueueUI(c *river.Client[pgx.Tx], log *slog.Logger) (*queueUI, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(c, nil),
		Logger:    log,
		Prefix:    RiverUIPath,
		// Job arguments are submission ids only, but hide them by default
		// anyway: the list is for queue health.
		JobListHideArgsByDefault: true,
	})
	if err != nil {
		return nil, err
	}
	return &queueUI{h: h}, nil
}

// Start starts the UI's background services until ctx ends (once).
func (q *queueUI) Start(ctx context.Context) error {
	q.once.Do(func() { q.start = q.h.Start(ctx) })
	return q.start
}

// riverUIHeaders loosens the site's CSP for River's single-page app only:
// its React components set inline styles.
func riverUIHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'")
		next.ServeHTTP(w, r)
	})
}

// StartQueueUI starts River's UI's background services until ctx ends;
// Serve calls it, tests that use Handler call it themselves.
func (s *Server) StartQueueUI(ctx context.Context) error {
	if s.queueUI == nil {
		return nil
	}
	return s.queueUI.Start(ctx)
}
