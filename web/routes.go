package web

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/metrics"
	"github.com/srarena/srarena/static"
)

// routes is the one route table of the site.
func (s *Server) routes(d Deps, assets *static.Assets, hasher *handlers.Hasher, cop *http.CrossOriginProtection) http.Handler {
	sess := &sessions{store: d.Store, ttl: s.cfg.SessionTTL, secure: s.cfg.secure(), log: d.Log, demo: s.cfg.DemoLogin}
	base := &handlers.Base{Log: d.Log, Assets: handlers.Assets{CSS: assets.URL("style.css"), JS: assets.URL("live.js")}, Now: d.Now}
	ea := &errorAdapter{log: d.Log, base: base}
	h := ea.wrap

	// The login, sign-up and upload limits are in PostgreSQL, shared by
	// every web process.
	throttle := handlers.NewLoginThrottle(d.Store, handlers.LoginFailuresPerName, handlers.LoginFailuresPerIP, handlers.LoginWindow, d.Now)
	auth := &handlers.Auth{Base: base, Users: d.Store, Bans: d.Store, Sessions: sess, Hasher: hasher, Throttle: throttle,
		Signups:   handlers.NewSignupThrottle(d.Store, handlers.SignupsPerIP, handlers.SignupWindow, d.Now),
		DemoLogin: s.cfg.DemoLogin}
	challenges := &handlers.ChallengePages{Base: base, Domain: d.Domain}
	teams := &handlers.TeamPages{Base: base, Domain: d.Domain, BaseURL: strings.TrimSuffix(s.cfg.BaseURL, "/")}
	upload := &handlers.Upload{Base: base, Domain: d.Domain, Store: d.Store, Blobs: d.Blobs, Inspect: d.Inspect,
		Rejects:  handlers.NewRejectLimit(d.Store, handlers.UploadRejectsPerHour, d.Now),
		Slots:    handlers.NewUploadSlots(handlers.UploadInspections, s.cfg.UploadSlotWait),
		InFlight: handlers.NewSharedInFlight(d.Store, handlers.UploadsInFlightPerUser)}
	subs := &handlers.SubmissionPages{Base: base, Domain: d.Domain, Blobs: d.Blobs}
	fast := &handlers.FastBoard{Base: base, Domain: d.Domain, Cache: s.pages, Store: d.Store}
	compare := &handlers.ComparePages{Base: base, Domain: d.Domain, Blobs: d.Blobs}
	analysis := &handlers.Analysis{Base: base,
		Throttle: handlers.NewAnalysisThrottle(d.Store, s.cfg.analysesPerIP(), handlers.AnalysisWindow, d.Now)}
	health := &handlers.Health{DB: d.Store.Pool()}
	account := &handlers.Account{Base: base, Store: d.Store, Server: s.publicURL()}
	api := &handlers.API{Base: base, Domain: d.Domain, Upload: upload}
	downloads := &handlers.Downloads{Base: base, Domain: d.Domain, Blobs: d.Blobs}
	admin := &handlers.AdminPages{Base: base, Domain: d.Domain,
		Models: handlers.BaselineModels{Blobs: d.Blobs, Inspect: d.Inspect, Store: d.Store}}
	if s.queueUI != nil {
		admin.RiverUI = RiverUIPath + "/"
	}

	r := chi.NewRouter()
	r.Use(fromTrustedProxy(s.cfg.TrustedProxies), requestLog(d.Log), observeHTTP(s.metrics), recoverer(ea), securityHeaders(s.cfg.secure()), rejectBadBytes(ea))
	r.NotFound(h(func(http.ResponseWriter, *http.Request) error { return handlers.ErrNotFound }))
	r.MethodNotAllowed(h(func(http.ResponseWriter, *http.Request) error {
		return handlers.Errorf(http.StatusMethodNotAllowed, "This address does not accept that method.")
	}))

	// The JSON API: token authentication only, no sessions, no CSRF.
	r.Route("/api/v1", func(r chi.Router) {
		r.Use(s.apiAuth(d.Store, ea))
		r.NotFound(h(func(http.ResponseWriter, *http.Request) error {
			return handlers.Errorf(http.StatusNotFound, "No such API route; see /api/v1/openapi.json.")
		}))
		r.Get("/openapi.json", h(handlers.OpenAPI))
		r.Get("/challenges", h(api.Challenges))
		r.Get("/challenges/{slug}", h(api.Challenge))
		r.Get("/challenges/{slug}/phases", h(api.Phases))
		r.Get("/challenges/{slug}/leaderboard", h(api.Leaderboard))
		// Stateless: a CSV in, coefficients out; nothing stored.
		r.Post("/analysis", h(analysis.API))
		r.Group(func(r chi.Router) {
			r.Use(s.requireToken(ea))
			r.Get("/me", h(handlers.APIMe))
			r.Post("/challenges/{slug}/registration", h(api.Register))
			r.Get("/challenges/{slug}/submissions", h(api.TeamSubmissions))
			r.Post("/challenges/{slug}/submissions", h(api.Submit))
			r.Get("/submissions/{id}", h(api.Submission))
			r.Get("/submissions/{id}/log", h(api.Log))
			r.Post("/submissions/{id}/cancel", h(api.Cancel))
			r.Post("/submissions/{id}/select", h(api.Select))
			// Organizers (the domain refuses everyone else with 404).
			r.Post("/submissions/{id}/rerun", h(admin.APIRerun))
			r.Get("/challenges/{slug}/results", h(admin.APIResults))
			r.Post("/challenges/{slug}/datasets", h(admin.APIImportDataset))
			r.Post("/challenges/{slug}/baselines", h(admin.APIAddBaseline))
			r.Post("/challenges/{slug}/phases/{phase}/retime", h(admin.APIRetime))
			// Organizers' content tools (admin_content.go).
			r.Post("/challenges", h(admin.APICreateChallenge))
			r.Post("/challenges/import", h(admin.APIImportChallenge))
			r.Get("/challenges/{slug}/settings-export", h(admin.ExportSettings))
			r.Get("/challenges/{slug}/phases/{phase}/models.zip", h(admin.ModelsZip))
			r.Post("/submissions/{id}/override", h(admin.APIOverride))
			r.Post("/submissions/{id}/override/revert", h(admin.APIRevertOverride))
			r.Post("/users/{username}/ban", h(admin.APIBan))
			r.Post("/users/{username}/unban", h(admin.APIUnban))
			// Dataset images: public validation LR for participants, any
			// set's LR and HR for its organizers (the domain decides).
			r.Get("/challenges/{slug}/datasets/{name}/lr.zip", h(downloads.LR))
			r.Get("/challenges/{slug}/datasets/{name}/hr.zip", h(downloads.HR))
		})
	})

	// Outside sessions: no database work beyond what they need.
	r.Method(http.MethodGet, "/healthz", h(health.Check))
	// Prometheus: a configured token or network only; 404 for the public.
	r.Method(http.MethodGet, "/metrics", s.metrics.Handler(metrics.Access{Token: s.cfg.MetricsToken, Allow: s.cfg.MetricsAllow},
		h(func(http.ResponseWriter, *http.Request) error { return handlers.ErrNotFound })))
	r.Handle(static.Prefix+"*", assets)

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
		// The crop viewer: the domain decides per submission who sees it.
		r.Get("/c/{slug}/submissions/{id}/compare", h(compare.Show))
		r.Get("/c/{slug}/submissions/{id}/compare/crop.png", h(compare.Crop))
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
				r.Get("/account", h(account.Show))
				r.Post("/account/tokens", h(account.CreateToken))
				r.Post("/account/tokens/{id}/revoke", h(account.RevokeToken))
				r.Get("/submissions/{id}/model.onnx", h(subs.Model))
				r.Post("/submissions/{id}/cancel", h(subs.Cancel))
				r.Post("/submissions/{id}/select", h(subs.Select))
				r.Get("/c/{slug}/datasets/{name}/lr.zip", h(downloads.LR))
				r.Get("/c/{slug}/datasets/{name}/hr.zip", h(downloads.HR))
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

				// The organizer panel: the domain layer decides who
				// organizes what; others get 404.
				r.Get("/admin", h(admin.Home))
				r.Get("/admin/new", h(admin.NewForm))
				r.Get("/admin/workers", h(admin.Workers))
				r.Get("/admin/ops", h(admin.Ops))
				r.Post("/admin/new", h(admin.Create))
				r.Get("/admin/c/{slug}", h(admin.Show))
				r.Post("/admin/c/{slug}", h(admin.Update))
				r.Get("/admin/c/{slug}/submissions", h(admin.Submissions))
				r.Post("/admin/c/{slug}/organizers", h(admin.Grant))
				r.Post("/admin/c/{slug}/teams/{id}/disqualify", h(admin.Disqualify))
				r.Post("/admin/c/{slug}/registrations/{user}/{decision}", h(admin.Decide))
				r.Post("/admin/c/{slug}/phases/{phase}", h(admin.UpdatePhase))
				r.Post("/admin/c/{slug}/phases/{phase}/reveal", h(admin.Reveal))
				r.Post("/admin/c/{slug}/phases/{phase}/freeze", h(admin.Freeze))
				r.Post("/admin/c/{slug}/phases/{phase}/rerun", h(admin.RerunPhase))
				r.Post("/admin/c/{slug}/phases/{phase}/retime", h(admin.Retime))
				r.Get("/admin/c/{slug}/phases/{phase}/results.csv", h(admin.ExportCSV))
				r.Get("/admin/c/{slug}/phases/{phase}/results.json", h(admin.ExportJSON))
				r.Get("/admin/c/{slug}/phases/{phase}/frozen/{version}", h(admin.Frozen))
				r.Post("/admin/submissions/{id}/rerun", h(admin.Rerun))
				r.Post("/admin/submissions/{id}/cancel", h(admin.Cancel))
				r.Post("/admin/submissions/{id}/hide", h(admin.Hide))
				r.Get("/admin/c/{slug}/datasets/{name}/manifest.json", h(admin.Manifest))
				r.Get("/admin/c/{slug}/export.json", h(admin.ExportSettings))
				r.Get("/admin/c/{slug}/phases/{phase}/models.zip", h(admin.ModelsZip))
				r.Get("/admin/import", h(admin.ImportForm))
				r.Get("/admin/users", h(admin.Bans))
				r.Post("/admin/users/ban", h(admin.Ban))
				r.Post("/admin/users/unban", h(admin.Unban))
				r.Post("/admin/submissions/{id}/override", h(admin.Override))
				r.Post("/admin/submissions/{id}/override/revert", h(admin.RevertOverride))
			})
		})

		// The upload streams its body, so the handler checks the csrf_token
		// part itself, before it stores anything (it must be the first part).
		r.With(requireUser, csrfStreamed(ea)).Post("/c/{slug}/submissions", h(upload.Create))
		// A dataset archive streams too; the handler checks csrf_token.
		r.With(requireUser, csrfStreamed(ea)).Post("/admin/c/{slug}/datasets", h(admin.ImportDataset))
		r.With(requireUser, csrfStreamed(ea)).Post("/admin/c/{slug}/baselines", h(admin.AddBaseline))
		r.With(requireUser, csrfStreamed(ea)).Post("/admin/import", h(admin.Import))
		r.With(csrfStreamed(ea)).Post("/analysis", h(analysis.Upload))

		// River's own UI, site admins only. Its JSON API has no form
		// token: the cross-origin check above guards its actions.
		if s.queueUI != nil {
			r.With(requireAdmin(ea), riverUIHeaders).Handle(RiverUIPath+"/*", s.queueUI.h)
			r.With(requireAdmin(ea)).Get(RiverUIPath, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, RiverUIPath+"/", http.StatusSeeOther)
			})
		}
	})
	return r
}
