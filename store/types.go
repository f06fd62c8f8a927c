package store

import (
	"encoding/json"
	"time"
)

// Submission statuses, in the order a submission passes through them.
const (
	StatusQueued   = "queued"
	StatusRunning  = "running"
	StatusFinished = "finished"
	StatusFailed   = "failed"
)

// User is an account. PasswordHash is never rendered.
type User struct {
	ID           int64
	Email        string
	Username     string
	PasswordHash string
	IsAdmin      bool
	CreatedAt    time.Time
}

// Challenge is one competition. Rules holds a scoring.Rules value as JSON.
type Challenge struct {
	ID             int64
	Slug           string
	Title          string
	Description    string
	Scale          int
	Rules          json.RawMessage
	MaxUploadBytes int64
	DailyQuota     int
	Queue          string // jobs.QueueCPU or jobs.QueueGPU
	OpensAt        *time.Time
	ClosesAt       *time.Time
	CreatedAt      time.Time
}

// Dataset is a named set of LR/HR pairs of a challenge.
type Dataset struct {
	ID          int64
	ChallengeID int64
	Name        string
	Split       string // "validation" or "test"
}

// DatasetImage is one LR/HR pair, both as blob digests.
type DatasetImage struct {
	Name     string
	LRSHA256 string
	HRSHA256 string
}

// Submission is one uploaded model and its evaluation state.
type Submission struct {
	ID          int64
	ChallengeID int64
	UserID      *int64
	Username    string // joined, for display
	DatasetID   int64
	Label       string
	ModelSHA256 string
	ModelBytes  int64
	Profile     json.RawMessage // onnxmodel.Profile
	DataRange   float32         // 1 or 255: the model's pixel range
	IsBaseline  bool
	Status      string
	Message     string
	Attempts    int
	Worker      string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	// Synthetic marks a submission made up by srarena seed (demos, load
	// tests): its result was never measured, and every page says so.
	Synthetic bool
}

// Result is what an evaluation measured.
type Result struct {
	SubmissionID int64
	PSNR         float64
	PSNRY        *float64
	SSIM         *float64
	RuntimeMS    float64 // mean over images of each image's median runtime
	RuntimeStdMS *float64
	RuntimeMinMS *float64
	RuntimeMaxMS *float64
	Repeats      int
	Warmup       int // untimed runs per image before the repeats
	PeakMemoryMB *float64
	Device       string
	ORTVersion   string
	Sandbox      string          // the protections that were active
	PerImage     json.RawMessage // [{name, psnr, ssim, runtime_ms, ...}]
	CreatedAt    time.Time
}
