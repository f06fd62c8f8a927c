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
//	runner.Register(workers, runner.NewWorker(st, blobs, runner.Options{}, logger))
//	client, _ := river.NewClient(riverpgxv5.New(pool), &river.Config{
//		Queues:  map[string]river.QueueConfig{jobs.QueueCPU: {MaxWorkers: 1}},
//		Workers: workers,
//	})
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

// Work evaluates one submission. Model failures are final (JobCancel after
// the submission is marked failed); infrastructure failures are returned so
// River retries, and the last attempt marks the submission failed.
func (w *Worker) Work(ctx context.Context, job *river.Job[jobs.Evaluate]) error {
	id := job.Args.SubmissionID
	log := w.log.With("submission", id, "job", job.ID, "attempt", job.Attempt)
	err := w.work(ctx, id, log)
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
		if ferr := w.st.FailEvaluation(bg, id, InternalErrorMessage); ferr != nil {
			log.Error("marking submission failed", "err", ferr)
		}
		w.appendLog(bg, id, "evaluation failed: "+InternalErrorMessage)
	} else {
		w.appendLog(bg, id, "the evaluation was interrupted by a problem on our side; it will be retried")
	}
	return err
}

func (w *Worker) work(ctx context.Context, id int64, log *slog.Logger) error {
	in, err := w.st.EvaluationInput(ctx, id)
	if err != nil {
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
	w.appendLog(ctx, id, fmt.Sprintf("evaluation started (attempt %d): %d images, ×%d", attempt, len(in.Images), in.Scale))

	model, err := w.blobs.ReadAll(in.ModelSHA256)
	if err != nil {
		return fmt.Errorf("model blob: %w", err)
	}
	if model, err = Checked(model, in.Scale); err != nil {
		return w.failIfModel(ctx, id, err)
	}
	pairs := make([]Pair, len(in.Images))
	for i, im := range in.Images {
		lr, err := w.image(im.LRSHA256)
		if err != nil {
			return fmt.Errorf("LR of %s: %w", im.Name, err)
		}
		hr, err := w.image(im.HRSHA256)
		if err != nil {
			return fmt.Errorf("HR of %s: %w", im.Name, err)
		}
		pairs[i] = Pair{Name: im.Name, LR: lr, HR: hr}
	}

	opt := w.opt
	opt.Scale = in.Scale
	opt.Logf = func(line string) { log.Debug(line) } // operator log only: may name host paths
	opt.Progress = func(done, total int, r ImageResult) {
		// Participant-visible: the image name and its scores, nothing else.
		w.appendLog(ctx, id, fmt.Sprintf("image %d/%d %s: PSNR %.4f dB, SSIM %.4f, %.2f ms", done, total, r.Name, r.PSNR, r.SSIM, r.RuntimeMS))
	}
	rep, err := Evaluate(ctx, model, pairs, opt)
	if err != nil {
		return w.failIfModel(ctx, id, err)
	}
	res, err := resultOf(id, rep)
	if err != nil {
		return err
	}
	if err := w.st.FinishEvaluation(ctx, res); err != nil {
		return err
	}
	w.appendLog(ctx, id, fmt.Sprintf("evaluation finished: PSNR %.4f dB, SSIM %.4f, runtime %.2f ms (± %.2f, %d repeats after %d warm-up)",
		rep.PSNR, rep.SSIM, rep.RuntimeMS, rep.RuntimeStdMS, rep.Repeats, rep.Warmup))
	log.Info("evaluation finished", "psnr", rep.PSNR, "runtime_ms", rep.RuntimeMS, "sandbox", rep.Sandbox)
	return nil
}

// failIfModel records a model's own failure as final, with the message the
// participant acts on; other errors pass through for River to retry.
func (w *Worker) failIfModel(ctx context.Context, id int64, err error) error {
	if !IsModelError(err) {
		return err
	}
	if ferr := w.st.FailEvaluation(ctx, id, err.Error()); ferr != nil {
		return fmt.Errorf("marking failed (%v): %w", err, ferr)
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
	for i, r := range rep.Images {
		per[i] = img{Name: r.Name, PSNR: finite(r.PSNR), PSNRY: finite(r.PSNRY), SSIM: finite(r.SSIM),
			RuntimeMS: r.RuntimeMS, RunsMS: r.RunsMS}
		if r.PeakMB > 0 {
			per[i].PeakMB = finite(r.PeakMB)
		}
	}
	pj, err := json.Marshal(per)
	if err != nil {
		return nil, fmt.Errorf("per-image results: %w", err)
	}
	res := &store.Result{
		SubmissionID: id, PSNR: rep.PSNR, PSNRY: finite(rep.PSNRY), SSIM: finite(rep.SSIM),
		RuntimeMS: rep.RuntimeMS, RuntimeStdMS: finite(rep.RuntimeStdMS), RuntimeMinMS: finite(rep.RuntimeMinMS),
		RuntimeMaxMS: finite(rep.RuntimeMaxMS), Repeats: rep.Repeats, Device: rep.Device,
		ORTVersion: rep.ORTVersion, PerImage: pj,
	}
	if rep.PeakMemoryMB > 0 {
		res.PeakMemoryMB = finite(rep.PeakMemoryMB)
	}
	return res, nil
}
