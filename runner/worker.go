package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// InternalErrorMessage is what a participant sees when the platform, not
// the model, failed for good.
const InternalErrorMessage = "internal error, the organizers have been notified"

// Worker evaluates submissions: River job kind "evaluate".
type Worker struct {
	river.WorkerDefaults[jobs.Evaluate]
	st     *store.Store
	blobs  blob.Store
	opt    Options
	log    *slog.Logger
	worker string
	// hook, set only by tests, runs at stages of work ("input": before
	// StartEvaluation, "started": after it); an error it returns is an
	// infrastructure failure, and it may panic or cancel the job's context.
	hook func(stage string) error
}

// NewWorker returns the evaluation worker. opt.Scale is taken from each
// submission's challenge; the rest of opt applies to every evaluation.
func NewWorker(st *store.Store, blobs blob.Store, opt Options, logger *slog.Logger) *Worker {
	host, _ := os.Hostname()
	if logger == nil {
		logger = slog.Default()
	}
	return &Worker{st: st, blobs: blobs, opt: opt, log: logger, worker: fmt.Sprintf("%s/%d", host, os.Getpid())}
}

// Register adds w to workers. Wire it as:
//
//	workers := river.NewWorkers()
//	opt := runner.Options{Device: runner.DeviceForQueue(queue)}
//	runner.Register(workers, runner.NewWorker(st, blobs, opt, logger))
//	client, _ := river.NewClient(riverpgxv5.New(pool), &river.Config{
//		Queues:       map[string]river.QueueConfig{queue: {MaxWorkers: 1}},
//		Workers:      workers,
//		ErrorHandler: &runner.ErrorHandler{Store: st, Log: logger},
//	})
//	go runner.RunOrphanSweeper(ctx, st, runner.SweeperOptions{Interval: time.Minute, EvalTimeout: opt.TotalTimeout, Log: logger})
//
// One worker per machine (MaxWorkers: 1): runtimes are only comparable when
// evaluations do not share the CPU.
func Register(workers *river.Workers, w *Worker) {
	river.AddWorker(workers, w)
}

// Timeout bounds a job a little above the evaluation's own total limit, so
// the runner's clearer message wins the race.
func (w *Worker) Timeout(*river.Job[jobs.Evaluate]) time.Duration {
	return jobTimeout(w.opt.TotalTimeout)
}

// MissingModelMessage is the final failure of a submission whose model blob
// is gone (an upload race, an operator's cleanup): retrying cannot bring it
// back, only the participant can.
const MissingModelMessage = "the model file is missing from storage; please upload it again"

// Work evaluates one submission. Model failures are final (JobCancel after
// the submission is marked failed); infrastructure failures are returned so
// River retries, and the last attempt marks the submission failed, but only
// while it is still in the state this job left it in (FailEvaluation of the
// attempt this job started; FailUnfinished of a still queued submission when
// the job failed before starting one): a stale job never fails a newer run.
// A submission this job left running from an earlier River attempt, when
// the final one fails before StartEvaluation, is left to the sweeper.
//
// Shutdown is not a failure: when River's StopAndCancel cancels ctx, Work
// marks nothing failed, even on the final attempt, and returns an error
// wrapping context.Canceled, which River (≥ 0.50) treats as a soft stop:
// the job is made available again without counting the attempt, and the
// next worker resumes the submission from "running". A remote cancellation
// (river.ErrJobCancelledRemotely) is likewise not recorded here; River
// cancels the job, and the sweeper fails the submission once its run
// horizon has passed unless the canceller settled it.
//
// A panic is recorded like an infrastructure error (with the attempt only
// Work knows), then continues to River and ErrorHandler.HandlePanic.
func (w *Worker) Work(ctx context.Context, job *river.Job[jobs.Evaluate]) error {
	id := job.Args.SubmissionID
	log := w.log.With("submission", id, "job", job.ID, "attempt", job.Attempt)
	final := job.Attempt >= job.MaxAttempts
	var attempt int // the evaluation attempt StartEvaluation counted; 0 until then
	defer func() {
		if r := recover(); r != nil {
			log.Error("evaluation panicked", "panic", r, "evaluation_attempt", attempt)
			w.infraFailure(ctx, id, attempt, final, log)
			panic(r)
		}
	}()
	err := w.work(ctx, id, log, &attempt)
	if err == nil {
		return nil
	}
	if IsModelError(err) {
		return river.JobCancel(err)
	}
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("submission vanished, dropping the job", "err", err)
		return river.JobCancel(err)
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if errors.Is(context.Cause(ctx), river.ErrJobCancelledRemotely) {
			log.Warn("evaluation cancelled remotely", "err", err, "evaluation_attempt", attempt)
			if attempt > 0 {
				w.appendLog(bg, id, "the evaluation was cancelled")
			}
			return err
		}
		log.Info("evaluation interrupted: the worker is stopping; River makes the job available again", "err", err, "evaluation_attempt", attempt)
		if attempt > 0 {
			w.appendLog(bg, id, "the evaluation was interrupted because its worker stopped; it will be retried")
		}
		return fmt.Errorf("runner: evaluation interrupted (%w): %w", context.Canceled, err)
	}
	log.Error("evaluation failed (infrastructure)", "err", err)
	w.infraFailure(ctx, id, attempt, final, log)
	return err
}

// infraFailure records an infrastructure failure of attempt (0: before
// StartEvaluation): on the job's final attempt the submission fails if it
// is still in the state this job left it in; otherwise the participant
// learns that it will be retried.
func (w *Worker) infraFailure(ctx context.Context, id int64, attempt int, final bool, log *slog.Logger) {
	// Even if ctx is done (job timeout), record the outcome.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if !final {
		if attempt > 0 {
			w.appendLog(bg, id, "the evaluation was interrupted by a problem on our side; it will be retried")
		}
		return
	}
	var applied bool
	var err error
	if attempt > 0 {
		applied, err = w.st.FailEvaluation(bg, id, attempt, InternalErrorMessage)
	} else {
		// It failed before StartEvaluation counted an attempt: fail the
		// submission only if it is still queued (FailUnfinished logs it).
		applied, err = w.st.FailUnfinished(bg, id, 0, InternalErrorMessage)
	}
	switch {
	case err != nil:
		log.Error("marking submission failed", "err", err)
	case !applied:
		log.Warn("not marking the submission failed: another attempt, the sweeper or an admin has it", "evaluation_attempt", attempt)
	case attempt > 0:
		w.appendLog(bg, id, "evaluation failed: "+InternalErrorMessage)
	}
}

// work sets *attemptp to the evaluation attempt StartEvaluation counted as
// soon as it has (it stays 0 if work does not get that far).
func (w *Worker) work(ctx context.Context, id int64, log *slog.Logger, attemptp *int) error {
	in, err := w.st.EvaluationInput(ctx, id)
	if err != nil {
		return err
	}
	if err := w.runHook("input"); err != nil {
		return err
	}
	attempt, started, err := w.st.StartEvaluation(ctx, id, w.worker)
	if err != nil {
		return err
	}
	if !started {
		log.Info("submission is not queued or running, nothing to do", "status", in.Status)
		return nil
	}
	*attemptp = attempt
	log = log.With("evaluation_attempt", attempt)
	if err := w.runHook("started"); err != nil {
		return err
	}
	w.appendLog(ctx, id, fmt.Sprintf("evaluation started (attempt %d): %d images, ×%d", attempt, len(in.Images), in.Scale))
	w.progress(ctx, id, attempt, 0, len(in.Images))

	model, err := blob.ReadAll(ctx, w.blobs, in.ModelSHA256)
	if errors.Is(err, blob.ErrNotFound) {
		log.Warn("model blob missing", "sha256", in.ModelSHA256)
		return w.failIfModel(ctx, id, attempt, log, modelErr("missing_model", "%s", MissingModelMessage))
	}
	if err != nil {
		return fmt.Errorf("model blob: %w", err)
	}
	if model, err = Checked(model, in.Scale); err != nil {
		return w.failIfModel(ctx, id, attempt, log, err)
	}
	// On a test set the images are hidden: everything a participant sees
	// (log lines, failure messages, results.per_image) names an image only
	// by its position in in.Images, which is bytewise name order
	// (store.EvaluationInput): "image 3 of 100" in messages, "image 3" in
	// per_image. The real names appear only in operator logs and errors.
	hidden := in.Split != "validation"
	pairs := make([]Pair, len(in.Images))
	for i, im := range in.Images {
		lr, err := w.image(ctx, im.LRSHA256)
		if err != nil {
			return fmt.Errorf("LR of %s: %w", im.Name, err)
		}
		hr, err := w.image(ctx, im.HRSHA256)
		if err != nil {
			return fmt.Errorf("HR of %s: %w", im.Name, err)
		}
		name := im.Name
		if hidden {
			name = fmt.Sprintf("%d of %d", i+1, len(in.Images))
		}
		pairs[i] = Pair{Name: name, LR: lr, HR: hr}
	}
	if hidden {
		names := make([]string, len(in.Images))
		for i, im := range in.Images {
			names[i] = im.Name
		}
		log.Debug("hidden test set: participants see images by position only", "split", in.Split, "images_in_order", names)
	}

	opt := w.opt
	opt.Scale = in.Scale
	opt.DataRange = in.DataRange
	opt.Hidden = hidden
	opt.Logf = func(line string) { log.Debug(line) } // operator log only: may name host paths
	opt.Warnf = func(line string) { log.Warn(line) }
	// Participant-visible: the image and its runtime, and its name and
	// scores only on a validation set. On a test set per-image scores would
	// let a participant probe hidden images one by one; the set mean is
	// enough.
	opt.Progress = func(done, total int, r ImageResult) {
		line := fmt.Sprintf("image %d/%d: %.2f ms", done, total, r.RuntimeMS)
		if !hidden {
			line = fmt.Sprintf("image %d/%d %s: PSNR %.4f dB, SSIM %.4f, %.2f ms", done, total, r.Name, r.PSNR, r.SSIM, r.RuntimeMS)
		}
		w.appendLog(ctx, id, line)
		w.progress(ctx, id, attempt, done, total)
	}
	rep, err := Evaluate(ctx, model, pairs, opt)
	if err != nil {
		return w.failIfModel(ctx, id, attempt, log, err)
	}
	if hidden {
		for i := range rep.Images {
			rep.Images[i].Name = fmt.Sprintf("image %d", i+1)
		}
	}
	res, err := resultOf(id, rep)
	if err != nil {
		return err
	}
	applied, err := w.st.FinishEvaluation(ctx, res, attempt)
	if err != nil {
		return err
	}
	if !applied {
		// Our job was rescued and re-run, or an admin reset the submission:
		// the newer outcome stands, and this job is done.
		log.Warn("stale evaluation result discarded: the submission moved on", "psnr", rep.PSNR)
		return nil
	}
	capped := ""
	if res.PSNR != rep.PSNR {
		capped = fmt.Sprintf(" (PSNR capped at %.0f dB per image: the output reproduces the reference exactly)", MaxPSNR)
	}
	w.appendLog(ctx, id, fmt.Sprintf("evaluation finished: PSNR %.4f dB, SSIM %.4f, runtime %.2f ms (± %.2f, %d repeats after %d warm-up)%s",
		res.PSNR, rep.SSIM, rep.RuntimeMS, rep.RuntimeStdMS, rep.Repeats, rep.Warmup, capped))
	log.Info("evaluation finished", "psnr", res.PSNR, "psnr_uncapped", rep.PSNR, "runtime_ms", rep.RuntimeMS, "device", rep.Device, "sandbox", rep.Sandbox)
	return nil
}

// failIfModel records a model's own failure as final, with the message the
// participant acts on; other errors pass through for River to retry.
func (w *Worker) failIfModel(ctx context.Context, id int64, attempt int, log *slog.Logger, err error) error {
	if !IsModelError(err) {
		return err
	}
	applied, ferr := w.st.FailEvaluation(ctx, id, attempt, err.Error())
	if ferr != nil {
		return fmt.Errorf("marking failed (%v): %w", err, ferr)
	}
	if !applied {
		log.Warn("stale model failure discarded: the submission moved on", "err", err)
		return err
	}
	w.appendLog(ctx, id, "evaluation failed: "+err.Error())
	return err
}

func (w *Worker) image(ctx context.Context, digest string) (*scoring.Image, error) {
	b, err := blob.ReadAll(ctx, w.blobs, digest)
	if err != nil {
		return nil, err
	}
	return scoring.DecodePNG(bytes.NewReader(b))
}

// progress records "image done of total" for the submission page; like a
// log line, a failure to record it does not stop the evaluation.
func (w *Worker) progress(ctx context.Context, id int64, attempt, done, total int) {
	if err := w.st.SetProgress(ctx, id, attempt, done, total); err != nil {
		w.log.Warn("recording progress", "submission", id, "err", err)
	}
}

func (w *Worker) appendLog(ctx context.Context, id int64, line string) {
	if err := w.st.AppendLog(ctx, id, line); err != nil {
		w.log.Warn("appending submission log", "submission", id, "err", err)
	}
}

// finite returns a pointer to v, or nil for NaN/±Inf (JSON has no such
// numbers, and a missing SSIM is better stored as NULL).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// capPSNR bounds a PSNR at MaxPSNR (an exact reproduction is +Inf).
func capPSNR(v float64) float64 {
	if v > MaxPSNR {
		return MaxPSNR
	}
	return v
}

// resultOf is what the database stores. Each image's PSNR is capped at
// MaxPSNR before the mean, so one exactly reproduced image gives a finite
// mean that still reflects the others; with no exact image nothing changes.
func resultOf(id int64, rep *Report) (*store.Result, error) {
	type img struct {
		Name      string    `json:"name"`
		PSNR      *float64  `json:"psnr"`
		PSNRY     *float64  `json:"psnr_y"`
		SSIM      *float64  `json:"ssim"`
		RuntimeMS float64   `json:"runtime_ms"`
		RunsMS    []float64 `json:"runs_ms"`
		PeakMB    *float64  `json:"peak_mb,omitempty"`
	}
	per := make([]img, len(rep.Images))
	psnrs := make([]float64, len(rep.Images))
	psnr := rep.PSNR
	var psnrY float64
	for i, r := range rep.Images {
		psnrs[i] = capPSNR(r.PSNR)
		psnrY += capPSNR(r.PSNRY)
		per[i] = img{Name: r.Name, PSNR: finite(psnrs[i]), PSNRY: finite(capPSNR(r.PSNRY)), SSIM: finite(r.SSIM),
			RuntimeMS: r.RuntimeMS, RunsMS: r.RunsMS}
		if r.PeakMB > 0 {
			per[i].PeakMB = finite(r.PeakMB)
		}
	}
	if len(psnrs) > 0 {
		psnr = scoring.Mean(psnrs)
		psnrY /= float64(len(psnrs))
	} else {
		psnrY = rep.PSNRY
	}
	if math.IsNaN(psnr) || math.IsInf(psnr, 0) {
		return nil, fmt.Errorf("runner: PSNR %v cannot be stored", psnr)
	}
	pj, err := json.Marshal(per)
	if err != nil {
		return nil, fmt.Errorf("per-image results: %w", err)
	}
	res := &store.Result{
		SubmissionID: id, PSNR: psnr, PSNRY: finite(capPSNR(psnrY)), SSIM: finite(rep.SSIM),
		RuntimeMS: rep.RuntimeMS, RuntimeStdMS: finite(rep.RuntimeStdMS), RuntimeMinMS: finite(rep.RuntimeMinMS),
		RuntimeMaxMS: finite(rep.RuntimeMaxMS), Repeats: rep.Repeats, Warmup: rep.Warmup, Device: rep.Device,
		ORTVersion: rep.ORTVersion, PerImage: pj, Sandbox: strings.Join(rep.Sandbox, "; "),
	}
	if rep.PeakMemoryMB > 0 {
		res.PeakMemoryMB = finite(rep.PeakMemoryMB)
	}
	return res, nil
}

func (w *Worker) runHook(stage string) error {
	if w.hook == nil {
		return nil
	}
	return w.hook(stage)
}
