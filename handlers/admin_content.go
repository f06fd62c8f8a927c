package handlers

// The organizer panel's and API's content tools: challenge creation over
// the API, settings export/import, score overrides, account bans, the bulk
// model download. Every rule is domain.Service's.

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/templates"
)

// apiNewChallenge is POST /api/v1/challenges's body; zero fields take the
// panel form's defaults.
type apiNewChallenge struct {
	Template     string `json:"template"`
	Slug         string `json:"slug"`
	Title        string `json:"title"`
	Description  string `json:"description"`
	Terms        string `json:"terms"`
	Scale        int    `json:"scale"`
	MaxUploadMB  int    `json:"max_upload_mb"`
	TeamSize     int    `json:"team_size"`
	Registration string `json:"registration"`
	Queue        string `json:"queue"`
}

// APICreateChallenge creates a challenge from a template (site admins).
// POST /api/v1/challenges
func (h *AdminPages) APICreateChallenge(w http.ResponseWriter, r *http.Request) error {
	v := viewer(r)
	if !v.IsAdmin {
		return ErrNotFound // like the domain: the route is not there for others
	}
	var in apiNewChallenge
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	f := domain.NewChallengeForm{Template: in.Template, Slug: strings.TrimSpace(in.Slug), ChallengeForm: domain.ChallengeForm{
		Title: in.Title, Description: in.Description, Terms: in.Terms, Scale: orInt(in.Scale, 4),
		MaxUploadMB: orInt(in.MaxUploadMB, 64), TeamSizeLimit: orInt(in.TeamSize, 5),
		Registration: orStr(in.Registration, "open"), Queue: orStr(in.Queue, jobs.QueueCPU)}}
	slug, err := h.Domain.CreateChallenge(r.Context(), v, f)
	if err != nil {
		return err
	}
	ci, err := h.Domain.Challenge(r.Context(), v, slug)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, challengeOut(ci))
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func orStr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ExportSettings downloads a challenge's settings file.
// GET /admin/c/{slug}/export.json and GET /api/v1/challenges/{slug}/settings-export
func (h *AdminPages) ExportSettings(w http.ResponseWriter, r *http.Request) error {
	slug := chi.URLParam(r, "slug")
	b, err := h.Domain.ExportChallenge(r.Context(), viewer(r), slug)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", domain.ChallengeFileName(slug)))
	_, err = w.Write(b)
	return err
}

// APIImportChallenge creates a challenge from a settings file sent as the
// body (site admins). POST /api/v1/challenges/import?slug=S
func (h *AdminPages) APIImportChallenge(w http.ResponseWriter, r *http.Request) error {
	if !viewer(r).IsAdmin {
		return ErrNotFound
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, domain.MaxChallengeFile))
	if err != nil {
		return Errorf(http.StatusRequestEntityTooLarge, "The challenge file is larger than %d MiB.", domain.MaxChallengeFile>>20)
	}
	if !CleanText(string(b)) {
		return Errorf(http.StatusBadRequest, "The file contains a NUL byte or invalid UTF-8.")
	}
	rep, err := h.Domain.ImportChallenge(r.Context(), viewer(r), b, strings.TrimSpace(r.URL.Query().Get("slug")))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, rep)
}

// ImportForm is the panel's import page (site admins). GET /admin/import
func (h *AdminPages) ImportForm(w http.ResponseWriter, r *http.Request) error {
	if !viewer(r).IsAdmin {
		return ErrNotFound
	}
	return Render(r.Context(), w, http.StatusOK, templates.AdminImportPage(h.Page(r, "Import a challenge"), templates.AdminImport{}))
}

// Import creates a challenge from an uploaded settings file. The route
// checks a X-CSRF-Token header if sent; a plain form's csrf_token field is
// checked here. POST /admin/import (multipart: csrf_token, slug, file)
func (h *AdminPages) Import(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !viewer(r).IsAdmin {
		return ErrNotFound
	}
	r.Body = http.MaxBytesReader(w, r.Body, domain.MaxChallengeFile+64<<10)
	if err := r.ParseMultipartForm(domain.MaxChallengeFile + 64<<10); err != nil {
		return Errorf(http.StatusBadRequest, "Send the file as a multipart form (at most %d MiB).", domain.MaxChallengeFile>>20)
	}
	defer r.MultipartForm.RemoveAll()
	if r.Header.Get("X-CSRF-Token") == "" {
		want := VisitorFrom(ctx).CSRF
		if want == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf_token")), []byte(want)) != 1 {
			return &Error{Status: http.StatusForbidden, Msg: "The form was stale or forged (CSRF check failed). Reload the page and try again."}
		}
	}
	slug := strings.TrimSpace(r.PostFormValue("slug"))
	refuse := func(err error) error {
		v := templates.AdminImport{Form: templates.Form{Values: map[string]string{"slug": slug}, General: []string{domain.Message(err)}}}
		return Render(ctx, w, domain.Status(err), templates.AdminImportPage(h.Page(r, "Import a challenge"), v))
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		return refuse(&domain.Error{Kind: domain.KindInvalid, Msg: "Choose a challenge file to import."})
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, domain.MaxChallengeFile+1))
	if err != nil {
		return err
	}
	if !CleanText(string(b)) {
		return refuse(&domain.Error{Kind: domain.KindInvalid, Msg: "The file contains a NUL byte or invalid UTF-8."})
	}
	rep, err := h.Domain.ImportChallenge(ctx, viewer(r), b, slug)
	if fixable(err) {
		return refuse(err)
	} else if err != nil {
		return err
	}
	msg := "Challenge imported."
	if len(rep.Missing) > 0 {
		msg += " Datasets left out (their images are not on this server; import them): " + strings.Join(rep.Missing, ", ") + "."
	}
	SetFlash(w, r, msg)
	SeeOther(w, r, "/admin/c/"+rep.Slug)
	return nil
}

// overrideForm reads metric, value and reason from a form or JSON.
type apiOverride struct {
	Metric string   `json:"metric"`
	Value  *float64 `json:"value"`
	Reason string   `json:"reason"`
}

func parseValue(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, &domain.Error{Kind: domain.KindInvalid, Msg: fmt.Sprintf("The value %q is not a number.", s)}
	}
	return f, nil
}

// Override sets a metric by hand. POST /admin/submissions/{id}/override (metric, value, reason)
func (h *AdminPages) Override(w http.ResponseWriter, r *http.Request) error {
	return h.submissionPageAction(w, r, "Score overridden; the board marks it.", func(v domain.Viewer, id int64) error {
		f, err := parseValue(r.PostFormValue("value"))
		if err != nil {
			return err
		}
		return h.Domain.OverrideScore(r.Context(), v, id, r.PostFormValue("metric"), f, r.PostFormValue("reason"))
	})
}

// RevertOverride restores the measured value. POST /admin/submissions/{id}/override/revert (metric)
func (h *AdminPages) RevertOverride(w http.ResponseWriter, r *http.Request) error {
	return h.submissionPageAction(w, r, "Override reverted; the measured value counts again.", func(v domain.Viewer, id int64) error {
		return h.Domain.RevertOverride(r.Context(), v, id, r.PostFormValue("metric"))
	})
}

// submissionPageAction is submissionAction returning to the submission's
// own page, where the override form is.
func (h *AdminPages) submissionPageAction(w http.ResponseWriter, r *http.Request, ok string, act func(v domain.Viewer, id int64) error) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	v := viewer(r)
	if _, err := h.Domain.ChallengeSlugOfSubmission(r.Context(), v, id); err != nil {
		return err
	}
	if err := act(v, id); fixable(err) {
		SetFlash(w, r, "!"+domain.Message(err))
	} else if err != nil {
		return err
	} else {
		SetFlash(w, r, ok)
	}
	SeeOther(w, r, "/submissions/"+strconv.FormatInt(id, 10))
	return nil
}

// APIOverride sets a metric by hand. POST /api/v1/submissions/{id}/override
func (h *AdminPages) APIOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	// Authorization first: a non-organizer learns nothing from the
	// body's validation.
	if _, err := h.Domain.ChallengeSlugOfSubmission(r.Context(), viewer(r), id); err != nil {
		return err
	}
	var in apiOverride
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Value == nil {
		return Errorf(http.StatusUnprocessableEntity, "Give the overriding value as \"value\".")
	}
	if err := h.Domain.OverrideScore(r.Context(), viewer(r), id, in.Metric, *in.Value, in.Reason); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"id": id, "metric": in.Metric, "value": *in.Value, "reason": in.Reason, "overridden": true})
}

// APIRevertOverride restores the measured value. POST /api/v1/submissions/{id}/override/revert
func (h *AdminPages) APIRevertOverride(w http.ResponseWriter, r *http.Request) error {
	id, err := idParam(r, "id")
	if err != nil {
		return err
	}
	if _, err := h.Domain.ChallengeSlugOfSubmission(r.Context(), viewer(r), id); err != nil {
		return err
	}
	var in struct {
		Metric string `json:"metric"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := h.Domain.RevertOverride(r.Context(), viewer(r), id, in.Metric); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"id": id, "metric": in.Metric, "overridden": false})
}

// Bans lists banned accounts (site admins). GET /admin/users
func (h *AdminPages) Bans(w http.ResponseWriter, r *http.Request) error {
	return h.bansPage(w, r, http.StatusOK, templates.Form{})
}

func (h *AdminPages) bansPage(w http.ResponseWriter, r *http.Request, status int, f templates.Form) error {
	bs, err := h.Domain.BannedUsers(r.Context(), viewer(r))
	if err != nil {
		return err
	}
	v := templates.AdminBans{Form: f}
	for _, b := range bs {
		v.Rows = append(v.Rows, templates.AdminBan{Username: b.Username, Reason: b.Reason, By: b.By, At: fmtTime(&b.At)})
	}
	evs, err := h.Domain.SiteAudit(r.Context(), viewer(r))
	if err != nil {
		return err
	}
	for _, e := range evs {
		v.Audit = append(v.Audit, templates.AdminAudit{At: fmtTime(&e.At), Actor: e.Actor, Action: e.Action, Target: e.Target,
			Before: string(e.Before), After: string(e.After), Reason: e.Reason})
	}
	return Render(r.Context(), w, status, templates.AdminBansPage(h.Page(r, "Banned accounts"), v))
}

// Ban bans an account. POST /admin/users/ban (username, reason)
func (h *AdminPages) Ban(w http.ResponseWriter, r *http.Request) error {
	err := h.Domain.BanUser(r.Context(), viewer(r), r.PostFormValue("username"), r.PostFormValue("reason"))
	if fixable(err) {
		return h.bansPage(w, r, domain.Status(err), templates.Form{Values: formValues(r, "username", "reason"), General: []string{domain.Message(err)}})
	} else if err != nil {
		return err
	}
	SetFlash(w, r, "Account banned; its sessions and tokens no longer work.")
	SeeOther(w, r, "/admin/users")
	return nil
}

// Unban lifts a ban. POST /admin/users/unban (username)
func (h *AdminPages) Unban(w http.ResponseWriter, r *http.Request) error {
	err := h.Domain.UnbanUser(r.Context(), viewer(r), r.PostFormValue("username"))
	if fixable(err) {
		return h.bansPage(w, r, domain.Status(err), templates.Form{General: []string{domain.Message(err)}})
	} else if err != nil {
		return err
	}
	SetFlash(w, r, "Ban lifted.")
	SeeOther(w, r, "/admin/users")
	return nil
}

// APIBan bans an account (site admins). POST /api/v1/users/{username}/ban {"reason": …}
func (h *AdminPages) APIBan(w http.ResponseWriter, r *http.Request) error {
	if !viewer(r).IsAdmin {
		return ErrNotFound
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	name := chi.URLParam(r, "username")
	if err := h.Domain.BanUser(r.Context(), viewer(r), name, in.Reason); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"username": name, "banned": true, "reason": strings.TrimSpace(in.Reason)})
}

// APIUnban lifts a ban (site admins). POST /api/v1/users/{username}/unban
func (h *AdminPages) APIUnban(w http.ResponseWriter, r *http.Request) error {
	name := chi.URLParam(r, "username")
	if err := h.Domain.UnbanUser(r.Context(), viewer(r), name); err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"username": name, "banned": false})
}

// ModelsZip streams every model of a phase as one zip with manifest.csv
// (organizers). GET /admin/c/{slug}/phases/{phase}/models.zip and
// GET /api/v1/challenges/{slug}/phases/{phase}/models.zip
func (h *AdminPages) ModelsZip(w http.ResponseWriter, r *http.Request) error {
	slug, phase := chi.URLParam(r, "slug"), chi.URLParam(r, "phase")
	ms, err := h.Domain.PhaseModels(r.Context(), viewer(r), slug, phase)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", slug+"-"+phase+"-models.zip"))
	w.Header().Set("Cache-Control", "no-store")
	if err := h.Domain.WriteModelsZip(r.Context(), w, ms); err != nil {
		// The status is sent: cut the connection so the client sees a
		// broken download, never a short zip that looks whole.
		if !errors.Is(err, r.Context().Err()) {
			h.Log.ErrorContext(r.Context(), "models zip", "challenge", slug, "phase", phase, "error", err)
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

// submissionExtras fills the submission page's overrides and earlier runs.
func submissionExtras(x domain.SubmissionExtras, id int64, organizer bool) templates.SubmissionExtras {
	v := templates.SubmissionExtras{ID: id, Organizer: organizer, Override: x.Note, Metrics: domain.OverrideMetrics}
	for _, o := range x.Overrides {
		val := "hidden"
		if !math.IsNaN(o.Value) {
			val = strconv.FormatFloat(o.Value, 'f', -1, 64)
		}
		v.Overrides = append(v.Overrides, templates.KV{Key: o.Metric, Value: val + " (" + o.Reason + ", by " + o.CreatedBy + ")"})
	}
	for _, run := range x.Runs {
		pr := templates.PastRun{Run: strconv.Itoa(run.Run), Status: run.Status, Message: run.Message, Ended: fmtTime(run.FinishedAt),
			Archived: fmtTime(&run.ArchivedAt), RerunBy: run.RerunBy, Log: run.Log}
		var res map[string]any
		if len(run.Result) > 0 && json.Unmarshal(run.Result, &res) == nil {
			for _, k := range []string{"psnr", "ssim", "runtime_ms", "peak_memory_mb", "device"} {
				switch val := res[k].(type) {
				case nil:
				case float64: // 4 decimals, as the board shows them
					pr.Result = append(pr.Result, templates.KV{Key: k, Value: strconv.FormatFloat(math.Round(val*1e4)/1e4, 'f', -1, 64)})
				default:
					pr.Result = append(pr.Result, templates.KV{Key: k, Value: fmt.Sprint(val)})
				}
			}
		}
		v.Runs = append(v.Runs, pr)
	}
	return v
}
