package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/store"
)

// Retimer re-measures a submission's runtime for a phase's final ranking:
// River job kind "retime". It evaluates the model on the submission's
// dataset like Worker does, with the run's repeats, and writes only the
// final_timings record: the submission's result, status, log and quota
// are not touched, and the participant sees nothing of it.
type Retimer struct {
	river.WorkerDefaults[jobs.Retime]
	w *Worker
}

// NewRetimer returns the re-timing worker sharing w's store, blobs,
// options, image cache and heartbeat.
func NewRetimer(w *Worker) *Retimer { return &Retimer{w: w} }

// Timeout: more repeats take longer than an evaluation's own limit allows.
func (r *Retimer) Timeout(*river.Job[jobs.Retime]) time.Duration {
	return 3 * jobTimeout(r.w.opt.TotalTimeout)
}

// Work re-times one submission. A model that fails now (it passed its
// evaluation) fails its timing record, for the organizers to see; an
// infrastructure failure is retried by River, and the last attempt fails
// the record.
func (r *Retimer) Work(ctx context.Context, job *river.Job[jobs.Retime]) error {
	w := r.w
	id := job.Args.FinalTimingID
	log := w.log.With("final_timing", id, "job", job.ID, "attempt", job.Attempt)
	in, err := w.st.FinalTimingInput(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(err)
	} else if err != nil {
		return err
	}
	ok, err := w.st.StartFinalTiming(ctx, id, w.worker)
	if err != nil {
		return err
	}
	if !ok {
		log.Info("final timing has ended already", "status", in.Status)
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.mu.Lock()
	w.current[job.ID] = running{submission: in.SubmissionID, cancel: cancel}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.current, job.ID)
		w.mu.Unlock()
	}()
	rep, err := r.measure(ctx, in)
	w.count(ctx, err == nil)
	if err == nil {
		w.noteORT(rep.Environment.ORTVersion)
		env, _ := json.Marshal(rep.Environment)
		hw := rep.Environment.CPU
		if rep.Environment.GPU != "" {
			hw = rep.Environment.GPU
		}
		log.Info("final timing finished", "submission", in.SubmissionID, "runtime_ms", rep.RuntimeMS, "repeats", rep.Repeats)
		return w.st.FinishFinalTiming(ctx, id, rep.RuntimeMS, rep.RuntimeStdMS, rep.Repeats, rep.Device, hw, env)
	}
	bg, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	if outcome.IsFinal(err) || job.Attempt >= job.MaxAttempts {
		log.Warn("final timing failed", "err", err)
		if ferr := w.st.FailFinalTiming(bg, id, err.Error()); ferr != nil {
			return fmt.Errorf("%w (recording it: %v)", err, ferr)
		}
		return river.JobCancel(err)
	}
	return err
}

func (r *Retimer) measure(ctx context.Context, in store.FinalTimingJob) (*evaluate.Report, error) {
	w := r.w
	ev, err := w.st.EvaluationInput(ctx, in.SubmissionID)
	if err != nil {
		return nil, err
	}
	model, err := blob.ReadAll(ctx, w.blobs, ev.ModelSHA256)
	if err != nil {
		return nil, fmt.Errorf("model blob: %w", err)
	}
	if model, err = evaluate.Checked(model, ev.Scale); err != nil {
		return nil, err
	}
	load := func() ([]evaluate.Pair, error) {
		pairs := make([]evaluate.Pair, len(ev.Images))
		for i, im := range ev.Images {
			lr, err := w.image(ctx, im.LRSHA256)
			if err != nil {
				return nil, fmt.Errorf("LR of %s: %w", im.Name, err)
			}
			hr, err := w.image(ctx, im.HRSHA256)
			if err != nil {
				return nil, fmt.Errorf("HR of %s: %w", im.Name, err)
			}
			pairs[i] = evaluate.Pair{Name: fmt.Sprintf("%d of %d", i+1, len(ev.Images)), LR: lr, HR: hr}
		}
		return pairs, nil
	}
	opt := w.opt
	opt.Scale, opt.DataRange, opt.Hidden = ev.Scale, ev.DataRange, true
	opt.Repeats = in.Repeats
	opt.Threads = w.threads(ev.Threads, w.log) // as the phase's evaluations ran
	opt.Logf = func(line string) { w.log.Debug(line) }
	opt.Warnf = func(line string) { w.log.Warn(line) }
	// More repeats take longer: scale the evaluation's limit with them.
	if w.opt.Repeats > 0 && in.Repeats > w.opt.Repeats && opt.TotalTimeout > 0 {
		opt.TotalTimeout = opt.TotalTimeout * time.Duration(in.Repeats) / time.Duration(w.opt.Repeats)
		if max := 3 * w.opt.TotalTimeout; opt.TotalTimeout > max {
			opt.TotalTimeout = max
		}
	}
	return evaluate.EvaluateLoading(ctx, model, load, opt)
}
