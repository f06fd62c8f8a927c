package worker

import (
	"context"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/store"
)

// HeartbeatInterval is how often a worker reports itself; LostAfter how
// long a silence makes it lost (its evaluation is then requeued). Several
// missed beats, so a busy database does not cost an evaluation.
const (
	HeartbeatInterval = 5 * time.Second
	LostAfter         = 20 * time.Second
)

// HeartbeatOptions configure RunHeartbeat.
type HeartbeatOptions struct {
	Queue      string        // the worker's River queue (hardware class)
	ORTVersion string        // the ONNX Runtime version, if known
	Interval   time.Duration // default HeartbeatInterval
}

// RunHeartbeat registers the worker in the workers table and refreshes its
// row every o.Interval until ctx ends, then removes it. When the row says
// the worker was declared lost (a pause longer than LostAfter: a stopped
// VM, a frozen process), the evaluations in progress are abandoned, since
// another worker has them now, and the worker registers afresh.
func (w *Worker) RunHeartbeat(ctx context.Context, o HeartbeatOptions) {
	interval := o.Interval
	if interval <= 0 {
		interval = HeartbeatInterval
	}
	host, _ := os.Hostname()
	info := store.WorkerInfo{ID: w.worker, Host: host, Queue: o.Queue, Device: w.opt.Device, Hardware: evaluate.CPUModel(),
		ORTVersion: o.ORTVersion, Threads: w.opt.Threads}
	if info.Device == "" {
		info.Device = "cpu"
	}
	if info.Threads <= 0 {
		info.Threads = runtime.NumCPU()
	}
	if err := w.st.RegisterWorker(ctx, info); err != nil && ctx.Err() == nil {
		w.log.Warn("registering the worker", "err", err)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := w.st.StopWorker(bg, w.worker); err != nil {
				w.log.Warn("removing the worker's row", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
		info.CurrentSubmission, info.CurrentJob = w.currentJob()
		if v := w.ortVersion(); v != "" {
			info.ORTVersion = v
		}
		lost, err := w.st.Heartbeat(ctx, info)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Warn("heartbeat", "err", err)
			}
			continue
		}
		if lost {
			w.abandonAll(w.log)
			if err := w.st.RegisterWorker(ctx, info); err != nil && ctx.Err() == nil {
				w.log.Warn("registering the worker again", "err", err)
			}
		}
	}
}

func (w *Worker) currentJob() (submission, job *int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for j, r := range w.current {
		s, jj := r.submission, j
		return &s, &jj
	}
	return nil, nil
}

func (w *Worker) abandonAll(log *slog.Logger) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for j, r := range w.current {
		log.Warn("this worker was declared lost: abandoning its evaluation", "job", j, "submission", r.submission)
		r.cancel(errLost)
	}
}

// noteORT records the ONNX Runtime version an evaluation's sandbox
// reported: the heartbeat shows it in the operations view (the library is
// loaded only inside the sandbox, so the worker learns it from there).
func (w *Worker) noteORT(v string) {
	if v == "" {
		return
	}
	w.mu.Lock()
	w.ort = v
	w.mu.Unlock()
}

func (w *Worker) ortVersion() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ort
}
