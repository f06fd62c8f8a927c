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
