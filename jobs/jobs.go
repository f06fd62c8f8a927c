// Package jobs declares the River job arguments shared by the web side, which
// enqueues them in the same transaction as the rows they refer to, and the
// workers that run them.
package jobs

// Evaluate asks a worker to evaluate one submission on its dataset.
type Evaluate struct {
	SubmissionID int64 `json:"submission_id"`
}

// Kind implements river.JobArgs.
func (Evaluate) Kind() string { return "evaluate" }

// QueueCPU and QueueGPU separate hardware classes: a challenge's official
// runtimes must all come from one kind of device.
const (
	QueueCPU = "eval_cpu"
	QueueGPU = "eval_gpu"
)
