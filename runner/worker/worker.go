// Package worker is the River worker that evaluates submissions: it
// takes a job, loads the model and images from the store, runs package
// evaluate, and records the outcome.
package worker

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// InternalErrorMessage is what a participant sees when the platform, not
// the model, failed for good.
const InternalErrorMessage = "internal error, the organizers have been notified"

// MaxPSNR caps a stored per-image PSNR, in dB. A model that reproduces an
// image exactly has an infinite PSNR (MSE 0), which results.psnr (NOT NULL)
// and JSON cannot hold. The cap is above every finite PSNR the runner can
// compute, so it never changes a ranking between imperfect models: the
// smallest nonzero error is a single 1-level difference, whose PSNR is
// 10·log10(255²·N) for N compared values. For an 8K×8K output (N =
// 3·8192²) that is ≈ 131.2 dB; for the largest output the runner accepts
// (MaxSide×4 = 32768 a side, N = 3·32768²) ≈ 143.2 dB; PSNR on rounded Y
// (N = 32768²) ≈ 138.4 dB. Cropping the border only lowers N. Real ×4
// results are ≈ 30 dB. Package scoring keeps +Inf, as the official code
// does; only what the runner stores is capped.
const MaxPSNR = 150.0

// DeviceForQueue is the device a worker of River queue uses: CUDA on the
// GPU queue, the CPU everywhere else.
func DeviceForQueue(queue string) string {
	if queue == jobs.QueueGPU {
		return evaluate.DeviceCUDA
	}
	return evaluate.DeviceCPU
}

// Worker evaluates submissions: River job kind "evaluate".
type Worker struct {
	river.WorkerDefaults[jobs.Evaluate]
	st     *store.Store
	blobs  blob.Store
	opt    evaluate.Options
	log    *slog.Logger
	worker string // River client id, and submissions.worker
	// current is the evaluation in progress, for the heartbeat (the
	// workers table) and for abandoning it when this worker was declared
	// lost.
	mu      *sync.Mutex
	current map[int64]running // by River job id
	ort     string            // ONNX Runtime version the last evaluation reported (under mu)
	images  *imageCache
	// hook, set only by tests, runs at stages of work ("input": before
	// StartEvaluation, "started": after it); an error it returns is an
	// infrastructure failure, and it may panic or cancel the job's context.
	hook func(stage string) error
}

// NewWorker returns the evaluation worker. opt.Scale is taken from each
// submission's challenge; the rest of opt applies to every evaluation.
func NewWorker(st *store.Store, blobs blob.Store, opt evaluate.Options, logger *slog.Logger) *Worker {
	host, _ := os.Hostname()
	if logger == nil {
		logger = slog.Default()
	}
	var r [3]byte
	crand.Read(r[:])
	return &Worker{st: st, blobs: blobs, opt: opt, log: logger, current: map[int64]running{}, mu: new(sync.Mutex),
		images: newImageCache(ImageCacheBytes),
		worker: fmt.Sprintf("%s-%d-%x", host, os.Getpid(), r)}
}

// ID is this worker's identity: give it to River as the client's ID
// (river.Config.ID), since the lost-worker sweep finds a worker's jobs by
// the client that attempted them.
func (w *Worker) ID() string { return w.worker }

type running struct {
	submission int64
	cancel     context.CancelCauseFunc
}

// errLost cancels the evaluation of a worker that was declared lost.
var errLost = errors.New("this worker was declared lost (no heartbeat): its evaluation was requeued elsewhere")

// LostMessage is what a participant reads when the worker evaluating their
// submission stopped heartbeating and another worker takes over.
const LostMessage = "worker lost, retrying (not counted)"

// RiverConfig is the River configuration of a worker process: w on queue
// (at most concurrency evaluations at once; keep 1 for faithful runtimes:
// evaluations must not share the CPU), the sweeper on the maintenance
// queue with its periodic job (the leader inserts it), the worker's
// identity as the client ID (the lost-worker sweep finds jobs by it), and
// the panic handler. Wire it as:
//
//	w := worker.NewWorker(st, blobs, opt, log)
//	client, _ := river.NewClient(riverpgxv5.New(pool), worker.RiverConfig(w, worker.NewSweeper(st, so), queue, 1, log))
//	go w.RunHeartbeat(ctx, worker.HeartbeatOptions{Queue: queue})
func RiverConfig(w *Worker, s *Sweeper, queue string, concurrency int, log *slog.Logger) *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	river.AddWorker(workers, s)
	river.AddWorker(workers, NewRetimer(w))
	if concurrency <= 0 {
		concurrency = 1
	}
	return &river.Config{
		ID:      w.ID(),
		Logger:  log,
		Queues:  map[string]river.QueueConfig{queue: {MaxWorkers: concurrency}, jobs.QueueMaintenance: {MaxWorkers: 1}},
		Workers: workers,
		// A dead worker's job is requeued by the Sweep (heartbeats), within
		// LostAfter + SweepInterval; River's own rescue of stuck jobs is
		// only the last resort, after the longest evaluation could end.
		RescueStuckJobsAfter: jobTimeout(w.opt.TotalTimeout) + 5*time.Minute,
		MaxAttempts:          jobs.MaxAttempts,
		PeriodicJobs:         PeriodicJobs(s.opt.Interval),
		// A panic on the last attempt would otherwise leave the row running.
		ErrorHandler: &ErrorHandler{Store: w.st, Log: log},
	}
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
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w.mu.Lock()
	w.current[job.ID] = running{submission: id, cancel: cancel}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.current, job.ID)
		w.mu.Unlock()
	}()
	defer func() {
		if r := recover(); r != nil {
			log.Error("evaluation panicked", "panic", r, "evaluation_attempt", attempt)
			w.infraFailure(ctx, id, attempt, final, log)
			panic(r)
		}
	}()
	err := w.work(ctx, job, log, &attempt)
	if errors.Is(context.Cause(ctx), errLost) {
		// Another worker has the submission now: write nothing (River's own
		// update of the job is a no-op too: the sweep discarded it).
		log.Warn("evaluation abandoned: this worker was declared lost", "err", err, "evaluation_attempt", attempt)
		return fmt.Errorf("runner: %w", errLost)
	}
	w.count(ctx, err == nil)
	if err == nil {
		return nil
	}
	if outcome.IsFinal(err) {
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
			w.logLine(bg, id, attempt, "the evaluation was cancelled")
			return err
		}
		log.Info("evaluation interrupted: the worker is stopping; River makes the job available again", "err", err, "evaluation_attempt", attempt)
		w.logLine(bg, id, attempt, "the evaluation was interrupted because its worker stopped; it will be retried")
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
		w.logLine(bg, id, attempt, "the evaluation was interrupted by a problem on our side; it will be retried (not counted)")
		return
	}
	// Retries ran out: a platform failure, visible as such, not charged.
	f := store.Failure{Outcome: string(outcome.PlatformError), Charged: false, Message: InternalErrorMessage}
	var applied bool
	var err error
	if attempt > 0 {
		applied, err = w.st.FailEvaluation(bg, id, attempt, f)
	} else {
		// It failed before StartEvaluation counted an attempt: fail the
		// submission only if it is still queued (FailUnfinished logs it).
		applied, err = w.st.FailUnfinished(bg, id, 0, f)
	}
	switch {
	case err != nil:
		log.Error("marking submission failed", "err", err)
	case !applied:
		log.Warn("not marking the submission failed: another attempt, the sweeper or an admin has it", "evaluation_attempt", attempt)
	case attempt > 0:
		w.logLine(bg, id, attempt, "evaluation failed: "+InternalErrorMessage+" (not counted)")
	}
}

// work sets *attemptp to the evaluation attempt StartEvaluation counted as
// soon as it has (it stays 0 if work does not get that far).
func (w *Worker) work(ctx context.Context, job *river.Job[jobs.Evaluate], log *slog.Logger, attemptp *int) error {
	id := job.Args.SubmissionID
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
	// Every dataset of the submission's phase, in one sandbox session.
	dsets, err := w.st.EvaluationDatasets(ctx, id)
	if err != nil {
		return err
	}
	pl := newPlan(dsets)
	startLine := fmt.Sprintf("evaluation started (attempt %d): %d images, ×%d", attempt, pl.total, in.Scale)
	if pl.multi {
		startLine = fmt.Sprintf("evaluation started (attempt %d): %d images in %d datasets, ×%d", attempt, pl.total, len(pl.sets), in.Scale)
	}
	w.logLine(ctx, id, attempt, startLine)
	w.progress(ctx, id, attempt, 0, pl.total)

	model, err := blob.ReadAll(ctx, w.blobs, in.ModelSHA256)
	if errors.Is(err, blob.ErrNotFound) {
		log.Warn("model blob missing", "sha256", in.ModelSHA256)
		return w.failIfModel(ctx, id, attempt, log, outcome.Errorf(outcome.MissingModel, "%s", MissingModelMessage))
	}
	if err != nil {
		return fmt.Errorf("model blob: %w", err)
	}
	if model, err = evaluate.Checked(model, in.Scale); err != nil {
		return w.failIfModel(ctx, id, attempt, log, err)
	}
	// On a test set the images are hidden: everything a participant sees
	// (log lines, failure messages, per-image tables) names an image only
	// by its position in its dataset, which is bytewise name order
	// (store.EvaluationDatasets): "image 3 of 100" in messages, "image 3" in
	// per_image. The real names appear only in operator logs and errors.
	hidden := pl.anyHidden()
	// Read and decoded while the sandbox starts; a missing image is the
	// platform's problem (retried, never charged).
	load := func() ([]evaluate.Pair, error) { return pl.pairs(ctx, w) }
	for _, s := range pl.sets {
		if s.hidden() {
			names := make([]string, len(s.Images))
			for i, im := range s.Images {
				names[i] = im.Name
			}
			log.Debug("hidden test set: participants see images by position only", "dataset", s.Name, "split", s.Split, "images_in_order", names)
		}
	}

	opt := w.opt
	opt.Scale = in.Scale
	opt.DataRange = in.DataRange
	opt.Hidden = hidden
	if in.Protocol != "" {
		opt.Protocol = in.Protocol // the phase's timing protocol
	}
	opt.Threads = w.threads(in.Threads, log)
	opt.Output = pl.output(ctx, w.blobs)
	opt.Logf = func(line string) { log.Debug(line) } // operator log only: may name host paths
	opt.Warnf = func(line string) { log.Warn(line) }
	if baseline, err := w.baseline(ctx, id, in.Scale, log); err != nil {
		return err
	} else if baseline != nil {
		opt.Baseline = baseline
	}
	// Participant-visible: the image and its runtime, and its name and
	// scores only on a validation set. On a test set per-image scores would
	// let a participant probe hidden images one by one; the set mean is
	// enough.
	opt.Progress = func(done, total int, r evaluate.ImageResult) {
		line := fmt.Sprintf("image %d/%d: %.2f ms", done, total, r.RuntimeMS)
		if s, _ := pl.at(done - 1); !s.hidden() {
			line = fmt.Sprintf("image %d/%d %s: PSNR %.4f dB, SSIM %.4f, %.2f ms", done, total, r.Name, r.PSNR, r.SSIM, r.RuntimeMS)
		}
		w.logLine(ctx, id, attempt, line)
		w.progress(ctx, id, attempt, done, total)
	}
	rep, err := evaluate.EvaluateLoading(ctx, model, load, opt)
	if err != nil {
		return w.failIfModel(ctx, id, attempt, log, err)
	}
	w.noteORT(rep.Environment.ORTVersion)
	if pl.outErr != nil {
		return pl.outErr // the blob store's problem: retried
	}
	for i := range rep.Images {
		s, k := pl.at(i)
		if s.hidden() {
			rep.Images[i].Name = fmt.Sprintf("image %d", k+1)
		} else {
			rep.Images[i].Name = s.Images[k].Name
		}
	}
	res, err := pl.result(id, rep)
	if err != nil {
		return err
	}
	// The result and the job's completion commit together: a worker that
	// dies in between leaves neither, and its job is retried whole.
	var complete func(pgx.Tx) error
	if _, err := river.ClientFromContextSafely[pgx.Tx](ctx); err == nil && job.JobRow != nil {
		complete = func(tx pgx.Tx) error {
			_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
			return err
		}
	}
	applied, err := w.st.FinishEvaluationWith(ctx, res, attempt, complete)
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
	ratio := ""
	if rep.RuntimeRatio > 0 {
		ratio = fmt.Sprintf(", %.3f× the baseline's runtime (± %.2f%%, %s time)", rep.RuntimeRatio, 100*rep.RuntimeRatioCV, rep.RatioClock)
	}
	w.logLine(ctx, id, attempt, fmt.Sprintf("evaluation finished: PSNR %.4f dB, SSIM %.4f, runtime %.2f ms (± %.2f, %d repeats after %d warm-up)%s%s",
		res.PSNR, rep.SSIM, rep.RuntimeMS, rep.RuntimeStdMS, rep.Repeats, rep.Warmup, ratio, capped))
	log.Info("evaluation finished", "psnr", res.PSNR, "psnr_uncapped", rep.PSNR, "runtime_ms", rep.RuntimeMS, "device", rep.Device, "sandbox", rep.Sandbox)
	return nil
}

// failIfModel records a model's own failure as final, with the message the
// participant acts on; other errors pass through for River to retry.
func (w *Worker) failIfModel(ctx context.Context, id int64, attempt int, log *slog.Logger, err error) error {
	if !outcome.IsFinal(err) {
		return err
	}
	kind, _ := outcome.Of(err)
	applied, ferr := w.st.FailEvaluation(ctx, id, attempt, store.Failure{Outcome: string(kind), Charged: kind.Charged(), Message: err.Error()})
	if ferr != nil {
		return fmt.Errorf("marking failed (%v): %w", err, ferr)
	}
	if !applied {
		log.Warn("stale model failure discarded: the submission moved on", "err", err)
		return err
	}
	line := "evaluation failed: " + err.Error()
	if !kind.Charged() {
		line += " (not counted)"
	}
	w.logLine(ctx, id, attempt, line)
	return err
}

// image returns the decoded image of a blob, from the worker's cache when
// an earlier evaluation decoded it (blobs are content-addressed: a digest
// always names the same pixels).
func (w *Worker) image(ctx context.Context, digest string) (*scoring.Image, error) {
	if img := w.images.get(digest); img != nil {
		return img, nil
	}
	b, err := blob.ReadAll(ctx, w.blobs, digest)
	if err != nil {
		return nil, err
	}
	img, err := scoring.DecodePNG(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	w.images.put(digest, img)
	return img, nil
}

// progress records "image done of total" for the submission page; like a
// log line, a failure to record it does not stop the evaluation.
func (w *Worker) progress(ctx context.Context, id int64, attempt, done, total int) {
	if err := w.st.SetProgress(ctx, id, attempt, done, total); err != nil {
		w.log.Warn("recording progress", "submission", id, "err", err)
	}
}

// baseline returns the challenge's baseline model, checked, to time next
// to the submission (nil: the challenge has none, or this is it). Its
// absence from storage is the platform's problem.
func (w *Worker) baseline(ctx context.Context, id int64, scale int, log *slog.Logger) ([]byte, error) {
	sha, ok, err := w.st.BaselineModelFor(ctx, id)
	if err != nil || !ok {
		return nil, err
	}
	b, err := blob.ReadAll(ctx, w.blobs, sha)
	if err != nil {
		return nil, fmt.Errorf("baseline model blob: %w", err)
	}
	b, err = evaluate.Checked(b, scale)
	if err != nil {
		log.Warn("the challenge's baseline model fails the static check: no runtime ratio", "err", err)
		return nil, nil
	}
	return b, nil
}

// logLine appends a participant-visible line, but only while attempt is
// the submission's latest: a worker that lost its job writes nothing more.
// attempt 0 (no evaluation started) writes nothing.
func (w *Worker) logLine(ctx context.Context, id int64, attempt int, line string) {
	if attempt <= 0 {
		return
	}
	if _, err := w.st.AppendLogAttempt(ctx, id, attempt, line); err != nil {
		w.log.Warn("appending submission log", "submission", id, "err", err)
	}
}

// count updates the worker's done/failed figures (organizer panel).
func (w *Worker) count(ctx context.Context, ok bool) {
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.st.WorkerFinished(bg, w.worker, ok); err != nil {
		w.log.Warn("counting the evaluation in the workers table", "err", err)
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
func resultOf(id int64, rep *evaluate.Report) (*store.Result, error) {
	type img struct {
		Name      string    `json:"name"`
		PSNR      *float64  `json:"psnr"`
		PSNRY     *float64  `json:"psnr_y"`
		SSIM      *float64  `json:"ssim"`
		RuntimeMS float64   `json:"runtime_ms"`
		RunsMS    []float64 `json:"runs_ms"`
		PeakMB    *float64  `json:"peak_mb,omitempty"`
		Baseline  *float64  `json:"baseline_ms,omitempty"`
		Ratio     *float64  `json:"runtime_ratio,omitempty"`
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
		if r.RuntimeRatio > 0 {
			per[i].Baseline, per[i].Ratio = finite(r.BaselineMS), finite(r.RuntimeRatio)
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
	res.Protocol = rep.Protocol
	if res.Environment, err = json.Marshal(rep.Environment); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	if rep.RuntimeRatio > 0 {
		res.RuntimeRatio, res.RuntimeRatioStd, res.BaselineRuntimeMS = finite(rep.RuntimeRatio), finite(rep.RuntimeRatioStd), finite(rep.BaselineRuntimeMS)
		res.RuntimeRatioCV, res.RatioClock = finite(rep.RuntimeRatioCV), rep.RatioClock
	}
	return res, nil
}

func (w *Worker) runHook(stage string) error {
	if w.hook == nil {
		return nil
	}
	return w.hook(stage)
}

// threads returns the ONNX Runtime threads for a phase that asks for
// phase (0: the worker's own setting), no more than this process may use
// (its CPUs, or its cgroup's CPU quota, which GOMAXPROCS follows): more
// threads than cores only adds contention. The result's environment
// records what ran. A worker running several evaluations at once
// (concurrency > 1) shares its cores among them whatever the phase asks.
func (w *Worker) threads(phase int, log *slog.Logger) int {
	if phase <= 0 {
		return w.opt.Threads
	}
	if n := usableCPUs(); phase > n {
		log.Warn("the phase asks for more ONNX Runtime threads than this worker has CPUs", "asked", phase, "cpus", n)
		return n
	}
	return phase
}

func usableCPUs() int { return max(1, min(runtime.NumCPU(), runtime.GOMAXPROCS(0))) }
