package handlers

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/analysis"
	"github.com/srarena/srarena/pagecache"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/templates"
)

// MaxAnalysisCSVBytes caps an uploaded results CSV: the published tables
// are a few kB; 1 MiB is thousands of rows.
const MaxAnalysisCSVBytes = 1 << 20

// Analysis serves the runtime-correlation pages: the reference tables, the
// "analyse your own table" form and its JSON API.
type Analysis struct {
	*Base
	// Throttle limits analyses per client address (AnalysesPerIP); nil
	// means no limit.
	Throttle *AnalysisThrottle
}

// viewOf lays a report out for the page.
func viewOf(rep *analysis.Report) templates.Analysis {
	v := templates.Analysis{Heading: rep.Title, Verdict: rep.Verdict, Summary: string(rep.Summary("coef-summary")),
		Intro: "Which complexity measure predicts a model's runtime? For each measure: a log-log scatter of runtime against it " +
			"(one point per ranked entry, its name on hover, the baseline highlighted, the least-squares line), and the Pearson, " +
			"Spearman and Kendall coefficients with their 95 % intervals."}
	v.Counts = fmt.Sprintf("%d ranked entries are in the statistics", rep.Ranked)
	if rep.Baselines > 0 {
		v.Counts += fmt.Sprintf("; %d baseline(s) are drawn highlighted but not counted", rep.Baselines)
	}
	if rep.Excluded > 0 {
		v.Counts += fmt.Sprintf("; %d other row(s) (unranked, gated or not competing) are left out", rep.Excluded)
	}
	v.Counts += "."
	ci := func(iv scoring.Interval) string {
		if iv.Lo != iv.Lo || iv.Hi != iv.Hi {
			return "–"
		}
		return "[" + analysis.Fixed4(iv.Lo) + ", " + analysis.Fixed4(iv.Hi) + "]"
	}
	for i, r := range rep.Results {
		m := templates.AnalysisMeasure{ID: "m-" + r.Column, Name: r.Name, N: strconv.Itoa(r.N),
			Pearson: analysis.Fixed4(r.Pearson), Spearman: analysis.Fixed4(r.Spearman), Kendall: analysis.Fixed4(r.Kendall),
			PearsonCI: ci(r.PearsonCI), SpearmanCI: ci(r.SpearmanCI), KendallCI: ci(r.KendallCI),
			Slope: analysis.Fixed4(r.Fit.Slope), Chart: string(r.Chart("chart-" + strconv.Itoa(i)))}
		v.Measures = append(v.Measures, m)
	}
	return v
}

// Index is the form and the list of references. GET /analysis
func (h *Analysis) Index(w http.ResponseWriter, r *http.Request) error {
	return h.index(w, r, http.StatusOK, "")
}

func (h *Analysis) index(w http.ResponseWriter, r *http.Request, status int, msg string) error {
	v := templates.AnalysisIndex{Error: msg, MaxBytes: "1 MiB"}
	for _, ref := range analysis.References {
		v.References = append(v.References, templates.AnalysisRef{Href: "/analysis/" + ref.Slug, Title: ref.Title, Source: ref.Source})
	}
	return Render(r.Context(), w, status, templates.AnalysisIndexPage(h.Page(r, "Runtime analysis"), v))
}

// Reference shows a shipped table's analysis. GET /analysis/{ref}
func (h *Analysis) Reference(w http.ResponseWriter, r *http.Request) error {
	ref, ok := analysis.ReferenceBySlug(chi.URLParam(r, "ref"))
	if !ok {
		return ErrNotFound
	}
	rep, err := ref.Analyze()
	if err != nil {
		return err
	}
	v := viewOf(rep)
	v.Source, v.Notes, v.BackHref, v.BackText = ref.Source, ref.Notes, "/analysis", "Other tables, or analyse your own"
	v.CSVHref = "/analysis/" + ref.Slug + "/table.csv"
	return Render(r.Context(), w, http.StatusOK, templates.AnalysisPage(h.Page(r, "Runtime analysis · "+ref.Title), v))
}

// ReferenceCSV serves a shipped table. GET /analysis/{ref}/table.csv
func (h *Analysis) ReferenceCSV(w http.ResponseWriter, r *http.Request) error {
	ref, ok := analysis.ReferenceBySlug(chi.URLParam(r, "ref"))
	if !ok {
		return ErrNotFound
	}
	pagecache.NewPage("text/csv; charset=utf-8", ref.CSV()).Serve(w, r)
	return nil
}

// MaxAnalysisRows caps the rows of an uploaded table: Kendall's τ is
// O(n²) per measure, and the form and API are public.
const MaxAnalysisRows = 5000

var errTooBig = errors.New("too big")

// readCSVLimited reads a results table of at most MaxAnalysisCSVBytes and
// MaxAnalysisRows rows.
func readCSVLimited(body io.Reader) (*scoring.Results, error) {
	lr := &io.LimitedReader{R: body, N: MaxAnalysisCSVBytes + 1}
	t, err := scoring.ReadResultsCSV(lr)
	if lr.N <= 0 {
		return nil, errTooBig
	}
	if err == nil && len(t.Rows) > MaxAnalysisRows {
		return nil, fmt.Errorf("%d rows; at most %d are analysed", len(t.Rows), MaxAnalysisRows)
	}
	return t, err
}

// csvError is a bad table as a message for the visitor.
func csvError(err error) string {
	if errors.Is(err, errTooBig) {
		return "The file is larger than 1 MiB; nothing was analysed."
	}
	return "The file is not a results CSV srarena can read: " + err.Error()
}

// Upload analyses an uploaded table: multipart/form-data with csrf_token
// first, then the file "csv", streamed. POST /analysis
func (h *Analysis) Upload(w http.ResponseWriter, r *http.Request) error {
	if msg, err := h.Throttle.admit(w, r); err != nil {
		return err
	} else if msg != "" {
		w.Header().Set("Connection", "close") // do not read the rest of the body
		return h.index(w, r, http.StatusTooManyRequests, msg)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxAnalysisCSVBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return h.index(w, r, http.StatusBadRequest, "Choose a CSV file to upload.")
	}
	vis := VisitorFrom(r.Context())
	part, err := mr.NextPart()
	if err != nil || part.FormName() != "csrf_token" {
		return &Error{Status: http.StatusForbidden, Msg: "The form was stale or forged (CSRF check failed). Reload the page and try again.", Err: err}
	}
	tok, _ := io.ReadAll(io.LimitReader(part, 128))
	if vis.CSRF == "" || !constEq(string(tok), vis.CSRF) {
		return &Error{Status: http.StatusForbidden, Msg: "The form was stale or forged (CSRF check failed). Reload the page and try again."}
	}
	var file *multipart.Part
	for {
		p, err := mr.NextPart()
		if err != nil {
			return h.index(w, r, http.StatusBadRequest, "Choose a CSV file to upload.")
		}
		if p.FormName() == "csv" {
			file = p
			break
		}
	}
	t, err := readCSVLimited(file)
	if err != nil {
		return h.index(w, r, http.StatusUnprocessableEntity, csvError(err))
	}
	rep, err := analysis.Analyze("Runtime analysis of your table", t)
	if err != nil {
		return h.index(w, r, http.StatusUnprocessableEntity, csvError(err))
	}
	v := viewOf(rep)
	v.Notes = "Your table was analysed and not stored; reload the form to analyse another."
	v.BackHref, v.BackText = "/analysis", "Analyse another table"
	return Render(r.Context(), w, http.StatusOK, templates.AnalysisPage(h.Page(r, "Runtime analysis of your table"), v))
}

// API returns the correlations of the CSV body as `srarena correlate
// --json` prints them. POST /api/v1/analysis
func (h *Analysis) API(w http.ResponseWriter, r *http.Request) error {
	if msg, err := h.Throttle.admit(w, r); err != nil {
		return err
	} else if msg != "" {
		w.Header().Set("Connection", "close")
		return Errorf(http.StatusTooManyRequests, "%s", msg)
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxAnalysisCSVBytes+1)
	t, err := readCSVLimited(r.Body)
	if err == nil {
		var cs []scoring.Correlation
		if cs, err = scoring.CorrelateResults(t); err == nil {
			var buf bytes.Buffer
			if err := analysis.WriteJSON(&buf, cs); err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/json")
			_, err = buf.WriteTo(w)
			return err
		}
	}
	var mbe *http.MaxBytesError
	status := http.StatusUnprocessableEntity
	if errors.Is(err, errTooBig) || errors.As(err, &mbe) {
		status, err = http.StatusRequestEntityTooLarge, errTooBig
	}
	// The API's error envelope, like every other /api/v1 route.
	return Errorf(status, "%s", csvError(err))
}

// Analysis is a challenge's runtime analysis, from its ranked leaderboard
// rows (the baseline highlighted). GET /c/{slug}/analysis
func (h *FastBoard) Analysis(w http.ResponseWriter, r *http.Request) error {
	render := func(d *boardData) (templates.Analysis, error) {
		rep, err := analysis.Analyze("Runtime analysis · "+d.c.Title, d.table.CSV)
		if err != nil {
			return templates.Analysis{}, err
		}
		v := viewOf(rep)
		v.Source = "This challenge's leaderboard: one row per ranked team, as measured by srarena on " + cmpOr(d.b.Device, "an unrecorded device") + "."
		v.BackHref, v.BackText, v.CSVHref = "/c/"+d.c.Slug+"/leaderboard", "Back to the leaderboard", "/c/"+d.c.Slug+"/leaderboard.csv"
		for _, l := range d.table.Lines {
			if l.Synthetic {
				v.Synthetic = "This challenge's results are (partly) synthetic: made up by srarena seed for demos and load tests, never measured; the statistics below describe made-up numbers."
				break
			}
		}
		return v, nil
	}
	page := h.Page(r, "")
	return h.page(w, r, "analysis", func(d *boardData) (*pagecache.Page, error) {
		page.Title = "Runtime analysis · " + d.c.Title
		v, err := render(d)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if err := templates.AnalysisPage(page, v).Render(context.Background(), &buf); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		return pagecache.NewPage("text/html; charset=utf-8", buf.Bytes()), nil
	})
}

func constEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
