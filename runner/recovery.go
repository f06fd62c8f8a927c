package runner

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/store"
)

// ErrorHandler is the River client's error handler (river.Config.ErrorHandler).
// A panic in Work skips Work's own bookkeeping, so on the job's final
// attempt HandlePanic marks the submission failed with InternalErrorMessage;
// without it the submission would stay "running" forever. Errors returned
// by Work are already recorded by Work itself: HandleError does nothing.
type ErrorHandler struct {
	Store *store.Store
	Log   *slog.Logger
}

var _ river.ErrorHandler = (*ErrorHandler)(nil)

// HandleError leaves River's retry schedule alone.
func (h *ErrorHandler) HandleError(context.Context, *rivertype.JobRow, error) *river.ErrorHandlerResult {
	return nil
}

// HandlePanic logs the panic and, on the final attempt of an evaluate job,
// fails the submission.
func (h *ErrorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempt, "max_attempts", job.MaxAttempts)
	log.Error("job panicked", "panic", panicVal, "trace", trace)
	if job.Kind != (jobs.Evaluate{}).Kind() || job.Attempt < job.MaxAttempts {
		return nil // River retries it
	}
	var args jobs.Evaluate
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		log.Error("panicked job has unreadable arguments; the sweeper will fail its submission", "err", err)
		return nil
	}
	// ctx may be the client's, already ending: record the outcome anyway.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	applied, err := h.Store.FailUnfinished(bg, args.SubmissionID, InternalErrorMessage)
	switch {
	case err != nil:
		log.Error("marking the submission of a panicked job failed", "submission", args.SubmissionID, "err", err)
	case applied:
		log.Warn("submission failed after a panic on the final attempt", "submission", args.SubmissionID)
	}
	return nil
}

// OrphanGrace is how long a queued or running submission may be without a
// live evaluate job before SweepOrphans fails it: long enough for a job
// inserted just after its submission, or a worker recording its own
// outcome as the job finalises.
const OrphanGrace = 5 * time.Minute

// SweepOrphans fails (InternalErrorMessage) every queued or running
// submission whose evaluate jobs are all discarded, cancelled or completed,
// or which has none, for more than OrphanGrace. It returns their ids.
func SweepOrphans(ctx context.Context, st *store.Store) ([]int64, error) {
	return st.FailOrphanedEvaluations(ctx, OrphanGrace, InternalErrorMessage)
}

// RunSweeper runs SweepOrphans every interval until ctx ends. Every worker
// runs it; the UPDATE is idempotent, so several at once do no harm.
func RunSweeper(ctx context.Context, st *store.Store, interval time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ids, err := SweepOrphans(ctx, st)
		if err != nil && ctx.Err() == nil {
			log.Warn("sweeping orphaned evaluations", "err", err)
		} else if len(ids) > 0 {
			log.Error("failed orphaned evaluations (no live job)", "submissions", ids)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
