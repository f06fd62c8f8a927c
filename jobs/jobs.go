// Package jobs declares the River job arguments shared by the web side, which
// enqueues them in the same transaction as the rows they refer to, and the
// workers that run them.
package jobs

import "github.com/riverqueue/river"

// Evaluate asks a worker to evaluate one submission on its dataset.
type Evaluate struct {
	SubmissionID int64 `json:"submission_id"`
}

// Kind implements river.JobArgs.
func (Evaluate) Kind() string { return "evaluate" }

// MaxAttempts bounds retries of an evaluation after infrastructure
// failures; the last attempt marks the submission failed.
const MaxAttempts = 5

// InsertOpts implements river.JobArgsWithInsertOpts. River takes
// max_attempts from the inserting client, so the budget lives with the job,
// not with the worker's client.
func (Evaluate) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: MaxAttempts}
}

// QueueCPU and QueueGPU separate hardware classes: a challenge's official
// runtimes must all come from one kind of device.
const (
	QueueCPU = "eval_cpu"
	QueueGPU = "eval_gpu"
)

// Sweep is the platform's periodic maintenance: the River leader inserts it
// every few seconds (a periodic job, never a loop in every process), and
// any worker runs it. It requeues the evaluations of workers whose
// heartbeat stopped and fails submissions no job will ever pick up.
type Sweep struct{}

// Kind implements river.JobArgs.
func (Sweep) Kind() string { return "sweep" }

// QueueMaintenance carries Sweep; every worker works it besides its
// hardware queue.
const QueueMaintenance = "maintenance"

// InsertOpts implements river.JobArgsWithInsertOpts: one try (the next
// period is the retry). No uniqueness: River's unique states include
// running, and a sweep running on a worker that died would then block every
// later one; sweeps are idempotent and short.
func (Sweep) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1}
}

// Retime re-measures one submission's runtime for a phase's final ranking
// (store: final_timings), on the challenge's official hardware queue with
// the run's repeats. It writes only its own record: the submission's
// result, status and quota are left alone.
type Retime struct {
	FinalTimingID int64 `json:"final_timing_id"`
}

// Kind implements river.JobArgs.
func (Retime) Kind() string { return "retime" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (Retime) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3}
}
