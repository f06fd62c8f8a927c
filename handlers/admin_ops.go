package handlers

import (
	"fmt"
	"net/http"
	"time"

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
