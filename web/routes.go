package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/static"
)

// routes is the one route table of the site.
func (s *Server) routes(d Deps, assets *static.Assets, hasher *handlers.Hasher, cop *http.CrossOriginProtection) http.Handler {
	sess := &sessions{store: d.Store, ttl: s.cfg.SessionTTL, secure: s.cfg.secure(), log: d.Log}
	base := &handlers.Base{Log: d.Log, Assets: handlers.Assets{CSS: assets.URL("style.css"), JS: assets.URL("live.js")}, Now: d.Now}
	ea := &errorAdapter{log: d.Log, base: base}
	h := ea.wrap

	// The login, sign-up and upload limits are in memory, per process (see
	// handlers.LoginThrottle).
	throttle := handlers.NewLoginThrottle(handlers.LoginFailuresPerName, handlers.LoginFailuresPerIP, handlers.LoginWindow, d.Now)
	auth := &handlers.Auth{Base: base, Users: d.Store, Sessions: sess, Hasher: hasher, Throttle: throttle,
		Signups: handlers.NewSignupThrottle(handlers.SignupsPerIP, handlers.SignupWindow, d.Now)}
	challenges := &handlers.ChallengePages{Base: base, Domain: d.Domain}
	teams := &handlers.TeamPages{Base: base, Domain: d.Domain, BaseURL: strings.TrimSuffix(s.cfg.BaseURL, "/")}
	upload := &handlers.Upload{Base: base, Domain: d.Domain, Store: d.Store, Blobs: d.Blobs, Inspect: d.Inspect,
		Rejects:  handlers.NewRejectLimit(handlers.UploadRejectsPerHour, d.Now),
		Slots:    handlers.NewUploadSlots(handlers.UploadInspections, s.cfg.UploadSlotWait),
		InFlight: handlers.NewInFlight(handlers.UploadsInFlightPerUser)}
	subs := &handlers.SubmissionPages{Base: base, Domain: d.Domain, Blobs: d.Blobs}
	fast := &handlers.FastBoard{Base: base, Domain: d.Domain, Cache: s.pages, Store: d.Store}
	analysis := &handlers.Analysis{Base: base}
	health := &handlers.Health{DB: d.Store.Pool()}

	r := chi.NewRouter()
	r.Use(requestLog(d.Log), recoverer(ea), securityHeaders(s.cfg.secure()))
	r.NotFound(h(func(http.ResponseWriter, *http.Request) error { return handlers.ErrNotFound }))
	r.MethodNotAllowed(h(func(http.ResponseWriter, *http.Request) error {
		return handlers.Errorf(http.StatusMethodNotAllowed, "This address does not accept that method.")
	}))

	// Outside sessions: no database work beyond what they need.
	r.Method(http.MethodGet, "/healthz", h(health.Check))
	r.Handle(static.Prefix+"*", assets)
	// Stateless: a CSV in, coefficients out; nothing stored, no session.
	r.Post("/api/v1/analysis", h(analysis.API))

	// Public read-only pages, rendered once per change (pagecache); no
	// cookie for anonymous readers.
	r.Group(func(r chi.Router) {
		r.Use(sess.loadIfCookie)
		r.Get("/c/{slug}/leaderboard", h(fast.Show))
		r.Get("/c/{slug}/leaderboard.json", h(fast.JSON))
		r.Get("/c/{slug}/leaderboard.csv", h(fast.CSV))
		r.Get("/c/{slug}/analysis", h(fast.Analysis))
		r.Get("/analysis/{ref}", h(analysis.Reference))
		r.Get("/analysis/{ref}/table.csv", h(analysis.ReferenceCSV))
	})

	r.Group(func(r chi.Router) {
		r.Use(sess.load, crossOrigin(cop, ea))

		// Forms with a csrf_token field (url-encoded bodies).
		r.Group(func(r chi.Router) {
			r.Use(csrfForm(ea))
			r.Get("/", h(challenges.Home))
			r.Get("/signup", h(auth.SignupForm))
			r.Post("/signup", h(auth.Signup))
			r.Get("/login", h(auth.LoginForm))
			r.Post("/login", h(auth.Login))
			r.Post("/logout", h(auth.Logout))
			r.Get("/c/{slug}", h(challenges.Show))
			r.Get("/analysis", h(analysis.Index))

			r.Group(func(r chi.Router) {
				r.Use(requireUser)
				r.Get("/c/{slug}/submissions", h(subs.Mine))
				r.Get("/submissions/{id}", h(subs.Show))
				r.Get("/submissions/{id}/status.json", h(subs.Status))
				r.Get("/submissions/{id}/model.onnx", h(subs.Model))
				r.Post("/submissions/{id}/cancel", h(subs.Cancel))
				r.Post("/submissions/{id}/select", h(subs.Select))
				r.Get("/c/{slug}/register", h(teams.RegisterForm))
				r.Post("/c/{slug}/register", h(teams.Register))
				r.Get("/c/{slug}/team", h(teams.Show))
				r.Post("/c/{slug}/team", h(teams.Create))
				r.Post("/c/{slug}/team/invite", h(teams.Invite))
				r.Post("/c/{slug}/team/invitations/withdraw", h(teams.Withdraw))
				r.Post("/c/{slug}/team/rename", h(teams.Rename))
				r.Post("/c/{slug}/team/leave", h(teams.Leave))
				r.Get("/join/{token}", h(teams.JoinForm))
				r.Post("/join/{token}", h(teams.Join))
			})
		})

		// The upload streams its body, so the handler checks the csrf_token
		// part itself, before it stores anything (it must be the first part).
		r.With(requireUser, csrfStreamed(ea)).Post("/c/{slug}/submissions", h(upload.Create))
		r.With(csrfStreamed(ea)).Post("/analysis", h(analysis.Upload))
	})
	return r
}
