// Package web assembles srarena's HTTP server: the one route table, the
// middleware (request log, panic recovery, security headers, sessions,
// CSRF, auth), the adapter that turns handler errors into status pages,
// hashed static assets, and graceful shutdown.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/metrics"
	"github.com/srarena/srarena/pagecache"
	"github.com/srarena/srarena/static"
	"github.com/srarena/srarena/store"
)

// Config is the web server's part of the platform configuration.
type Config struct {
	// Addr is the listen address, for example ":8080".
	Addr string
	// BaseURL is the public URL of the site, for example
	// "https://sr.example.org". Cookies are Secure when it is https, unless
	// SecureCookies says otherwise.
	BaseURL string
	// SecureCookies overrides the Secure flag of cookies; nil derives it
	// from BaseURL.
	SecureCookies *bool
	// SessionTTL is how long a login lasts; 0 means 30 days.
	SessionTTL time.Duration
	// Argon2 sets password hashing cost; zero means handlers.DefaultArgon2.
	Argon2 handlers.Argon2Params
	// TrustedOrigins are other origins (scheme://host[:port]) allowed to
	// POST, for example a second hostname of the same site.
	TrustedOrigins []string
	// ReadHeaderTimeout bounds reading a request's headers; 0 means
	// DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration
	// BodyGrace and MinBodyRate bound reading a body: it must arrive at
	// MinBodyRate bytes/s on average after BodyGrace; 0 means the defaults.
	BodyGrace   time.Duration
	MinBodyRate int
	// IdleTimeout closes idle keep-alive connections; 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxConnsPerIP caps one client address's open connections; 0 means
	// DefaultMaxConnsPerIP, negative turns the cap off (behind a proxy).
	MaxConnsPerIP int
	// TrustedProxies are reverse proxies whose X-Forwarded-For names the
	// client (see fromTrustedProxy); empty trusts none.
	TrustedProxies []netip.Prefix
	// DemoLogin lets the demo account log in (see handlers.DemoEmail);
	// only `srarena up` on loopback with its private database sets it.
	DemoLogin bool
	// MetricsToken and MetricsAllow say who may read /metrics: a bearer
	// token, client networks; neither set, nobody (404).
	MetricsToken string
	MetricsAllow []netip.Prefix
	// UploadSlotWait is how long an upload waits for one of the
	// handlers.UploadInspections slots before it gets 503; 0 means
	// handlers.UploadSlotWait (30 s).
	UploadSlotWait time.Duration
	// AnalysesPerIP caps runtime analyses (the /analysis form and POST
	// /api/v1/analysis) per client address per handlers.AnalysisWindow,
	// across processes; 0 means handlers.AnalysesPerIP, negative turns
	// the limit off.
	AnalysesPerIP int
}

func (c Config) analysesPerIP() int {
	if c.AnalysesPerIP == 0 {
		return handlers.AnalysesPerIP
	}
	return c.AnalysesPerIP
}

func (c Config) secure() bool {
	if c.SecureCookies != nil {
		return *c.SecureCookies
	}
	return strings.HasPrefix(strings.ToLower(c.BaseURL), "https://")
}

// Deps are the services the web server uses.
type Deps struct {
	Log   *slog.Logger
	Store *store.Store
	Blobs blob.Store
	// Jobs inserts evaluation jobs in the submission's transaction; an
	// insert-only River client (river.NewClient(riverpgxv5.New(pool),
	// &river.Config{})) is enough.
	Jobs domain.Jobs
	// Domain is the platform's rules; nil builds one on Store, Jobs and
	// Blobs (with Now and the leaderboard cache's lifetime).
	Domain *domain.Service
	// Inspect checks uploads; nil means handlers.ONNXInspect.
	Inspect handlers.InspectFunc
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// River, when set, mounts River's own UI at RiverUIPath for site
	// admins (the web's insert-only client is enough).
	River *river.Client[pgx.Tx]
}

// Server is the web server. Build it with New.
type Server struct {
	cfg      Config
	log      *slog.Logger
	handler  http.Handler
	versions *pagecache.Versions // what invalidates pages
	pages    *pagecache.Cache    // public pages, rendered once per change
	metrics  *metrics.Metrics
	queueUI  *queueUI // nil without Deps.River
}

// New builds the server and its route table.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Log == nil || d.Store == nil || d.Blobs == nil || d.Jobs == nil {
		return nil, errors.New("web: Log, Store, Blobs and Jobs are required")
	}
	if d.Inspect == nil {
		d.Inspect = handlers.ONNXInspect
	}
	if d.Domain == nil {
		// The public pages keep boards in pagecache, invalidated by the
		// database itself; the domain's time-based cache would only serve
		// them late, so it is off.
		d.Domain = domain.New(d.Store, d.Jobs, d.Blobs, domain.Options{Now: d.Now, BoardTTL: -1})
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.ReadHeaderTimeout == 0 {
		cfg.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if cfg.BodyGrace == 0 {
		cfg.BodyGrace = DefaultBodyGrace
	}
	if cfg.MinBodyRate == 0 {
		cfg.MinBodyRate = DefaultMinBodyRate
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxConnsPerIP == 0 {
		cfg.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if cfg.Argon2 == (handlers.Argon2Params{}) {
		cfg.Argon2 = handlers.DefaultArgon2
	}
	assets, err := static.Load()
	if err != nil {
		return nil, err
	}
	hasher, err := handlers.NewHasher(cfg.Argon2)
	if err != nil {
		return nil, err
	}
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("web: trusted origin: %w", err)
		}
	}
	s := &Server{cfg: cfg, log: d.Log, metrics: metrics.New(d.Store)}
	if d.River != nil {
		if s.queueUI, err = newQueueUI(d.River, d.Log); err != nil {
			return nil, fmt.Errorf("web: River UI: %w", err)
		}
	}
	s.versions, s.pages = newPageCache(d)
	s.handler = s.routes(d, assets, hasher, cop)
	return s, nil
}

// WatchChanges listens for board changes until ctx ends, so that public
// pages are cached between changes (Serve runs it; without it nothing is
// cached and every request renders afresh).
func (s *Server) WatchChanges(ctx context.Context) { s.versions.Run(ctx) }

// PagesLive reports whether WatchChanges is listening, i.e. public pages
// are being cached.
func (s *Server) PagesLive() bool { return s.versions.Live() }

// publicURL is the site's base URL for pages that print commands.
func (s *Server) publicURL() string {
	if s.cfg.BaseURL != "" {
		return strings.TrimRight(s.cfg.BaseURL, "/")
	}
	return "http://" + s.cfg.Addr
}

// Handler returns the server's root handler, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe serves on cfg.Addr until ctx is cancelled, then shuts down
// gracefully, giving in-flight requests (uploads included) up to 30 s.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is ListenAndServe on an open listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		// bodyDeadline needs the connection, which only a real server has:
		// it wraps the handler here rather than in the route table.
		Handler:           bodyDeadline(s.cfg.BodyGrace, s.cfg.MinBodyRate)(s.handler),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		// No ReadTimeout/WriteTimeout: a model upload on a slow link may take
		// minutes; bodyDeadline asks for a minimum rate instead.
		IdleTimeout:    s.cfg.IdleTimeout,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:    func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	ln = limitPerIP(ln, s.cfg.MaxConnsPerIP)
	go func() { errc <- srv.Serve(ln) }()
	lctx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	go s.WatchChanges(lctx)
	if err := s.StartQueueUI(lctx); err != nil {
		s.log.WarnContext(ctx, "web: River UI did not start", "err", err)
	}
	s.log.InfoContext(ctx, "web: listening", "addr", ln.Addr().String(), "base_url", s.cfg.BaseURL)
	select {
	case err := <-errc:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("web: %w", err)
	}
	return nil
}
