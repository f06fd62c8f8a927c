package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// SubmissionPages serves a submission's page, its live status, its model
// file, cancel and entry choice, and the team's list of submissions. What a
// visitor may see and do is domain.Service's.
type SubmissionPages struct {
	*Base
	Domain *domain.Service
	Blobs  interface {
		Open(ctx context.Context, digest string) (io.ReadCloser, error)
	}
}

// maxLogLines bounds the log a page or a poll returns.
const maxLogLines = 2000

func submissionID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrNotFound
	}
	return id, nil
}

// load returns the submission if the visitor may see it (their team's, or
// as an organizer); everyone else gets the same 404 as for a missing id.
func (h *SubmissionPages) load(r *http.Request) (domain.SubmissionInfo, error) {
	id, err := submissionID(r)
	if err != nil {
		return domain.SubmissionInfo{}, err
	}
	return h.Domain.Submission(r.Context(), viewer(r), id)
}

func live(status string) bool { return status == store.StatusQueued || status == store.StatusRunning }

// progressText is "image i of N" while running.
func progressText(s store.Submission) string {
	if s.Status != store.StatusRunning {
		return ""
	}
	if s.ImagesTotal == 0 {
		return "starting"
	}
	return fmt.Sprintf("image %d of %d", s.ImagesDone, s.ImagesTotal)
}

// queueText says the queue position and the estimate while queued.
func queueText(q *domain.QueueInfo) string {
	if q == nil {
		return ""
	}
	s := fmt.Sprintf("position %d in the queue (%d ahead, %d running)", q.Position, q.Ahead, q.Running)
	if q.EstimateKnown {
		s += fmt.Sprintf("; it should start in about %s", fmtDuration(q.Estimate))
	} else {
		s += "; no estimate yet (no evaluation has finished on this hardware)"
	}
	return s
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(math.Ceil(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(math.Ceil(d.Minutes())))
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}

// Show is a submission's page. GET /submissions/{id}
func (h *SubmissionPages) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	si, err := h.load(r)
	if err != nil {
		return err
	}
	sub := si.Submission
	v := templates.Submission{
		ID: sub.ID, ChallengeSlug: si.Challenge.Slug, ChallengeTitle: si.Challenge.Title, Owner: sub.Username,
		Phase: cmpOr(si.Phase.Title, si.Phase.Name), Team: sub.TeamName, MethodName: sub.MethodName, Description: sub.Description,
		Label: sub.Label, Status: sub.Status, Message: sub.Message,
		Created: fmtTime(&sub.CreatedAt), Started: fmtTime(sub.StartedAt), Ended: fmtTime(sub.FinishedAt),
		ModelSHA256: sub.ModelSHA256, ModelSize: fmtBytes(sub.ModelBytes), DataRange: fmtDataRange(sub.DataRange),
		Profile: profileKVs(sub.Profile), Live: live(sub.Status),
		StatusURL: "/submissions/" + strconv.FormatInt(sub.ID, 10) + "/status.json",
		Progress:  progressText(sub), Queue: queueText(si.Queue),
		CanCancel: si.CanCancel, CanSelect: si.CanSelect, Selected: sub.Selected && si.Phase.EntryRule == store.EntrySelected,
		ScoresHidden: si.ScoresHidden,
	}
	if si.Result != nil {
		v.Metrics, v.Images, v.RuntimeNote = resultView(*si.Result, si.PerImageScores)
		v.ImageScores = si.PerImageScores
		v.Metrics = append(v.Metrics, splitKVs(*si.Result)...)
	}
	if sub.Status == store.StatusFinished && domain.CompareAvailable(si.Phase) {
		v.CompareHref = fmt.Sprintf("/c/%s/submissions/%d/compare", si.Challenge.Slug, sub.ID)
	}
	logs, err := h.Domain.LogsOf(ctx, si, 0, maxLogLines)
	if err != nil {
		return err
	}
	for _, l := range logs {
		v.Log = append(v.Log, templates.LogLine{ID: l.ID, At: l.At.UTC().Format(time.TimeOnly), Line: l.Line})
		v.LastLogID = l.ID
	}
	x, err := h.Domain.SubmissionExtrasOf(ctx, viewer(r), sub.ID)
	if err != nil {
		return err
	}
	v.Extras = submissionExtras(x, sub.ID, si.Organizer)
	p := h.Page(r, fmt.Sprintf("Submission #%d", sub.ID))
	if v.Live {
		p.Refresh = 5
	}
	return Render(ctx, w, http.StatusOK, templates.SubmissionPage(p, v))
}

// StatusJSON is what the page's script polls. GET /submissions/{id}/status.json?after=LOGID
type StatusJSON struct {
	ID          int64      `json:"id"`
	Status      string     `json:"status"`
	Message     string     `json:"message"`
	Started     *time.Time `json:"started_at"`
	Finished    *time.Time `json:"finished_at"`
	ImagesDone  int        `json:"images_done"`
	ImagesTotal int        `json:"images_total"`
	Progress    string     `json:"progress"` // "image i of N" while running
	Queue       string     `json:"queue"`    // position and estimate while queued
	CanCancel   bool       `json:"can_cancel"`
	Log         []logJSON  `json:"log"`
}

type logJSON struct {
	ID   int64  `json:"id"`
	At   string `json:"at"`
	Line string `json:"line"`
}

// Status returns the submission's state and the log lines after ?after.
func (h *SubmissionPages) Status(w http.ResponseWriter, r *http.Request) error {
	si, err := h.load(r)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	logs, err := h.Domain.LogsOf(r.Context(), si, after, maxLogLines)
	if err != nil {
		return err
	}
	sub := si.Submission
	out := StatusJSON{ID: sub.ID, Status: sub.Status, Message: sub.Message, Started: sub.StartedAt,
		Finished: sub.FinishedAt, ImagesDone: sub.ImagesDone, ImagesTotal: sub.ImagesTotal,
		Progress: progressText(sub), Queue: queueText(si.Queue), CanCancel: si.CanCancel, Log: []logJSON{}}
	for _, l := range logs {
		out.Log = append(out.Log, logJSON{ID: l.ID, At: l.At.UTC().Format(time.TimeOnly), Line: l.Line})
	}
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusOK, out)
}

// Model serves the submission's ONNX file to its team and the organizers.
// GET /submissions/{id}/model.onnx
func (h *SubmissionPages) Model(w http.ResponseWriter, r *http.Request) error {
	id, err := submissionID(r)
	if err != nil {
		return err
	}
	digest, err := h.Domain.ModelFile(r.Context(), viewer(r), id)
	if err != nil {
		return err
	}
	f, err := h.Blobs.Open(r.Context(), digest)
	if err != nil {
		return fmt.Errorf("model of submission %d: %w", id, err)
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="submission-%d.onnx"`, id))
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = io.Copy(w, f)
	return err
}

// Cancel withdraws a queued or running submission. POST /submissions/{id}/cancel
func (h *SubmissionPages) Cancel(w http.ResponseWriter, r *http.Request) error {
	id, err := submissionID(r)
	if err != nil {
		return err
	}
	if err := h.Domain.Cancel(r.Context(), viewer(r), id); err != nil {
		return err
	}
	SetFlash(w, r, fmt.Sprintf("Submission #%d was cancelled; it does not count against your quota.", id))
	SeeOther(w, r, "/submissions/"+strconv.FormatInt(id, 10))
	return nil
}

// Select makes the submission its team's leaderboard entry.
// POST /submissions/{id}/select
func (h *SubmissionPages) Select(w http.ResponseWriter, r *http.Request) error {
	id, err := submissionID(r)
	if err != nil {
		return err
	}
	if err := h.Domain.SelectEntry(r.Context(), viewer(r), id); err != nil {
		return err
	}
	SetFlash(w, r, fmt.Sprintf("Submission #%d is now your team's leaderboard entry.", id))
	SeeOther(w, r, "/submissions/"+strconv.FormatInt(id, 10))
	return nil
}

// Mine lists the visitor's team's submissions to a challenge. GET /c/{slug}/submissions
func (h *SubmissionPages) Mine(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	vw := viewer(r)
	if vw.Anonymous() {
		return Errorf(http.StatusUnauthorized, "Log in to see your submissions.")
	}
	ci, err := h.Domain.Challenge(ctx, vw, chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	subs, err := h.Domain.TeamSubmissions(ctx, vw, ci.Slug, "")
	if err != nil {
		return err
	}
	v := templates.MySubmissions{Slug: ci.Slug, Title: ci.Title}
	if ci.Team != nil {
		v.Team = ci.Team.Name
	}
	phase := map[int64]string{}
	for _, p := range ci.Phases {
		phase[p.ID] = cmpOr(p.Title, p.Name)
	}
	for _, s := range subs {
		row := templates.SubmissionRow{ID: s.ID, Label: s.Label, Status: s.Status, Created: fmtTime(&s.CreatedAt),
			Phase: phase[s.PhaseID], MethodName: s.MethodName, Selected: s.Selected}
		if s.Result != nil {
			row.PSNR = fmtFloat(s.Result.PSNR, 2)
			row.Runtime = fmtFloat(s.Result.RuntimeMS, 2)
		}
		v.Rows = append(v.Rows, row)
	}
	if v.Progress, err = h.progress(ctx, vw, ci.Slug); err != nil {
		return err
	}
	return Render(ctx, w, http.StatusOK, templates.MySubmissionsPage(h.Page(r, "Team submissions"), v))
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

func parseProfile(raw json.RawMessage) domain.Profile { return domain.ParseProfile(raw) }

func profileKVs(raw json.RawMessage) []templates.KV {
	p := parseProfile(raw)
	var out []templates.KV
	add := func(k string, v *float64, f func(float64) string) {
		if v != nil {
			out = append(out, templates.KV{Key: k, Value: f(*v)})
		}
	}
	add("Parameters", p.Params, fmtCount)
	add("FLOPs (AIM 2020/KAIR rule)", p.FlopsKAIR, fmtCount)
	add("FLOPs (fvcore rule)", p.FlopsFvcore, fmtCount)
	add("Conv MACs", p.ConvMACs, fmtCount)
	add("Activations", p.Activations, fmtCount)
	add("Conv layers", p.ConvLayers, func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) })
	add("Nodes", p.Nodes, func(f float64) string { return strconv.FormatFloat(f, 'f', 0, 64) })
	if len(p.InputShape) == 4 && len(out) > 0 {
		out = append(out, templates.KV{Key: "Counted at LR size", Value: fmt.Sprintf("%d×%d", p.InputShape[2], p.InputShape[3])})
	}
	return out
}

func fmtDataRange(dr float32) string {
	if dr == 255 {
		return "[0, 255]"
	}
	return "[0, 1]"
}

// perImage is the part of results.per_image the pages read.
type perImage struct {
	Name      string    `json:"name"`
	PSNR      *float64  `json:"psnr"`
	SSIM      *float64  `json:"ssim"`
	RuntimeMS *float64  `json:"runtime_ms"`
	RunsMS    []float64 `json:"runs_ms"`
}

// runtimeNote says truthfully what the runtime figure is.
func runtimeNote(repeats, warmup int) string {
	w := strconv.Itoa(warmup)
	return fmt.Sprintf("Runtime: each image is run %s untimed warm-up time(s), then timed %d time(s); "+
		"an image's runtime is the median of its timed runs, and the set's runtime is the mean of those medians over the images. "+
		"± is the standard deviation across repeats, pooled over images; min–max are the means over images of each image's fastest and slowest run.",
		w, repeats)
}

// resultView formats a result's metrics, its per-image table (with PSNR and
// SSIM and image names only when reveal), and the runtime note.
func resultView(r store.Result, reveal bool) ([]templates.KV, []templates.ImageRow, string) {
	kv := []templates.KV{{Key: "PSNR", Value: fmtFloat(r.PSNR, 3) + " dB"}}
	if r.PSNRY != nil {
		kv = append(kv, templates.KV{Key: "PSNR (Y)", Value: fmtFloat(*r.PSNRY, 3) + " dB"})
	}
	if r.SSIM != nil {
		kv = append(kv, templates.KV{Key: "SSIM", Value: fmtFloat(*r.SSIM, 4)})
	}
	rt := fmtFloat(r.RuntimeMS, 2) + " ms"
	if r.RuntimeStdMS != nil {
		rt = fmtFloat(r.RuntimeMS, 2) + " ± " + fmtFloat(*r.RuntimeStdMS, 2) + " ms"
	}
	var per []perImage
	json.Unmarshal(r.PerImage, &per) //nolint:errcheck // a malformed table shows as empty
	// results.warmup, which the worker records.
	warmup := r.Warmup
	kv = append(kv, templates.KV{Key: "Runtime ms (mean of per-image medians)", Value: rt})
	if r.RuntimeMinMS != nil && r.RuntimeMaxMS != nil {
		kv = append(kv, templates.KV{Key: "Runtime min–max (mean of per-image fastest / slowest run)", Value: fmtFloat(*r.RuntimeMinMS, 2) + " – " + fmtFloat(*r.RuntimeMaxMS, 2) + " ms"})
	}
	reps := strconv.Itoa(r.Repeats) + " timed runs per image, after " + strconv.Itoa(warmup) + " warm-up"
	kv = append(kv, templates.KV{Key: "Repeats", Value: reps})
	if r.PeakMemoryMB != nil {
		kv = append(kv, templates.KV{Key: "Peak memory", Value: fmtFloat(*r.PeakMemoryMB, 1) + " MB"})
	}
	if r.Device != "" {
		kv = append(kv, templates.KV{Key: "Device", Value: r.Device})
	}
	if r.ORTVersion != "" {
		kv = append(kv, templates.KV{Key: "ONNX Runtime", Value: r.ORTVersion})
	}
	rows := make([]templates.ImageRow, 0, len(per))
	for i, p := range per {
		row := templates.ImageRow{Name: p.Name, Runtime: fmtPtr(p.RuntimeMS, 2)}
		if reveal {
			row.PSNR, row.SSIM = fmtPtr(p.PSNR, 3), fmtPtr(p.SSIM, 4)
		} else {
			row.Name = "image " + strconv.Itoa(i+1)
		}
		rows = append(rows, row)
	}
	return kv, rows, runtimeNote(r.Repeats, warmup)
}

func fmtFloat(f float64, prec int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

func fmtPtr(f *float64, prec int) string {
	if f == nil {
		return ""
	}
	return fmtFloat(*f, prec)
}

// fmtCount prints a count the way ESR tables do: 1.234 M, 166.43 G.
func fmtCount(f float64) string {
	switch a := math.Abs(f); {
	case a >= 1e9:
		return fmtFloat(f/1e9, 2) + " G"
	case a >= 1e6:
		return fmtFloat(f/1e6, 3) + " M"
	case a >= 1e3:
		return fmtFloat(f/1e3, 1) + " K"
	}
	return fmtFloat(f, 0)
}
