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
	// StatusCancelled: withdrawn by its team (or an organizer) while queued
	// or running; it never counts against a quota.
	StatusCancelled = "cancelled"
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
	ID               int64
	Slug             string
	Title            string
	Description      string
	Scale            int
	Rules            json.RawMessage
	MaxUploadBytes   int64
	DailyQuota       int
	Queue            string // jobs.QueueCPU or jobs.QueueGPU
	Terms            string // Markdown a participant accepts when registering
	TeamSizeLimit    int
	RegistrationMode string // "open" or "approval"
	OpensAt          *time.Time
	ClosesAt         *time.Time
	CreatedAt        time.Time
}

// Dataset is a named set of LR/HR pairs of a challenge.
type Dataset struct {
	ID          int64
	ChallengeID int64
	Name        string
	Split       string // "validation" or "test"
	Public      bool   // validation LR images downloadable
	Primary     bool   // in a phase's list: the dataset submissions are evaluated on
	// HRPublic: the HR images may be shown to everyone (crop viewer);
	// never honoured for a test split. Read by DatasetsForSubmission only.
	HRPublic bool
}

// DatasetImage is one LR/HR pair, both as blob digests.
type DatasetImage struct {
	Name     string
	LRSHA256 string
	HRSHA256 string
}

// Submission is one uploaded model and its evaluation state.
type Submission struct {
	ID           int64
	ChallengeID  int64
	UserID       *int64
	Username     string // joined, for display
	DatasetID    int64
	PhaseID      int64
	TeamID       *int64 // nil for a baseline
	TeamName     string // joined, for display
	Label        string
	MethodName   string
	Description  string
	Selected     bool   // the team's chosen entry (entry rule "selected")
	HiddenReason string // set by an organizer: hidden from the board
	CancelledAt  *time.Time
	ImagesDone   int // progress of the running evaluation
	ImagesTotal  int
	ModelSHA256  string
	ModelBytes   int64
	Profile      json.RawMessage // onnxmodel.Profile
	DataRange    float32         // 1 or 255: the model's pixel range
	IsBaseline   bool
	Status       string
	Message      string
	Attempts     int
	Worker       string
	CreatedAt    time.Time
	StartedAt    *time.Time
	FinishedAt   *time.Time
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
	// RuntimeSet: RuntimeMS was set by the organizers (a manual override
	// or a final re-timing), not measured by this evaluation; a ratio
	// board keeps it as it is. Never stored.
	RuntimeSet   bool
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
	// Environment is the machine and software that measured it (CPU/GPU
	// model, driver, ONNX Runtime version, execution provider, threads, host).
	Environment json.RawMessage
	// Protocol is "robust" (warm-up, median of repeats) or "official" (one
	// pass per image, no warm-up, mean).
	Protocol string
	// RuntimeRatio is the runtime relative to the challenge's baseline timed
	// in the same sandbox, image by image (nil: no baseline); its spread
	// across images and the baseline's own runtime go with it.
	RuntimeRatio      *float64
	RuntimeRatioStd   *float64
	BaselineRuntimeMS *float64
	// RuntimeRatioCV is the runner's own estimate of the ratio's relative
	// spread; RatioClock what the ratio compares: "wall" or "cpu" time.
	RuntimeRatioCV *float64
	RatioClock     string
	CreatedAt      time.Time
	// The combined result's per-split figures (nil: the phase has no
	// dataset of that split): the mean over the split's datasets of each
	// one's PSNR and runtime. RuntimeMS is the mean of the splits' runtimes.
	PSNRVal, PSNRTest           *float64
	RuntimeValMS, RuntimeTestMS *float64
	// Datasets are what each dataset of the phase measured (written with
	// the result; read by ResultDatasets), Outputs the stored SR images of
	// public validation datasets.
	Datasets []DatasetResult
	Outputs  []SROutput
}

// DatasetResult is one dataset's part of a submission's evaluation.
type DatasetResult struct {
	DatasetID    int64
	Name         string // joined, for display
	Split        string
	Public       bool // joined
	HRPublic     bool // joined
	Position     int
	Images       int
	PSNR         float64
	PSNRY        *float64
	SSIM         *float64
	RuntimeMS    float64
	RuntimeStdMS *float64
	RuntimeMinMS *float64
	RuntimeMaxMS *float64
	PeakMemoryMB *float64
	RuntimeRatio *float64
	PerImage     json.RawMessage
}

// SROutput is one stored super-resolved image of a public validation set.
type SROutput struct {
	DatasetID int64
	ImageName string
	PNGSHA256 string
	PSNR      *float64
}

// Entry rules: which submission represents a team on a phase's board.
const (
	EntryBest     = "best"
	EntryLast     = "last"
	EntrySelected = "selected"
)

// Leaderboard visibilities of a phase.
const (
	VisibilityPublic     = "public"
	VisibilityHidden     = "hidden"     // until RevealedAt
	VisibilityOrganizers = "organizers" // organizers only, always
)

// Registration states.
const (
	RegistrationPending  = "pending"
	RegistrationApproved = "approved"
	RegistrationRejected = "rejected"
)

// Phase is a window of a challenge with its own data, quotas and board.
type Phase struct {
	ID              int64
	ChallengeID     int64
	Name            string // URL name, e.g. "development"
	Title           string
	Position        int
	OpensAt         *time.Time // minute precision, UTC
	ClosesAt        *time.Time
	QuotaDaily      int // per UTC day; 0 = unlimited
	QuotaTotal      int // over the phase; 0 = unlimited
	QuotaConcurrent int // queued or running at once; 0 = unlimited
	EntryRule       string
	Visibility      string
	RevealedAt      *time.Time
	Datasets        []Dataset // primary first
	// RuntimeBasis is what the board ranks runtimes by: RuntimeRaw or
	// RuntimeRatio (× RuntimeReferenceMS, or with none the newest
	// baseline's measured runtime); TimingProtocol how the runner times:
	// "robust" or "official"; Threads the ORT intra-op threads its
	// evaluations run with (nil: the worker's own setting).
	RuntimeBasis       string
	RuntimeReferenceMS *float64
	TimingProtocol     string
	Threads            *int
}

// Runtime bases of a phase (Phase.RuntimeBasis).
const (
	RuntimeRaw   = "raw"
	RuntimeRatio = "ratio"
)

// Team competes in one challenge; a solo participant is a team of one.
type Team struct {
	ID                 int64
	ChallengeID        int64
	Name               string
	Solo               bool
	DisqualifiedReason string
	CreatedAt          time.Time
	Members            []TeamMember
}

// TeamMember is one user of a team.
type TeamMember struct {
	UserID   int64
	Username string
	JoinedAt time.Time
}

// Registration is a user's entry into a challenge.
type Registration struct {
	ChallengeID     int64
	UserID          int64
	State           string
	TermsAcceptedAt time.Time
	TeamID          *int64 // the user's team, if any
}

// Invitation is a link that lets its holder join a team.
type Invitation struct {
	ID          int64
	TeamID      int64
	ChallengeID int64
	CreatedAt   time.Time
	ExpiresAt   time.Time
	RevokedAt   *time.Time
}
