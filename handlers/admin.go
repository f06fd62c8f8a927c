package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// AdminPages serve the organizer panel under /admin. Every rule, the
// authorization included, is domain.Service's: a challenge the viewer does
// not organize is a 404 like any missing page.
type AdminPages struct {
	*Base
	Domain *domain.Service
	Models BaselineModels
	// RiverUI is where River's own UI is mounted for site admins; "" when
	// it is not.
	RiverUI string
}

// localLayout is the value of an <input type="datetime-local">; the panel
// reads and writes it in UTC.
const localLayout = "2006-01-02T15:04"

func parseLocal(field, s string) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	t, err := time.ParseInLocation(localLayout, s, time.UTC)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, s); err != nil {
			return nil, &domain.Error{Kind: domain.KindInvalid, Msg: fmt.Sprintf("%s: %q is not a time like 2026-12-01T00:00 (UTC).", field, s)}
		}
	}
	return &t, nil
}

// parseMS reads a number of milliseconds; empty is nil.
func parseMS(field, s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, &domain.Error{Kind: domain.KindInvalid, Msg: fmt.Sprintf("%s: %q is not a number of milliseconds.", field, s)}
	}
	return &v, nil
}

// parseThreads reads a phase's ONNX Runtime threads; nil for none (each
// worker's own setting). The domain checks the range.
func parseThreads(s string) (*int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return nil, &domain.Error{Kind: domain.KindInvalid, Msg: fmt.Sprintf("ONNX Runtime threads: %q is not a whole number.", s)}
	}
	return &v, nil
}

// fmtMS writes milliseconds for a form field; "" for none.
func fmtMS(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func localValue(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(localLayout)
}

func atoiForm(r *http.Request, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue(name)))
	return n
}

func challengeFormOf(r *http.Request) domain.ChallengeForm {
	return domain.ChallengeForm{Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Terms: r.PostFormValue("terms"), Scale: atoiForm(r, "scale"), MaxUploadMB: atoiForm(r, "max_upload_mb"),
		TeamSizeLimit: atoiForm(r, "team_size"), Registration: r.PostFormValue("registration"),
		Queue: r.PostFormValue("queue"), Rules: r.PostFormValue("rules")}
}

func formValues(r *http.Request, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = r.PostFormValue(n)
	}
	return m
}

var challengeFieldNames = []string{"template", "slug", "title", "description", "terms", "scale", "max_upload_mb",
	"team_size", "registration", "queue", "rules", "development_opens", "development_closes", "final_opens", "final_closes"}

// Home lists the challenges the viewer organizes. GET /admin
func (h *AdminPages) Home(w http.ResponseWriter, r *http.Request) error {
	v := viewer(r)
	cs, err := h.Domain.OrganizedChallenges(r.Context(), v)
	if err != nil {
		return err
	}
	home := templates.AdminHome{CanCreate: v.IsAdmin}
	for _, c := range cs {
		row := templates.AdminChallengeRow{Slug: c.Slug, Title: c.Title}
		if ci, err := h.Domain.Challenge(r.Context(), v, c.Slug); err == nil && ci.Current >= 0 {
			row.Phase = ci.Phases[ci.Current].Title + " (" + ci.Phases[ci.Current].State + ")"
		}
		home.Challenges = append(home.Challenges, row)
	}
	return Render(r.Context(), w, http.StatusOK, templates.AdminHomePage(h.Page(r, "Organizer panel"), home))
}

func adminTemplates() []templates.AdminTemplate {
	var out []templates.AdminTemplate
	for _, t := range domain.Templates() {
		out = append(out, templates.AdminTemplate{Name: t.Name, Title: t.Title})
	}
	return out
}

// NewForm is the creation form (site admins). GET /admin/new
func (h *AdminPages) NewForm(w http.ResponseWriter, r *http.Request) error {
	if !viewer(r).IsAdmin {
		return ErrNotFound
	}
	f := templates.Form{Values: map[string]string{"template": "ntire2024", "scale": "4", "max_upload_mb": "64",
		"team_size": "5", "registration": "open", "queue": jobs.QueueCPU}}
	return Render(r.Context(), w, http.StatusOK, templates.AdminNewPage(h.Page(r, "New challenge"), templates.AdminNew{Templates: adminTemplates(), Form: f}))
}

// Create creates a challenge from a template. POST /admin/new
func (h *AdminPages) Create(w http.ResponseWriter, r *http.Request) error {
	f := domain.NewChallengeForm{Template: r.PostFormValue("template"), Slug: strings.TrimSpace(r.PostFormValue("slug")),
		ChallengeForm: challengeFormOf(r), PhaseWindows: map[string]domain.Window{}}
	var err error
	for _, ph := range []string{"development", "final"} {
		var w domain.Window
		if w.Opens, err = parseLocal(ph+" opens", r.PostFormValue(ph+"_opens")); err != nil {
			break
		}
		if w.Closes, err = parseLocal(ph+" closes", r.PostFormValue(ph+"_closes")); err != nil {
			break
		}
		f.PhaseWindows[ph] = w
	}
	if err == nil {
		_, err = h.Domain.CreateChallenge(r.Context(), viewer(r), f)
	}
	if fixable(err) {
		v := templates.AdminNew{Templates: adminTemplates(), Form: templates.Form{Values: formValues(r, challengeFieldNames...), General: []string{domain.Message(err)}}}
		return Render(r.Context(), w, domain.Status(err), templates.AdminNewPage(h.Page(r, "New challenge"), v))
	} else if err != nil {
		return err
	}
	SetFlash(w, r, "Challenge created; its first phase is open.")
	SeeOther(w, r, "/admin/c/"+f.Slug)
	return nil
}

// Show is a challenge's panel. GET /admin/c/{slug}
func (h *AdminPages) Show(w http.ResponseWriter, r *http.Request) error {
	return h.show(w, r, http.StatusOK, nil)
}

func (h *AdminPages) show(w http.ResponseWriter, r *http.Request, status int, settings *templates.Form) error {
	ctx := r.Context()
	v := viewer(r)
	a, err := h.Domain.AdminChallengeOf(ctx, v, chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	page := templates.AdminChallenge{Slug: a.Slug, Title: a.Title, IsAdmin: v.IsAdmin, Organizers: a.Organizers}
	if settings != nil {
		page.Settings = *settings
	} else {
		page.Settings = templates.Form{Values: map[string]string{"title": a.Title, "description": a.Description, "terms": a.Terms,
			"scale": strconv.Itoa(a.Scale), "max_upload_mb": strconv.FormatInt(a.MaxUploadBytes>>20, 10),
			"team_size": strconv.Itoa(a.TeamSizeLimit), "registration": a.RegistrationMode, "queue": a.Queue,
			"rules": indentJSON(a.Rules)}}
	}
	for _, p := range a.Phases {
		ap := templates.AdminPhase{Name: p.Name, Title: p.Title, State: p.State, Window: p.Window,
			Opens: localValue(p.OpensAt), Closes: localValue(p.ClosesAt), QuotaDaily: strconv.Itoa(p.QuotaDaily),
			QuotaTotal: strconv.Itoa(p.QuotaTotal), QuotaConcurrent: strconv.Itoa(p.QuotaConcurrent),
			EntryRule: p.EntryRule, Visibility: p.Visibility, Revealed: fmtTime(p.RevealedAt)}
		ap.RuntimeBasis, ap.TimingProtocol, ap.RuntimeReferenceMS = p.RuntimeBasis, p.TimingProtocol, fmtMS(p.RuntimeReferenceMS)
		if p.Threads != nil {
			ap.Threads = strconv.Itoa(*p.Threads)
		}
		var ds []string
		for _, d := range p.Datasets {
			ds = append(ds, d.Name+" ("+d.Split+")")
		}
		ap.Datasets = strings.Join(ds, ", ")
		if ap.Datasets == "" {
			ap.Datasets = "none yet"
		}
		frozen, err := h.Domain.FrozenRankings(ctx, v, a.Slug, p.Name, false)
		if err != nil {
			return err
		}
		for _, f := range frozen {
			ap.Frozen = append(ap.Frozen, templates.AdminFrozen{Version: strconv.Itoa(f.Version), At: fmtTime(&f.FrozenAt), By: f.FrozenBy})
		}
		if ap.Final, err = h.finalOf(r, a.Slug, p.Name); err != nil {
			return err
		}
		page.Phases = append(page.Phases, ap)
	}
	ds, err := h.Domain.Datasets(ctx, v, a.Slug)
	if err != nil {
		return err
	}
	for _, d := range ds {
		page.Datasets = append(page.Datasets, templates.AdminDataset{Name: d.Name, Split: d.Split, Images: strconv.Itoa(d.Images), Public: d.Public})
	}
	for _, t := range a.Teams {
		page.Teams = append(page.Teams, templates.AdminTeam{ID: t.ID, Name: t.Name, DisqualifiedReason: t.DisqualifiedReason})
	}
	for _, rg := range a.Registrations {
		page.Registrations = append(page.Registrations, templates.AdminRegistration{UserID: rg.UserID, Username: rg.Username, State: rg.State, Team: rg.TeamName})
	}
	for _, e := range a.Audit {
		page.Audit = append(page.Audit, templates.AdminAudit{At: fmtTime(&e.At), Actor: e.Actor, Action: e.Action, Target: e.Target,
			Before: string(e.Before), After: string(e.After), Reason: e.Reason})
	}
	return Render(ctx, w, status, templates.AdminChallengePage(h.Page(r, "Organize · "+a.Title), page))
}

func indentJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// back redirects to the challenge's panel with a flash; a fixable refusal
// comes back as an error flash.
func (h *AdminPages) back(w http.ResponseWriter, r *http.Request, slug, ok string, err error) error {
	if fixable(err) {
		SetFlash(w, r, "!"+domain.Message(err))
	} else if err != nil {
		return err
	} else {
		SetFlash(w, r, ok)
	}
	SeeOther(w, r, "/admin/c/"+slug)
	return nil
}

// Update saves a challenge's settings. POST /admin/c/{slug}
func (h *AdminPages) Update(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	err := h.Domain.UpdateChallenge(r.Context(), viewer(r), slug, challengeFormOf(r))
	if fixable(err) {
		f := templates.Form{Values: formValues(r, challengeFieldNames...), General: []string{domain.Message(err)}}
		return h.show(w, r, domain.Status(err), &f)
	}
	return h.back(w, r, slug, "Settings saved.", err)
}

// UpdatePhase saves a phase. POST /admin/c/{slug}/phases/{phase}
func (h *AdminPages) UpdatePhase(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	f := domain.PhaseForm{Title: r.PostFormValue("title"), QuotaDaily: atoiForm(r, "quota_daily"), QuotaTotal: atoiForm(r, "quota_total"),
		QuotaConcurrent: atoiForm(r, "quota_concurrent"), EntryRule: r.PostFormValue("entry_rule"), Visibility: r.PostFormValue("visibility")}
	f.RuntimeBasis, f.TimingProtocol = r.PostFormValue("runtime_basis"), r.PostFormValue("timing_protocol")
	var err error
	if f.RuntimeReferenceMS, err = parseMS("reference runtime", r.PostFormValue("runtime_reference_ms")); err != nil {
		return h.back(w, r, slug, "", err)
	}
	if f.Threads, err = parseThreads(r.PostFormValue("threads")); err != nil {
		return h.back(w, r, slug, "", err)
	}
	if f.Opens, err = parseLocal("opens", r.PostFormValue("opens")); err == nil {
		if f.Closes, err = parseLocal("closes", r.PostFormValue("closes")); err == nil {
			err = h.Domain.UpdatePhase(r.Context(), viewer(r), slug, chi.URLParam(r, "phase"), f)
		}
	}
	return h.back(w, r, slug, "Phase saved.", err)
}

// Reveal reveals a phase's scores at a time. POST /admin/c/{slug}/phases/{phase}/reveal
func (h *AdminPages) Reveal(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	at, err := parseLocal("reveal at", r.PostFormValue("at"))
	if err == nil {
		var t time.Time
		if at != nil {
			t = *at
		}
		err = h.Domain.Reveal(r.Context(), viewer(r), slug, chi.URLParam(r, "phase"), t)
	}
	return h.back(w, r, slug, "Reveal time set.", err)
}

// Freeze freezes a phase's ranking. POST /admin/c/{slug}/phases/{phase}/freeze
func (h *AdminPages) Freeze(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	n, err := h.Domain.Freeze(r.Context(), viewer(r), slug, chi.URLParam(r, "phase"))
	return h.back(w, r, slug, fmt.Sprintf("Final ranking frozen as version %d.", n), err)
}

// RerunPhase re-runs a phase's failed or ended submissions. POST /admin/c/{slug}/phases/{phase}/rerun (which)
func (h *AdminPages) RerunPhase(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	n, err := h.Domain.RerunMany(r.Context(), viewer(r), slug, chi.URLParam(r, "phase"), r.PostFormValue("which") != "all")
	return h.back(w, r, slug, fmt.Sprintf("%d submissions queued again.", n), err)
}

// Grant gives a user organizer rights. POST /admin/c/{slug}/organizers (username)
func (h *AdminPages) Grant(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	err := h.Domain.GrantOrganizer(r.Context(), viewer(r), slug, r.PostFormValue("username"))
	return h.back(w, r, slug, "Organizer added.", err)
}

func idParam(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrNotFound
	}
	return id, nil
}

// Disqualify disqualifies a team (or lifts it). POST /admin/c/{slug}/teams/{id}/disqualify (reason)
func (h *AdminPages) Disqualify(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	err = h.Domain.Disqualify(r.Context(), viewer(r), slug, id, r.PostFormValue("reason"))
	return h.back(w, r, slug, "Team updated.", err)
}

// Decide approves or rejects a registration. POST /admin/c/{slug}/registrations/{user}/{decision}
func (h *AdminPages) Decide(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	id, err := idParam(r, "user")
	if err != nil {
		return err
	}
	d := chi.URLParam(r, "decision")
	if d != "approve" && d != "reject" {
		return ErrNotFound
	}
	err = h.Domain.DecideRegistration(r.Context(), viewer(r), slug, id, d == "approve")
	return h.back(w, r, slug, "Registration "+d+"d.", err)
}

// Submissions is the submission table. GET /admin/c/{slug}/submissions?phase=&team=&status=&q=
func (h *AdminPages) Submissions(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	team, _ := strconv.ParseInt(q.Get("team"), 10, 64)
	a, subs, err := h.Domain.AdminSubmissions(r.Context(), viewer(r), chi.URLParam(r, "slug"),
		domain.SubmissionQuery{Phase: q.Get("phase"), TeamID: team, Status: q.Get("status"), Search: q.Get("q")})
	if err != nil {
		return err
	}
	v := templates.AdminSubmissions{Slug: a.Slug, Title: a.Title, Phase: q.Get("phase"), Team: q.Get("team"), Status: q.Get("status"), Search: q.Get("q")}
	names := map[int64]string{}
	for _, p := range a.Phases {
		v.Phases = append(v.Phases, p.Name)
		names[p.ID] = p.Name
	}
	for _, t := range a.Teams {
		v.Teams = append(v.Teams, templates.AdminTeam{ID: t.ID, Name: t.Name})
	}
	for _, s := range subs {
		row := templates.AdminSubmissionRow{ID: s.ID, Phase: names[s.PhaseID], Team: s.TeamName, Uploader: s.Username,
			Label: s.Label, Method: s.MethodName, Status: s.Status, Message: s.Message, Created: fmtTime(&s.CreatedAt),
			Hidden: s.HiddenReason, Baseline: s.IsBaseline,
			CanRerun:  s.Status != store.StatusQueued && s.Status != store.StatusRunning,
			CanCancel: s.Status == store.StatusQueued || s.Status == store.StatusRunning}
		if s.Result != nil {
			row.PSNR = strconv.FormatFloat(s.Result.PSNR, 'f', 3, 64)
			row.Runtime = strconv.FormatFloat(s.Result.RuntimeMS, 'f', 2, 64) + " ms"
		}
		v.Rows = append(v.Rows, row)
	}
	return Render(r.Context(), w, http.StatusOK, templates.AdminSubmissionsPage(h.Page(r, "Submissions · "+a.Title), v))
}

// submissionAction runs an organizer action on a submission and returns
// to the challenge's submission table.
func (h *AdminPages) submissionAction(w http.ResponseWriter, r *http.Request, ok string, act func(v domain.Viewer, id int64) error) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	v := viewer(r)
	slug, err := h.Domain.ChallengeSlugOfSubmission(r.Context(), v, id)
	if err != nil {
		return err
	}
	if err := act(v, id); fixable(err) {
		SetFlash(w, r, "!"+domain.Message(err))
	} else if err != nil {
		return err
	} else {
		SetFlash(w, r, ok)
	}
	SeeOther(w, r, "/admin/c/"+slug+"/submissions")
	return nil
}

// Rerun queues a submission again. POST /admin/submissions/{id}/rerun
func (h *AdminPages) Rerun(w http.ResponseWriter, r *http.Request) error {
	return h.submissionAction(w, r, "Submission queued again.", func(v domain.Viewer, id int64) error {
		return h.Domain.Rerun(r.Context(), v, id)
	})
}

// Cancel cancels a queued or running submission. POST /admin/submissions/{id}/cancel
func (h *AdminPages) Cancel(w http.ResponseWriter, r *http.Request) error {
	return h.submissionAction(w, r, "Submission cancelled.", func(v domain.Viewer, id int64) error {
		return h.Domain.CancelAsOrganizer(r.Context(), v, id)
	})
}

// Hide hides a submission from the board (or shows it). POST /admin/submissions/{id}/hide (reason)
func (h *AdminPages) Hide(w http.ResponseWriter, r *http.Request) error {
	return h.submissionAction(w, r, "Submission updated.", func(v domain.Viewer, id int64) error {
		return h.Domain.HideSubmission(r.Context(), v, id, r.PostFormValue("reason"))
	})
}

// ExportCSV downloads a phase's results. GET /admin/c/{slug}/phases/{phase}/results.csv
func (h *AdminPages) ExportCSV(w http.ResponseWriter, r *http.Request) error {
	slug, phase := chi.URLParam(r, "slug"), chi.URLParam(r, "phase")
	b, err := h.Domain.ExportCSV(r.Context(), viewer(r), slug, phase)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", slug+"-"+phase+"-results.csv"))
	if note := h.runtimeNote(r, slug, phase); note != "" {
		w.Header().Set("X-Runtime-Note", note)
	}
	_, err = w.Write(b)
	return err
}

// ExportJSON downloads a phase's results as JSON: one object per row,
// keyed by the CSV's column names. GET /admin/c/{slug}/phases/{phase}/results.json
func (h *AdminPages) ExportJSON(w http.ResponseWriter, r *http.Request) error {
	slug, phase := chi.URLParam(r, "slug"), chi.URLParam(r, "phase")
	t, rules, err := h.Domain.ExportPhase(r.Context(), viewer(r), slug, phase)
	if err != nil {
		return err
	}
	rows := make([]map[string]string, 0, len(t.Rows))
	for _, row := range t.Rows {
		m := map[string]string{}
		for i, col := range t.Header {
			m[col] = row[i]
		}
		rows = append(rows, m)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"challenge": slug, "phase": phase, "rules": rules.Name, "columns": t.Header, "rows": rows,
		"runtime_note": h.runtimeNote(r, slug, phase)})
}

// Frozen downloads one frozen ranking version. GET /admin/c/{slug}/phases/{phase}/frozen/{version}.csv
func (h *AdminPages) Frozen(w http.ResponseWriter, r *http.Request) error {
	slug, phase := chi.URLParam(r, "slug"), chi.URLParam(r, "phase")
	ver, err := strconv.Atoi(strings.TrimSuffix(chi.URLParam(r, "version"), ".csv"))
	if err != nil {
		return ErrNotFound
	}
	fs, err := h.Domain.FrozenRankings(r.Context(), viewer(r), slug, phase, true)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Version == ver {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", fmt.Sprintf("%s-%s-frozen-v%d.csv", slug, phase, ver)))
			_, err := w.Write([]byte(f.CSV))
			return err
		}
	}
	return ErrNotFound
}

// Workers lists the evaluation workers, read-only (site admins).
// GET /admin/workers
func (h *AdminPages) Workers(w http.ResponseWriter, r *http.Request) error {
	ws, err := h.Domain.Workers(r.Context(), viewer(r))
	if err != nil {
		return err
	}
	var rows []templates.AdminWorker
	for _, wk := range ws {
		row := templates.AdminWorker{ID: wk.ID, Host: wk.Host, Queue: wk.Queue, Device: wk.Device, Hardware: wk.Hardware,
			ORT: wk.ORTVersion, Heartbeat: fmtTime(&wk.LastHeartbeat), State: "alive", Done: wk.Done, Failed: wk.Failed}
		if wk.CurrentSubmission != nil {
			row.Current = strconv.FormatInt(*wk.CurrentSubmission, 10)
		}
		if wk.LostAt != nil {
			row.State = "lost " + fmtTime(wk.LostAt)
		}
		rows = append(rows, row)
	}
	return Render(r.Context(), w, http.StatusOK, templates.AdminWorkersPage(h.Page(r, "Workers"), rows))
}
