// Package evaluate is the evaluation of an ONNX super-resolution model: the
// timing protocol and the scoring of its outputs. The model itself runs in
// a child of package sandbox, which gets only the model and the LR tensors;
// HR images never leave this process, which checks each output's
// finiteness, quantises, and computes PSNR/SSIM with package scoring.
//
// Runtime protocol: each image is run Warmup times (not timed in the result)
// then Repeats times; an image's runtime is the median of its repeats and the
// set runtime is the mean over images (protocol.md §runtime reports the mean
// per image; the warm-up and median make CPU numbers stable). The spread is
// reported too: pooled standard deviation across repeats and the mean over
// images of each image's fastest and slowest repeat.
package evaluate

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

// Pair is one LR input and its HR reference.
type Pair struct {
	Name   string
	LR, HR *scoring.Image
}

// Options configure an evaluation. The zero value gives the defaults noted.
type Options struct {
	Scale        int           // upscaling factor; default 4
	ORTLib       string        // ONNX Runtime library; default sandbox.FindORT()
	Threads      int           // ORT intra-op threads; default runtime.NumCPU()
	Warmup       int           // untimed runs per image; default 1, negative for none
	Repeats      int           // timed runs per image; default 3
	LoadTimeout  time.Duration // child start + session creation; default 60s
	ImageTimeout time.Duration // one inference run; default 60s
	TotalTimeout time.Duration // the whole evaluation; default 30min
	MemoryLimit  int64         // child memory (cgroup; RLIMIT_AS backstop); default 4 GiB
	// AddressSpace is the child's RLIMIT_AS; default MemoryLimit + 1 GiB
	// (Go and ORT reserve far more address space than they touch), negative
	// for none. Never applied to CUDA children (the driver reserves far more
	// address space; the cgroup bounds them) nor to race-instrumented test
	// binaries.
	AddressSpace int64
	// NoLandlock and NoSeccomp turn those layers off (debugging only; they
	// need InsecureSandbox, or the evaluation is refused).
	NoLandlock, NoSeccomp bool
	// InsecureSandbox lets evaluations run although the child lacks a uid
	// of its own, Landlock or seccomp (the operator's explicit opt-in, for
	// kernels or containers that refuse them). Without it the runner fails
	// closed: an infrastructure error, never a silently weaker sandbox.
	// Every evaluation that uses it is logged through Warnf.
	InsecureSandbox bool
	// Device is "cpu" (default) or "cuda" (the CUDA execution provider on
	// GPU; see DeviceForQueue).
	Device string
	// GPU is the CUDA device a "cuda" evaluation runs on (default 0): a
	// worker is bound to one GPU and runs one job at a time on it.
	GPU int
	// DataRange is the model's pixel range, 1 (default: inputs /255,
	// outputs ×255) or 255 (protocol.md §1.1).
	DataRange float32
	// ChildCommand is the child's argv; default {os.Executable(), sandbox.ChildArg}
	// (tests substitute hostile children).
	ChildCommand []string
	// Hidden marks a test set, whose images a participant must not learn
	// about: failure messages then give no image size, output position or
	// ONNX Runtime message (which may quote tensor shapes), and name the
	// image as Pair.Name only (the worker makes it "3 of 100").
	Hidden bool
	// Baseline, when set, is a reference model (already Checked) timed in
	// a sandbox of its own, identical to the model's, image by image
	// interleaved with the model: the report then carries the model's
	// runtime relative to it, which a busy machine slows alike.
	Baseline []byte
	// RatioClock is what the runtime ratio compares: RatioClockCPU (the
	// default on the CPU: each run's process CPU time, all ORT threads,
	// which other processes taking the CPU stretch far less than its wall
	// time) or RatioClockWall (each run's wall time; the default, and the
	// only choice, on cuda). See ratio.go.
	RatioClock string
	// Spin is whether ORT's intra-op threads spin while they wait for
	// work inside a run: SpinOn (ORT's default), SpinOff, or SpinAuto (or
	// ""; the default), which is on. Either way they stop spinning when
	// the run returns (the child's session.force_spinning_stop): threads
	// still spinning after a run took the CPU the parent scores on, and,
	// with a baseline, the CPU the other child's next run is timed on
	// (that made RLFN's runs ≈ 1.5× slower beside its baseline on a quiet
	// 2-core machine before). Off remains for machines where spinning
	// inside a run costs more than it saves (bench/fairness-overhead.sh).
	Spin string
	// Nice, when not 0, is the niceness the model's (and the baseline's)
	// threads get before the model is loaded: DefaultNice puts the timed
	// runs ahead of the machine's other work (sandbox.Spec.Nice). It needs
	// root or CAP_SYS_NICE; without, the threads keep srarena's priority
	// and Environment.Nice says 0.
	Nice int
	// Realtime runs the model's (and the baseline's) ORT threads under
	// SCHED_FIFO (sandbox.Spec.Realtime): no normal thread on the machine
	// then preempts a timed run. It needs root or CAP_SYS_NICE and the
	// kernel's real-time throttling; without, the threads keep Nice and
	// Environment.Realtime says false.
	Realtime bool
	// Protocol is ProtocolRobust (default: Warmup untimed runs, then the
	// median of Repeats) or ProtocolOfficial (NTIRE's: one pass per image,
	// no warm-up, the mean), so published numbers can be reproduced.
	Protocol string
	// Progress, when set, is called after each image (participant-visible:
	// only names and scores go in it).
	Progress func(done, total int, img ImageResult)
	// Output, when set, receives each image's quantised SR output (by
	// Pair.Name) once it is scored, between timed runs, never during one;
	// it must not keep sr. The worker stores those of public validation
	// images for the crop viewer.
	Output func(name string, sr *scoring.Image)
	// Logf receives operator-level lines (sandbox set-up, child stderr).
	Logf func(line string)
	// Warnf receives operator-level lines that need attention (a weaker
	// sandbox than the strongest); default Logf.
	Warnf func(line string)
}

func (o Options) withDefaults() (Options, error) {
	if o.Scale == 0 {
		o.Scale = 4
	}
	if o.Scale < 1 || o.Scale > 16 {
		return o, fmt.Errorf("runner: scale %d out of range", o.Scale)
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	switch o.Protocol {
	case "", ProtocolRobust:
		o.Protocol = ProtocolRobust
		if o.Warmup == 0 {
			o.Warmup = 1
		} else if o.Warmup < 0 {
			o.Warmup = 0
		}
		if o.Repeats <= 0 {
			o.Repeats = 3
		}
	case ProtocolOfficial:
		o.Warmup, o.Repeats = 0, 1
	default:
		return o, fmt.Errorf("runner: protocol %q: want %q or %q", o.Protocol, ProtocolRobust, ProtocolOfficial)
	}
	if o.LoadTimeout <= 0 {
		o.LoadTimeout = 60 * time.Second
	}
	if o.ImageTimeout <= 0 {
		o.ImageTimeout = 60 * time.Second
	}
	if o.TotalTimeout <= 0 {
		o.TotalTimeout = 30 * time.Minute
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 4 << 30
	}
	if o.AddressSpace == 0 {
		o.AddressSpace = o.MemoryLimit + 1<<30
	}
	if o.ORTLib == "" {
		lib, err := sandbox.FindORT()
		if err != nil {
			return o, err
		}
		o.ORTLib = lib
	}
	if o.Logf == nil {
		o.Logf = func(string) {}
	}
	if o.Warnf == nil {
		o.Warnf = o.Logf
	}
	switch o.Device {
	case "":
		o.Device = sandbox.DeviceCPU
	case sandbox.DeviceCPU, sandbox.DeviceCUDA:
	default:
		return o, fmt.Errorf("runner: device %q: want %q or %q", o.Device, sandbox.DeviceCPU, sandbox.DeviceCUDA)
	}
	switch o.RatioClock {
	case "":
		// Measured (bench/fairness-overhead.sh, busy 2-core machine under
		// a CPU hog): the CPU-time ratio varied 1.3–3.9 % over repeated
		// evaluations where the wall-time ratio varied 6.6–7.5 % and the
		// raw runtime 23–39 %. A GPU's work is not the process's CPU time.
		o.RatioClock = RatioClockCPU
		if o.Device == DeviceCUDA {
			o.RatioClock = RatioClockWall
		}
	case RatioClockWall:
	case RatioClockCPU:
		if o.Device != DeviceCPU {
			return o, fmt.Errorf("runner: the cpu ratio clock needs the CPU execution provider (device %q)", o.Device)
		}
	default:
		return o, fmt.Errorf("runner: ratio clock %q: want %q or %q", o.RatioClock, RatioClockWall, RatioClockCPU)
	}
	switch o.Spin {
	case "", SpinAuto:
		o.Spin = SpinOn
	case SpinOn, SpinOff:
	default:
		return o, fmt.Errorf("runner: spin %q: want %q, %q or %q", o.Spin, SpinAuto, SpinOn, SpinOff)
	}
	switch o.DataRange {
	case 0:
		o.DataRange = 1
	case 1, 255:
	default:
		return o, fmt.Errorf("runner: data range %v: want 1 or 255", o.DataRange)
	}
	return o, nil
}

// DefaultNice is the worker's and `srarena eval`'s Options.Nice.
const DefaultNice = -10

// Spinning of ORT's intra-op threads (Options.Spin).
const (
	SpinAuto = "auto"
	SpinOn   = "on"
	SpinOff  = "off"
)

// Clocks of the runtime ratio (Options.RatioClock).
const (
	RatioClockWall = "wall"
	RatioClockCPU  = "cpu"
)

// Timing protocols (Options.Protocol).
const (
	ProtocolRobust   = "robust"
	ProtocolOfficial = "official"
)

// ImageResult is one image's scores and timings.
type ImageResult struct {
	Name      string    `json:"name"`
	PSNR      float64   `json:"psnr"`
	PSNRY     float64   `json:"psnr_y"`
	SSIM      float64   `json:"ssim"`
	RuntimeMS float64   `json:"runtime_ms"` // median of the repeats (official protocol: the one pass)
	RunsMS    []float64 `json:"runs_ms"`    // every timed repeat, in order
	WarmupMS  []float64 `json:"warmup_ms,omitempty"`
	WallMS    float64   `json:"wall_ms"` // parent-measured, request to response, all runs + transfer
	PeakMB    float64   `json:"peak_mb"` // child VmHWM during this image, MiB (-1 unknown)
	// ArenaPeakMB is ONNX Runtime's arena peak in the session up to this
	// image (GPU memory on cuda), MiB (-1 unknown).
	ArenaPeakMB float64 `json:"arena_peak_mb"`
	OutputW     int     `json:"output_w"` // SR width
	OutputH     int     `json:"output_h"` // SR height
	// BaselineMS is the baseline's runtime on this image, timed next to
	// the model's (0 without a baseline), BaselineRunsMS its timed runs
	// (BaselineRunsMS[k] ran next to RunsMS[k]), and RuntimeRatio the
	// model's runtime relative to it, estimated from the pairs (ratio.go).
	BaselineMS     float64   `json:"baseline_ms,omitempty"`
	BaselineRunsMS []float64 `json:"baseline_runs_ms,omitempty"`
	RuntimeRatio   float64   `json:"runtime_ratio,omitempty"`
	// CPURunsMS and BaselineCPURunsMS are the process CPU time of the same
	// timed runs (with a baseline only): the "cpu" ratio clock's data.
	CPURunsMS         []float64 `json:"cpu_runs_ms,omitempty"`
	BaselineCPURunsMS []float64 `json:"baseline_cpu_runs_ms,omitempty"`

	ratioLogSE float64 // standard error of log(RuntimeRatio)
}

// Report is the result of a successful evaluation.
type Report struct {
	PSNR         float64 `json:"psnr"`
	PSNRY        float64 `json:"psnr_y"`
	SSIM         float64 `json:"ssim"`
	RuntimeMS    float64 `json:"runtime_ms"`     // mean over images of the per-image median
	RuntimeStdMS float64 `json:"runtime_std_ms"` // pooled std across repeats
	RuntimeMinMS float64 `json:"runtime_min_ms"` // mean over images of the fastest repeat
	RuntimeMaxMS float64 `json:"runtime_max_ms"` // mean over images of the slowest repeat
	Warmup       int     `json:"warmup"`
	Repeats      int     `json:"repeats"`
	Threads      int     `json:"threads"`
	PeakMemoryMB float64 `json:"peak_memory_mb"` // max VmHWM of the child over images (RSS incl. ORT and weights)
	MaxRSSMB     float64 `json:"max_rss_mb"`     // the child's peak RSS over its whole life, loading included (VmHWM; getrusage's if unknown)
	// ArenaPeakMB is ONNX Runtime's arena peak over the evaluation (its
	// AllocatorGetStats MaxInUse: the CPU arena, or the CUDA BFC arena on
	// cuda), MiB, -1 unknown; GPUPeakMemoryMB the same on cuda only, which
	// then is PeakMemoryMB too (the GPU memory the challenges report).
	ArenaPeakMB     float64       `json:"arena_peak_mb"`
	GPUPeakMemoryMB float64       `json:"gpu_peak_memory_mb,omitempty"`
	StartupMS       float64       `json:"startup_ms"` // spawn until the session is ready
	SessionMS       float64       `json:"session_ms"` // session creation alone (child-measured)
	ORTVersion      string        `json:"ort_version"`
	Device          string        `json:"device"` // "cuda" or "cpu (N threads)"
	DataRange       float32       `json:"data_range"`
	Sandbox         []string      `json:"sandbox"` // protections that were active
	Images          []ImageResult `json:"images"`
	Protocol        string        `json:"protocol"` // robust or official
	// The runtime relative to the baseline timed next to it, image by
	// image and run by run (ratio.go): the ratio of the mean runtimes
	// estimated from ABBA blocks of paired runs; its own relative standard
	// error, the spread a repeat of the evaluation would be expected to
	// show (NaN, written null, with a single pair per image); the standard
	// deviation of the per-image ratios (images differ in earnest, so it
	// is no measure of noise); and the baseline's own runtime. All 0
	// without a baseline.
	RuntimeRatio      float64 `json:"runtime_ratio"`
	RatioClock        string  `json:"runtime_ratio_clock,omitempty"` // wall or cpu
	RuntimeRatioCV    float64 `json:"runtime_ratio_cv"`
	RuntimeRatioStd   float64 `json:"runtime_ratio_std"`
	BaselineRuntimeMS float64 `json:"baseline_runtime_ms"`
	// Environment is the machine and software that measured it.
	Environment Environment `json:"environment"`
	// EvalWallMS is the whole evaluation, reading and decoding the images
	// and starting the sandbox included; InferenceMS the sum of every timed
	// session run (warm-up and baseline runs included); Overhead is
	// (EvalWallMS − InferenceMS) / InferenceMS.
	EvalWallMS  float64 `json:"eval_wall_ms"`
	InferenceMS float64 `json:"inference_ms"`
	Overhead    float64 `json:"overhead"`
	// Phases breaks EvalWallMS − InferenceMS down (phases.go).
	Phases Phases `json:"phases_ms"`
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// variance is the sample variance (n-1), 0 for fewer than two values.
func variance(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return s / float64(len(v)-1)
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%d MiB", n>>20)
	}
}

func fmtDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return d.String()
}

// Devices for Options.Device.
const (
	DeviceCPU  = sandbox.DeviceCPU
	DeviceCUDA = sandbox.DeviceCUDA
)

// finite returns a pointer to v, or nil for NaN/±Inf (JSON has no such
// numbers).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
