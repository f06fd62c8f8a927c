package handlers

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/templates"
)

// Ops is the operations view (site admins: everything; organizers: their
// challenges' queues).
// GET /admin/ops
func (h *AdminPages) Ops(w http.ResponseWriter, r *http.Request) error {
	op, err := h.Domain.Operations(r.Context(), viewer(r))
	if err != nil {
		return err
	}
	v := templates.AdminOps{At: fmtTime(&op.At), IsAdmin: op.IsAdmin, Warnings: op.Warnings}
	if op.IsAdmin {
		v.RiverUI = h.RiverUI
	}
	for _, q := range op.Queues {
		row := templates.AdminQueue{Queue: q.Queue, Available: q.Available, Running: q.Running, Retryable: q.Retryable,
			Scheduled: q.Scheduled, LiveWorkers: q.LiveWorkers, Oldest: "—", Median: "—",
			Mine: fmt.Sprintf("%d / %d", q.MineQueued, q.MineRunning)}
		if q.OldestWaiting > 0 {
			row.Oldest = fmtAge(q.OldestWaiting)
		}
		if q.Evaluations > 0 {
			row.Median = fmt.Sprintf("%s (last %d)", fmtAge(q.Median), q.Evaluations)
		}
		v.Queues = append(v.Queues, row)
	}
	for _, wk := range op.Workers {
		row := templates.AdminOpsWorker{ID: wk.ID, Host: wk.Host, Queue: wk.Queue, Device: wk.Device, Hardware: wk.Hardware,
			ORT: wk.ORTVersion, Heartbeat: fmtTime(&wk.LastHeartbeat), Age: fmtAge(wk.HeartbeatAge), State: "alive",
			Dead: wk.Dead, Done: wk.Done, Failed: wk.Failed}
		if wk.CurrentSubmission != nil {
			row.Submission = *wk.CurrentSubmission
		}
		switch {
		case wk.LostAt != nil:
			row.State = "lost " + fmtTime(wk.LostAt)
		case wk.Dead:
			row.State = "dead (no heartbeat)"
		}
		v.Workers = append(v.Workers, row)
	}
	return Render(r.Context(), w, http.StatusOK, templates.AdminOpsPage(h.Page(r, "Operations"), v))
}

// fmtAge writes a duration to the second (to the 0.1 s under a minute).
func fmtAge(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// finalOf is a phase's newest re-timing run for the panel; nil when none.
func (h *AdminPages) finalOf(r *http.Request, slug, phase string) (*templates.AdminFinal, error) {
	ft, ok, err := h.Domain.PhaseFinalTimings(r.Context(), viewer(r), slug, phase)
	if err != nil || !ok {
		return nil, err
	}
	f := &templates.AdminFinal{Note: ft.Note, Requested: fmt.Sprintf("top %d with %d repeats on %s, asked by %s at %s UTC",
		ft.Run.TopN, ft.Run.Repeats, ft.Run.Queue, ft.Run.RequestedBy, fmtTime(&ft.Run.RequestedAt))}
	for _, t := range ft.Timings {
		row := templates.AdminFinalTiming{Submission: t.SubmissionID, Status: t.Status, Hardware: t.Hardware, Message: t.Message}
		if t.RuntimeMS != nil {
			row.Runtime = strconv.FormatFloat(*t.RuntimeMS, 'f', 2, 64)
			if t.RuntimeStdMS != nil {
				row.Runtime += " ± " + strconv.FormatFloat(*t.RuntimeStdMS, 'f', 2, 64)
			}
		}
		f.Timings = append(f.Timings, row)
	}
	return f, nil
}

// Retime re-times the top N of a phase on the official hardware class.
// POST /admin/c/{slug}/phases/{phase}/retime (top, repeats)
func (h *AdminPages) Retime(w http.ResponseWriter, r *http.Request) error {
	slug, phase := chi.URLParam(r, "slug"), chi.URLParam(r, "phase")
	res, err := h.Domain.RetimeTop(r.Context(), viewer(r), slug, phase, atoiForm(r, "top"), atoiForm(r, "repeats"))
	if err != nil {
		return err
	}
	SetFlash(w, r, fmt.Sprintf("Re-timing %d submissions of the %s phase on %s.", len(res.Submissions), phase, res.Queue))
	http.Redirect(w, r, "/admin/c/"+slug, http.StatusSeeOther)
	return nil
}

// APIRetime is Retime for the organizer API.
// POST /api/v1/challenges/{slug}/phases/{phase}/retime {"top": N, "repeats": R}
func (h *AdminPages) APIRetime(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Top     int `json:"top"`
		Repeats int `json:"repeats"`
	}
	slug, phase := chi.URLParam(r, "slug"), chi.URLParam(r, "phase")
	if err := h.Domain.Organizes(r.Context(), viewer(r), slug); err != nil {
		return err
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := h.Domain.RetimeTop(r.Context(), viewer(r), slug, phase, in.Top, in.Repeats)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusAccepted, map[string]any{"run": res.RunID, "queue": res.Queue, "submissions": res.Submissions})
}

// runtimeNote is the sentence an export carries when its runtimes are a
// final re-timing's ("" otherwise; the export itself already succeeded for
// this viewer, so an error here only loses the sentence, and is logged).
func (h *AdminPages) runtimeNote(r *http.Request, slug, phase string) string {
	note, err := h.Domain.RuntimeNote(r.Context(), viewer(r), slug, phase)
	if err != nil {
		h.Log.WarnContext(r.Context(), "final runtime note", "err", err)
	}
	return note
}
