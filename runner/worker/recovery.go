package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/store"
)

// ErrorHandler is the River client's error handler (river.Config.ErrorHandler).
// A panic inside Worker.Work is recorded by Work itself, which knows the
// evaluation attempt it started, before the panic continues to River. What
// is left for HandlePanic is a panic before Work could record anything: on
// the job's final attempt it fails the submission with InternalErrorMessage
// only while it is still queued (store.FailUnfinished with attempt 0), so a
// stale job never fails a run that another job started; a running one is
// left to the sweeper. Errors returned by Work are already recorded by Work
// itself: HandleError does nothing.
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
// fails the submission if it is still queued.
func (h *ErrorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	log := h.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempt, "max_attempts", job.MaxAttempts)
	log.Error("job panicked", "panic", panicVal, "trace", trace)
	if job.Kind == (jobs.Retime{}).Kind() && job.Attempt >= job.MaxAttempts {
		// A re-timing left running would hold its run's final ranking back.
		var args jobs.Retime
		if err := json.Unmarshal(job.EncodedArgs, &args); err == nil {
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := h.Store.FailFinalTiming(bg, args.FinalTimingID, InternalErrorMessage); err != nil {
				log.Error("marking the final timing of a panicked job failed", "final_timing", args.FinalTimingID, "err", err)
			}
		}
		return nil
	}
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
	applied, err := h.Store.FailUnfinished(bg, args.SubmissionID, 0,
		store.Failure{Outcome: string(outcome.PlatformError), Charged: false, Message: InternalErrorMessage})
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

// jobTimeout is River's limit for one evaluate job: a little above the
// evaluation's own total limit (default 30 minutes), so the runner's
// clearer message wins the race.
func jobTimeout(evalTimeout time.Duration) time.Duration {
	if evalTimeout <= 0 {
		evalTimeout = 30 * time.Minute
	}
	return evalTimeout + 2*time.Minute
}

// SweepOrphans fails (InternalErrorMessage) every queued or running
// submission whose evaluate jobs are all discarded, cancelled or completed,
// or which has none, for more than OrphanGrace. A running submission is
// never swept before the longest evaluation could have ended (the job
// timeout for evalTimeout, which is evaluate.Options.TotalTimeout, plus OrphanGrace)
// since it started: whatever its job's state says, a worker may still be
// evaluating it (store.FailOrphanedEvaluations). It returns their ids.
func SweepOrphans(ctx context.Context, st *store.Store, evalTimeout time.Duration) ([]int64, error) {
	return st.FailOrphanedEvaluations(ctx, OrphanGrace, jobTimeout(evalTimeout)+OrphanGrace, InternalErrorMessage)
}

// SweeperOptions configure the Sweeper.
type SweeperOptions struct {
	// EvalTimeout is the workers' Options.TotalTimeout (0 for its default,
	// 30 minutes). A running submission is not swept as an orphan before
	// that, the job's margin and OrphanGrace have passed since it started;
	// an EvalTimeout shorter than the workers' would let the sweeper fail
	// healthy runs.
	EvalTimeout time.Duration
	// LostAfter is how long a worker may be silent before its evaluation
	// is requeued; default LostAfter.
	LostAfter time.Duration
	// Interval is how often the leader inserts the sweep; default
	// SweepInterval.
	Interval time.Duration
	// Log receives the sweeps' outcomes; default slog.Default().
	Log *slog.Logger
}

// SweepInterval is how often the River leader inserts the Sweep job.
const SweepInterval = 10 * time.Second

// MaxLost bounds how often one submission may lose its worker (counted in
// its evaluation attempts) before it fails as a platform failure: a model
// that somehow kills every worker that runs it must not circle for ever.
const MaxLost = 2 * jobs.MaxAttempts

// Sweeper is the River worker of the periodic jobs.Sweep: it requeues the
// evaluations of lost workers and fails orphaned submissions. River's
// leader inserts the job (PeriodicJobs), so one process sweeps at a time
// whatever the number of workers.
type Sweeper struct {
	river.WorkerDefaults[jobs.Sweep]
	st  *store.Store
	opt SweeperOptions
}

// NewSweeper returns the Sweep worker.
func NewSweeper(st *store.Store, o SweeperOptions) *Sweeper {
	if o.LostAfter <= 0 {
		o.LostAfter = LostAfter
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &Sweeper{st: st, opt: o}
}

// PeriodicJobs is what a worker's River client schedules (river.Config's
// PeriodicJobs; only the leader acts on it).
func PeriodicJobs(interval time.Duration) []*river.PeriodicJob {
	if interval <= 0 {
		interval = SweepInterval
	}
	return []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return jobs.Sweep{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true, ID: "sweep"})}
}

// Timeout keeps a sweep short.
func (s *Sweeper) Timeout(*river.Job[jobs.Sweep]) time.Duration { return time.Minute }

// Work requeues lost workers' evaluations, then fails orphans.
func (s *Sweeper) Work(ctx context.Context, job *river.Job[jobs.Sweep]) error {
	log := s.opt.Log
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	lost, err := s.st.RequeueLostJobs(ctx, s.opt.LostAfter, LostMessage, func(ctx context.Context, tx pgx.Tx, j store.LostJob) error {
		if j.Attempts >= MaxLost {
			return store.FailQueuedTx(ctx, tx, j.SubmissionID, store.Failure{Outcome: string(outcome.WorkerLost), Charged: false,
				Message: InternalErrorMessage + " (not counted)"})
		}
		_, err := client.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: j.SubmissionID}, &river.InsertOpts{Queue: j.Queue})
		return err
	})
	if err != nil {
		return fmt.Errorf("sweep: lost workers: %w", err)
	}
	for _, j := range lost {
		log.Error("worker lost: its evaluation was requeued", "worker", j.Worker, "job", j.JobID, "submission", j.SubmissionID, "attempts", j.Attempts)
	}
	ids, err := SweepOrphans(ctx, s.st, s.opt.EvalTimeout)
	if err != nil {
		return fmt.Errorf("sweep: orphans: %w", err)
	}
	if len(ids) > 0 {
		log.Error("failed orphaned evaluations (no live job)", "submissions", ids)
	}
	return nil
}
