package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// SubmissionStore is the part of the store submission pages use.
type SubmissionStore interface {
	ChallengeBySlug(ctx context.Context, slug string) (store.Challenge, error)
	SubmissionByID(ctx context.Context, id int64) (store.Submission, error)
	ResultBySubmission(ctx context.Context, submissionID int64) (store.Result, error)
	SubmissionLogs(ctx context.Context, submissionID, afterID int64, limit int) ([]store.LogLine, error)
	SubmissionsOfUser(ctx context.Context, challengeID, userID int64) ([]store.Scored, error)
	ChallengeByID(ctx context.Context, id int64) (store.Challenge, error)
	DatasetByID(ctx context.Context, id int64) (store.Dataset, error)
}

// SubmissionPages serves a submission's page, its live status and the
// user's list of submissions.
type SubmissionPages struct {
	*Base
	Store SubmissionStore
}

// maxLogLines bounds the log a page or a poll returns.
const maxLogLines = 2000

// load returns the submission if the visitor may see it: its owner or an
// admin. Everyone else gets the same 404 as for a missing id.
func (h *SubmissionPages) load(r *http.Request) (store.Submission, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Submission{}, ErrNotFound
	}
	sub, err := h.Store.SubmissionByID(r.Context(), id)
	if err != nil {
		return sub, notFoundAs(err)
	}
	u := VisitorFrom(r.Context()).User
	if u == nil || !(u.IsAdmin || (sub.UserID != nil && *sub.UserID == u.ID)) {
		return sub, ErrNotFound
	}
	return sub, nil
}

func live(status string) bool { return status == store.StatusQueued || status == store.StatusRunning }

// Show is a submission's page. GET /submissions/{id}
func (h *SubmissionPages) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	sub, err := h.load(r)
	if err != nil {
		return err
	}
	c, err := h.Store.ChallengeByID(ctx, sub.ChallengeID)
	if err != nil {
		return err
	}
	v := templates.Submission{
		ID: sub.ID, ChallengeSlug: c.Slug, ChallengeTitle: c.Title, Owner: sub.Username,
		Label: sub.Label, Status: sub.Status, Message: sub.Message,
		Created: fmtTime(&sub.CreatedAt), Started: fmtTime(sub.StartedAt), Ended: fmtTime(sub.FinishedAt),
		ModelSHA256: sub.ModelSHA256, ModelSize: fmtBytes(sub.ModelBytes), DataRange: fmtDataRange(sub.DataRange),
		Profile: profileKVs(sub.Profile), Live: live(sub.Status),
		StatusURL: "/submissions/" + strconv.FormatInt(sub.ID, 10) + "/status.json",
	}
	ds, err := h.Store.DatasetByID(ctx, sub.DatasetID)
	if err != nil {
		return err
	}
	// A test split is hidden: per-image scores would let a participant
	// probe it image by image, and its image names are not public. Admins
	// see everything.
	reveal := ds.Split == "validation" || VisitorFrom(ctx).User.IsAdmin
	res, err := h.Store.ResultBySubmission(ctx, sub.ID)
	switch {
	case err == nil:
		v.Metrics, v.Images, v.RuntimeNote = resultView(res, reveal)
		v.ImageScores = reveal
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	logs, err := h.Store.SubmissionLogs(ctx, sub.ID, 0, maxLogLines)
	if err != nil {
		return err
	}
	for _, l := range logs {
		v.Log = append(v.Log, templates.LogLine{ID: l.ID, At: l.At.UTC().Format(time.TimeOnly), Line: l.Line})
		v.LastLogID = l.ID
	}
	p := h.Page(r, fmt.Sprintf("Submission #%d", sub.ID))
	if v.Live {
		p.Refresh = 5
	}
	return Render(ctx, w, http.StatusOK, templates.SubmissionPage(p, v))
}

// StatusJSON is what the page's script polls. GET /submissions/{id}/status.json?after=LOGID
type StatusJSON struct {
	ID       int64      `json:"id"`
	Status   string     `json:"status"`
	Message  string     `json:"message"`
	Started  *time.Time `json:"started_at"`
	Finished *time.Time `json:"finished_at"`
	Log      []logJSON  `json:"log"`
}

type logJSON struct {
	ID   int64  `json:"id"`
	At   string `json:"at"`
	Line string `json:"line"`
}

// Status returns the submission's state and the log lines after ?after.
func (h *SubmissionPages) Status(w http.ResponseWriter, r *http.Request) error {
	sub, err := h.load(r)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	logs, err := h.Store.SubmissionLogs(r.Context(), sub.ID, after, maxLogLines)
	if err != nil {
		return err
	}
	out := StatusJSON{ID: sub.ID, Status: sub.Status, Message: sub.Message, Started: sub.StartedAt,
		Finished: sub.FinishedAt, Log: []logJSON{}}
	for _, l := range logs {
		out.Log = append(out.Log, logJSON{ID: l.ID, At: l.At.UTC().Format(time.TimeOnly), Line: l.Line})
	}
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusOK, out)
}

// Mine lists the visitor's submissions to a challenge. GET /c/{slug}/submissions
func (h *SubmissionPages) Mine(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := VisitorFrom(ctx).User
	if u == nil {
		return Errorf(http.StatusUnauthorized, "Log in to see your submissions.")
	}
	c, err := h.Store.ChallengeBySlug(ctx, chi.URLParam(r, "slug"))
	if err != nil {
		return notFoundAs(err)
	}
	subs, err := h.Store.SubmissionsOfUser(ctx, c.ID, u.ID)
	if err != nil {
		return err
	}
	v := templates.MySubmissions{Slug: c.Slug, Title: c.Title}
	for _, s := range subs {
		row := templates.SubmissionRow{ID: s.ID, Label: s.Label, Status: s.Status, Created: fmtTime(&s.CreatedAt)}
		if s.Result != nil {
			row.PSNR = fmtFloat(s.Result.PSNR, 2)
			row.Runtime = fmtFloat(s.Result.RuntimeMS, 2)
		}
		v.Rows = append(v.Rows, row)
	}
	return Render(ctx, w, http.StatusOK, templates.MySubmissionsPage(h.Page(r, "My submissions"), v))
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

// profile is the subset of onnxmodel.Profile the pages show; decoding only
// these fields keeps the pages working if the profile gains fields.
type profile struct {
	Params      *float64 `json:"params"`
	ConvMACs    *float64 `json:"conv_macs"`
	FlopsKAIR   *float64 `json:"flops_kair"`
	FlopsFvcore *float64 `json:"flops_fvcore"`
	Activations *float64 `json:"activations"`
	ConvLayers  *float64 `json:"conv_layers"`
	Nodes       *float64 `json:"nodes"`
	InputShape  []int64  `json:"input_shape"`
}

func parseProfile(raw json.RawMessage) profile {
	var p profile
	if len(raw) > 0 {
		json.Unmarshal(raw, &p) //nolint:errcheck // a malformed profile shows as empty
	}
	return p
}

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
