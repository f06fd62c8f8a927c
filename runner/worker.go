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
	blobs  *blob.Dir
	opt    Options
	log    *slog.Logger
	worker string
}

// NewWorker returns the evaluation worker. opt.Scale is taken from each
// submission's challenge; the rest of opt applies to every evaluation.
func NewWorker(st *store.Store, blobs *blob.Dir, opt Options, logger *slog.Logger) *Worker {
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
//	go runner.RunSweeper(ctx, st, time.Minute, logger)
//
// One worker per machine (MaxWorkers: 1): runtimes are only comparable when
// evaluations do not share the CPU.
func Register(workers *river.Workers, w *Worker) {
	river.AddWorker(workers, w)
}

// Timeout bounds a job a little above the evaluation's own total limit, so
// the runner's clearer message wins the race.
func (w *Worker) Timeout(*river.Job[jobs.Evaluate]) time.Duration {
	total := w.opt.TotalTimeout
	if total <= 0 {
		total = 30 * time.Minute
	}
	return total + 2*time.Minute
}

// MissingModelMessage is the final failure of a submission whose model blob
// is gone (an upload race, an operator's cleanup): retrying cannot bring it
// back, only the participant can.
const MissingModelMessage = "the model file is missing from storage; please upload it again"

// Work evaluates one submission. Model failures are final (JobCancel after
// the submission is marked failed); infrastructure failures are returned so
// River retries, and the last attempt marks the submission failed.
func (w *Worker) Work(ctx context.Context, job *river.Job[jobs.Evaluate]) error {
	id := job.Args.SubmissionID
	log := w.log.With("submission", id, "job", job.ID, "attempt", job.Attempt)
	attempt, err := w.work(ctx, id, log)
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
	log.Error("evaluation failed (infrastructure)", "err", err)
	// Even if ctx is done (shutdown, job timeout), record the outcome.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if job.Attempt >= job.MaxAttempts {
		var applied bool
		var ferr error
		if attempt > 0 {
			applied, ferr = w.st.FailEvaluation(bg, id, attempt, InternalErrorMessage)
		} else {
			// It failed before StartEvaluation counted an attempt.
			applied, ferr = w.st.FailUnfinished(bg, id, InternalErrorMessage)
		}
		switch {
		case ferr != nil:
			log.Error("marking submission failed", "err", ferr)
		case !applied:
			log.Warn("not marking the submission failed: a newer attempt or an admin changed it meanwhile", "evaluation_attempt", attempt)
		case attempt > 0:
			w.appendLog(bg, id, "evaluation failed: "+InternalErrorMessage)
		}
	} else {
		w.appendLog(bg, id, "the evaluation was interrupted by a problem on our side; it will be retried")
	}
	return err
}

// work returns the evaluation attempt StartEvaluation counted (0 if it did
// not get that far).
func (w *Worker) work(ctx context.Context, id int64, log *slog.Logger) (int, error) {
	in, err := w.st.EvaluationInput(ctx, id)
	if err != nil {
		return 0, err
	}
	attempt, started, err := w.st.StartEvaluation(ctx, id, w.worker)
	if err != nil {
		return 0, err
	}
	if !started {
		log.Info("submission is not queued or running, nothing to do", "status", in.Status)
		return 0, nil
	}
	log = log.With("evaluation_attempt", attempt)
	w.appendLog(ctx, id, fmt.Sprintf("evaluation started (attempt %d): %d images, ×%d", attempt, len(in.Images), in.Scale))

	model, err := w.blobs.ReadAll(in.ModelSHA256)
	if errors.Is(err, blob.ErrNotFound) {
		log.Warn("model blob missing", "sha256", in.ModelSHA256)
		return attempt, w.failIfModel(ctx, id, attempt, log, modelErr("missing_model", "%s", MissingModelMessage))
	}
	if err != nil {
		return attempt, fmt.Errorf("model blob: %w", err)
	}
	if model, err = Checked(model, in.Scale); err != nil {
		return attempt, w.failIfModel(ctx, id, attempt, log, err)
	}
	pairs := make([]Pair, len(in.Images))
	for i, im := range in.Images {
		lr, err := w.image(im.LRSHA256)
		if err != nil {
			return attempt, fmt.Errorf("LR of %s: %w", im.Name, err)
		}
		hr, err := w.image(im.HRSHA256)
		if err != nil {
			return attempt, fmt.Errorf("HR of %s: %w", im.Name, err)
		}
		pairs[i] = Pair{Name: im.Name, LR: lr, HR: hr}
	}

	opt := w.opt
	opt.Scale = in.Scale
	opt.DataRange = in.DataRange
	opt.Logf = func(line string) { log.Debug(line) } // operator log only: may name host paths
	opt.Warnf = func(line string) { log.Warn(line) }
	// Participant-visible: the image name and runtime, and its scores only
	// on a validation set. On a test set per-image scores would let a
	// participant probe hidden images one by one; the set mean is enough.
	showScores := in.Split == "validation"
	opt.Progress = func(done, total int, r ImageResult) {
		line := fmt.Sprintf("image %d/%d %s: %.2f ms", done, total, r.Name, r.RuntimeMS)
		if showScores {
			line = fmt.Sprintf("image %d/%d %s: PSNR %.4f dB, SSIM %.4f, %.2f ms", done, total, r.Name, r.PSNR, r.SSIM, r.RuntimeMS)
		}
		w.appendLog(ctx, id, line)
	}
	rep, err := Evaluate(ctx, model, pairs, opt)
	if err != nil {
		return attempt, w.failIfModel(ctx, id, attempt, log, err)
	}
	res, err := resultOf(id, rep)
	if err != nil {
		return attempt, err
	}
	applied, err := w.st.FinishEvaluation(ctx, res, attempt)
	if err != nil {
		return attempt, err
	}
	if !applied {
		// Our job was rescued and re-run, or an admin reset the submission:
		// the newer outcome stands, and this job is done.
		log.Warn("stale evaluation result discarded: the submission moved on", "psnr", rep.PSNR)
		return attempt, nil
	}
	capped := ""
	if res.PSNR != rep.PSNR {
		capped = fmt.Sprintf(" (PSNR capped at %.0f dB per image: the output reproduces the reference exactly)", MaxPSNR)
	}
	w.appendLog(ctx, id, fmt.Sprintf("evaluation finished: PSNR %.4f dB, SSIM %.4f, runtime %.2f ms (± %.2f, %d repeats after %d warm-up)%s",
		res.PSNR, rep.SSIM, rep.RuntimeMS, rep.RuntimeStdMS, rep.Repeats, rep.Warmup, capped))
	log.Info("evaluation finished", "psnr", res.PSNR, "psnr_uncapped", rep.PSNR, "runtime_ms", rep.RuntimeMS, "device", rep.Device, "sandbox", rep.Sandbox)
	return attempt, nil
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

func (w *Worker) image(digest string) (*scoring.Image, error) {
	b, err := w.blobs.ReadAll(digest)
	if err != nil {
		return nil, err
	}
	return scoring.DecodePNG(bytes.NewReader(b))
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
		RuntimeMaxMS: finite(rep.RuntimeMaxMS), Repeats: rep.Repeats, Device: rep.Device,
		ORTVersion: rep.ORTVersion, PerImage: pj, Sandbox: strings.Join(rep.Sandbox, "; "),
	}
	if rep.PeakMemoryMB > 0 {
		res.PeakMemoryMB = finite(rep.PeakMemoryMB)
	}
	return res, nil
}
