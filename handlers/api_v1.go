package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
)

// API serves /api/v1 on the domain layer. Uploads go through the same
// pipeline as the page's form (Upload.receive).
type API struct {
	*Base
	Domain *domain.Service
	Upload *Upload
}

type apiDataset struct {
	Name  string `json:"name"`
	Split string `json:"split"`
}

type apiQuota struct {
	UsedToday    int       `json:"used_today"`
	UsedTotal    int       `json:"used_total"`
	Active       int       `json:"active"`
	DailyResetAt time.Time `json:"daily_reset_at"`
}

type apiPhase struct {
	Name            string       `json:"name"`
	Title           string       `json:"title"`
	State           string       `json:"state"`
	OpensAt         *time.Time   `json:"opens_at"`
	ClosesAt        *time.Time   `json:"closes_at"`
	Window          string       `json:"window"`
	QuotaDaily      int          `json:"quota_daily"`
	QuotaTotal      int          `json:"quota_total"`
	QuotaConcurrent int          `json:"quota_concurrent"`
	EntryRule       string       `json:"entry_rule"`
	Visibility      string       `json:"visibility"`
	ScoresVisible   bool         `json:"scores_visible"`
	Datasets        []apiDataset `json:"datasets"`
	Quota           *apiQuota    `json:"quota"`
	// Fair runtimes: what the board ranks (raw, or ratio × reference) and
	// how runs are timed (robust, official).
	RuntimeBasis       string   `json:"runtime_basis"`
	RuntimeReferenceMS *float64 `json:"runtime_reference_ms"`
	TimingProtocol     string   `json:"timing_protocol"`
	// Threads: ONNX Runtime intra-op threads of the phase's evaluations;
	// null: each worker's own setting.
	Threads *int `json:"threads"`
}

type apiTeam struct {
	Name    string   `json:"name"`
	Solo    bool     `json:"solo"`
	Members []string `json:"members"`
}

type apiChallenge struct {
	Slug           string     `json:"slug"`
	Title          string     `json:"title"`
	Scale          int        `json:"scale"`
	MaxUploadBytes int64      `json:"max_upload_bytes"`
	CurrentPhase   string     `json:"current_phase"`
	Phases         []apiPhase `json:"phases"`
	Registration   *struct {
		State string `json:"state"`
	} `json:"registration"`
	Team *apiTeam `json:"team"`
}

func phaseOut(p domain.PhaseInfo) apiPhase {
	out := apiPhase{Name: p.Name, Title: p.Title, State: p.State, OpensAt: p.OpensAt, ClosesAt: p.ClosesAt,
		Window: p.Window, QuotaDaily: p.QuotaDaily, QuotaTotal: p.QuotaTotal, QuotaConcurrent: p.QuotaConcurrent,
		EntryRule: p.EntryRule, Visibility: p.Visibility, ScoresVisible: p.ScoresVisible, Datasets: []apiDataset{}}
	for _, d := range p.Datasets {
		out.Datasets = append(out.Datasets, apiDataset{Name: d.Name, Split: d.Split})
	}
	out.RuntimeBasis, out.RuntimeReferenceMS, out.TimingProtocol, out.Threads = p.RuntimeBasis, p.RuntimeReferenceMS, p.TimingProtocol, p.Threads
	if q := p.Quota; q != nil {
		out.Quota = &apiQuota{UsedToday: q.UsedToday, UsedTotal: q.UsedTotal, Active: q.Active, DailyResetAt: q.DailyResetAt}
	}
	return out
}

func teamOut(t *store.Team) *apiTeam {
	if t == nil {
		return nil
	}
	out := &apiTeam{Name: t.Name, Solo: t.Solo, Members: []string{}}
	for _, m := range t.Members {
		out.Members = append(out.Members, m.Username)
	}
	return out
}

func challengeOut(ci domain.ChallengeInfo) apiChallenge {
	out := apiChallenge{Slug: ci.Slug, Title: ci.Title, Scale: ci.Scale, MaxUploadBytes: ci.MaxUploadBytes,
		Phases: []apiPhase{}, Team: teamOut(ci.Team)}
	for _, p := range ci.Phases {
		out.Phases = append(out.Phases, phaseOut(p))
	}
	if ci.Current >= 0 && ci.Current < len(ci.Phases) {
		out.CurrentPhase = ci.Phases[ci.Current].Name
	}
	if ci.Registration != nil {
		out.Registration = &struct {
			State string `json:"state"`
		}{ci.Registration.State}
	}
	return out
}

// Challenges lists every challenge with its phases. GET /api/v1/challenges
func (h *API) Challenges(w http.ResponseWriter, r *http.Request) error {
	vw := viewer(r)
	cs, err := h.Domain.Challenges(r.Context(), vw)
	if err != nil {
		return err
	}
	out := []apiChallenge{}
	for _, c := range cs {
		ci, err := h.Domain.Challenge(r.Context(), vw, c.Slug)
		if errors.Is(err, domain.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		out = append(out, challengeOut(ci))
	}
	return WriteJSON(w, http.StatusOK, out)
}

// Challenge is one challenge. GET /api/v1/challenges/{slug}
func (h *API) Challenge(w http.ResponseWriter, r *http.Request) error {
	ci, err := h.Domain.Challenge(r.Context(), viewer(r), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, challengeOut(ci))
}

// Phases lists a challenge's phases. GET /api/v1/challenges/{slug}/phases
func (h *API) Phases(w http.ResponseWriter, r *http.Request) error {
	ci, err := h.Domain.Challenge(r.Context(), viewer(r), chi.URLParam(r, "slug"))
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, challengeOut(ci).Phases)
}

// maxJSONBody caps JSON request bodies.
const maxJSONBody = 64 << 10

// decodeJSON reads a small JSON body into v; a NUL byte or invalid UTF-8
// in a string is refused like in forms.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return Errorf(http.StatusUnsupportedMediaType, "Send the request body as JSON with Content-Type: application/json.")
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		return Errorf(http.StatusRequestEntityTooLarge, "The request body is larger than %d KiB.", maxJSONBody>>10)
	}
	dec := json.NewDecoder(bytesReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Status: http.StatusBadRequest, Msg: "The request body is not the expected JSON: " + err.Error() + ". See /api/v1/openapi.json.", Err: err}
	}
	// Raw invalid UTF-8 is replaced by json on decoding, and a NUL arrives
	// escaped (\u0000): check both the body and what it decoded to.
	if !CleanText(string(b)) || !cleanStrings(reflect.ValueOf(v)) {
		return Errorf(http.StatusBadRequest, "The request contains a NUL byte or invalid UTF-8; nothing here accepts that.")
	}
	return nil
}

// cleanStrings reports whether every string reachable from v is CleanText.
func cleanStrings(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return CleanText(v.String())
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || cleanStrings(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if !cleanStrings(v.Field(i)) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if !cleanStrings(v.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if !cleanStrings(it.Key()) || !cleanStrings(it.Value()) {
				return false
			}
		}
	}
	return true
}

type registerIn struct {
	AcceptTerms bool   `json:"accept_terms"`
	Team        string `json:"team"`
}

type registrationOut struct {
	Challenge string   `json:"challenge"`
	State     string   `json:"state"`
	Team      *apiTeam `json:"team"`
}

// Register registers the token's user, with a new team or solo.
// POST /api/v1/challenges/{slug}/registration {"accept_terms": true, "team": "NAME"}
func (h *API) Register(w http.ResponseWriter, r *http.Request) error {
	var in registerIn
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	slug := chi.URLParam(r, "slug")
	vw := viewer(r)
	reg, err := h.Domain.Register(r.Context(), vw, slug, in.AcceptTerms, in.Team)
	if err != nil {
		return err
	}
	ci, err := h.Domain.Challenge(r.Context(), vw, slug)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, registrationOut{Challenge: slug, State: reg.State, Team: teamOut(ci.Team)})
}

// jsonFloat is a measurement that is null when missing or not finite.
func jsonFloat(f *float64) *float64 {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return nil
	}
	return f
}

func jf(f float64) *float64 { return jsonFloat(&f) }

type apiProgress struct {
	Image  int `json:"image"`
	Images int `json:"images"`
}

// submissionOut is a submission with its results in the field names of
// `srarena eval --json` (psnr, runtime_ms, …), plus id and status.
type submissionOut struct {
	ID             int64        `json:"id"`
	Status         string       `json:"status"`
	Message        string       `json:"message"`
	Challenge      string       `json:"challenge"`
	Phase          string       `json:"phase"`
	Team           string       `json:"team"`
	Label          string       `json:"label"`
	MethodName     string       `json:"method_name"`
	DataRange      float32      `json:"data_range"`
	Selected       bool         `json:"selected"`
	ScoresHidden   bool         `json:"scores_hidden"`
	CreatedAt      time.Time    `json:"created_at"`
	StartedAt      *time.Time   `json:"started_at"`
	FinishedAt     *time.Time   `json:"finished_at"`
	QueuePosition  int          `json:"queue_position,omitempty"`
	QueueEstimateS *float64     `json:"queue_estimate_s,omitempty"`
	Progress       *apiProgress `json:"progress,omitempty"`
	CanCancel      bool         `json:"can_cancel"`
	CanSelect      bool         `json:"can_select"`

	PSNR         *float64        `json:"psnr"`
	PSNRY        *float64        `json:"psnr_y"`
	SSIM         *float64        `json:"ssim"`
	RuntimeMS    *float64        `json:"runtime_ms"`
	RuntimeStdMS *float64        `json:"runtime_std_ms"`
	RuntimeMinMS *float64        `json:"runtime_min_ms"`
	RuntimeMaxMS *float64        `json:"runtime_max_ms"`
	Warmup       *int            `json:"warmup"`
	Repeats      *int            `json:"repeats"`
	PeakMemoryMB *float64        `json:"peak_memory_mb"`
	ORTVersion   string          `json:"ort_version"`
	Device       string          `json:"device"`
	Sandbox      string          `json:"sandbox"`
	Images       json.RawMessage `json:"images,omitempty"`
	// Fair runtimes: the ratio to the baseline timed beside it with the
	// runner's own spread, the timing protocol, and the machine and
	// software that measured it (CPU/GPU model, driver, ONNX Runtime
	// version, execution provider, threads, host).
	RuntimeRatio      *float64        `json:"runtime_ratio,omitempty"`
	RuntimeRatioStd   *float64        `json:"runtime_ratio_std,omitempty"`
	RuntimeRatioCV    *float64        `json:"runtime_ratio_cv,omitempty"`
	RatioClock        string          `json:"runtime_ratio_clock,omitempty"`
	BaselineRuntimeMS *float64        `json:"baseline_runtime_ms,omitempty"`
	Protocol          string          `json:"protocol,omitempty"`
	Environment       json.RawMessage `json:"environment,omitempty"`
	// Per split, where the phase has datasets of that split (the
	// leaderboard's names); runtime_ms is their mean with both.
	PSNRVal       *float64 `json:"psnr_val,omitempty"`
	PSNRTest      *float64 `json:"psnr_test,omitempty"`
	RuntimeValMS  *float64 `json:"val_time_ms,omitempty"`
	RuntimeTestMS *float64 `json:"test_time_ms,omitempty"`

	Params      *float64        `json:"params"`
	FlopsKAIR   *float64        `json:"flops_kair"`
	Activations *float64        `json:"activations"`
	ConvLayers  *float64        `json:"conv_layers"`
	Profile     json.RawMessage `json:"profile,omitempty"`
}

func submissionFrom(si domain.SubmissionInfo) submissionOut {
	out := submissionOut{ID: si.ID, Status: si.Status, Message: si.Message, Challenge: si.Challenge.Slug,
		Phase: si.Phase.Name, Team: si.TeamName, Label: si.Label, MethodName: si.MethodName, DataRange: si.DataRange,
		Selected: si.Selected, ScoresHidden: si.ScoresHidden, CreatedAt: si.CreatedAt, StartedAt: si.StartedAt,
		FinishedAt: si.FinishedAt, CanCancel: si.CanCancel, CanSelect: si.CanSelect}
	if q := si.Queue; q != nil {
		out.QueuePosition = q.Position
		if q.EstimateKnown {
			out.QueueEstimateS = jf(q.Estimate.Seconds())
		}
	}
	if si.Status == store.StatusRunning && si.ImagesTotal > 0 {
		out.Progress = &apiProgress{Image: si.ImagesDone, Images: si.ImagesTotal}
	}
	if res := si.Result; res != nil {
		out.PSNR, out.PSNRY, out.SSIM = jf(res.PSNR), jsonFloat(res.PSNRY), jsonFloat(res.SSIM)
		out.RuntimeMS, out.RuntimeStdMS = jf(res.RuntimeMS), jsonFloat(res.RuntimeStdMS)
		out.RuntimeMinMS, out.RuntimeMaxMS = jsonFloat(res.RuntimeMinMS), jsonFloat(res.RuntimeMaxMS)
		out.Warmup, out.Repeats = &res.Warmup, &res.Repeats
		out.PeakMemoryMB = jsonFloat(res.PeakMemoryMB)
		out.ORTVersion, out.Device, out.Sandbox = res.ORTVersion, res.Device, res.Sandbox
		out.PSNRVal, out.PSNRTest = jsonFloat(res.PSNRVal), jsonFloat(res.PSNRTest)
		out.RuntimeValMS, out.RuntimeTestMS = jsonFloat(res.RuntimeValMS), jsonFloat(res.RuntimeTestMS)
		if si.PerImageScores && json.Valid(res.PerImage) {
			out.Images = res.PerImage
		}
		out.RuntimeRatio, out.RuntimeRatioStd, out.RuntimeRatioCV = jsonFloat(res.RuntimeRatio), jsonFloat(res.RuntimeRatioStd), jsonFloat(res.RuntimeRatioCV)
		out.RatioClock, out.BaselineRuntimeMS, out.Protocol = res.RatioClock, jsonFloat(res.BaselineRuntimeMS), res.Protocol
		if json.Valid(res.Environment) && string(res.Environment) != "{}" {
			out.Environment = res.Environment
		}
	}
	if len(si.Profile) > 0 && json.Valid(si.Profile) {
		p := domain.ParseProfile(si.Profile)
		out.Params, out.FlopsKAIR, out.Activations, out.ConvLayers = p.Params, p.FlopsKAIR, p.Activations, p.ConvLayers
		out.Profile = si.Profile
	}
	return out
}

// Submission is a submission's status and results. GET /api/v1/submissions/{id}
func (h *API) Submission(w http.ResponseWriter, r *http.Request) error {
	id, err := submissionID(r)
	if err != nil {
		return err
	}
	si, err := h.Domain.Submission(r.Context(), viewer(r), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusOK, submissionFrom(si))
}

type apiLogLine struct {
	ID   int64     `json:"id"`
	At   time.Time `json:"at"`
	Line string    `json:"line"`
}

// Log is a submission's evaluation log. GET /api/v1/submissions/{id}/log?after=ID
func (h *API) Log(w http.ResponseWriter, r *http.Request) error {
	id, err := submissionID(r)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	lines, err := h.Domain.Logs(r.Context(), viewer(r), id, max(after, 0), maxLogLines)
	if err != nil {
		return err
	}
	out := []apiLogLine{}
	for _, l := range lines {
		out = append(out, apiLogLine{ID: l.ID, At: l.At, Line: l.Line})
	}
	return WriteJSON(w, http.StatusOK, out)
}

// Cancel withdraws a queued or running submission. POST /api/v1/submissions/{id}/cancel
func (h *API) Cancel(w http.ResponseWriter, r *http.Request) error {
	id, err := submissionID(r)
	if err != nil {
		return err
	}
	if err := h.Domain.Cancel(r.Context(), viewer(r), id); err != nil {
		return err
	}
	return h.Submission(w, r)
}

// Select makes a finished submission the team's entry. POST /api/v1/submissions/{id}/select
func (h *API) Select(w http.ResponseWriter, r *http.Request) error {
	id, err := submissionID(r)
	if err != nil {
		return err
	}
	if err := h.Domain.SelectEntry(r.Context(), viewer(r), id); err != nil {
		return err
	}
	return h.Submission(w, r)
}

// TeamSubmissions lists the team's submissions.
// GET /api/v1/challenges/{slug}/submissions?phase=NAME
func (h *API) TeamSubmissions(w http.ResponseWriter, r *http.Request) error {
	vw := viewer(r)
	subs, err := h.Domain.TeamSubmissions(r.Context(), vw, chi.URLParam(r, "slug"), r.URL.Query().Get("phase"))
	if err != nil {
		return err
	}
	out := []submissionOut{}
	for _, s := range subs {
		// Submission applies every visibility rule (hidden scores, per-image
		// values) in one place.
		si, err := h.Domain.Submission(r.Context(), vw, s.ID)
		if err != nil {
			return err
		}
		out = append(out, submissionFrom(si))
	}
	w.Header().Set("Cache-Control", "no-store")
	return WriteJSON(w, http.StatusOK, out)
}

// Leaderboard is a phase's board. GET /api/v1/challenges/{slug}/leaderboard?phase=NAME
func (h *API) Leaderboard(w http.ResponseWriter, r *http.Request) error {
	_, board, err := h.Domain.Leaderboard(r.Context(), viewer(r), chi.URLParam(r, "slug"), r.URL.Query().Get("phase"))
	if err != nil {
		return err
	}
	if board.Rows == nil {
		board.Rows = []domain.LeaderRow{}
	}
	return WriteJSON(w, http.StatusOK, board)
}

// Submit uploads a model (multipart/form-data, streamed: phase, label,
// method_name, description, data_range, then model) through the same
// pipeline as the page's form, without a CSRF part: the token is the
// credential. POST /api/v1/challenges/{slug}/submissions
func (h *API) Submit(w http.ResponseWriter, r *http.Request) error {
	vw := viewer(r)
	id, _, err := h.Upload.receive(w, r, vw, chi.URLParam(r, "slug"), nil)
	var ref *Refusal
	if errors.As(err, &ref) {
		body := map[string]any{"error": ref.Msg, "status": ref.Status}
		if len(ref.Problems) > 0 {
			body["problems"] = ref.Problems
		}
		return WriteJSON(w, ref.Status, body)
	}
	if err != nil {
		return err
	}
	si, err := h.Domain.Submission(r.Context(), vw, id)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusCreated, submissionFrom(si))
}
