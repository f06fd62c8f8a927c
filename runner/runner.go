// Package runner evaluates an ONNX super-resolution model in a sandboxed
// child process and scores it.
//
// The parent (this package, in the worker or `srarena eval`) never loads
// ONNX Runtime. It re-executes its own binary as `__sandbox-child`, hands it
// only the model bytes and the LR tensors over a framed pipe protocol
// (proto.go), and gets SR tensors and per-run timings back. HR images never
// leave the parent, which checks the output shape and finiteness, quantises,
// and computes PSNR/SSIM with package scoring. The parent enforces every
// limit (session-creation, per-run and total timeouts by SIGKILL of the
// child's process group, output size, cgroup memory limit) and turns child
// deaths into messages a participant can act on (ModelError).
//
// Runtime protocol: each image is run Warmup times (not timed in the result)
// then Repeats times; an image's runtime is the median of its repeats and the
// set runtime is the mean over images (protocol.md §runtime reports the mean
// per image; the warm-up and median make CPU numbers stable). The spread is
// reported too: pooled standard deviation across repeats and the mean over
// images of each image's fastest and slowest repeat.
package runner

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode"

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
	ORTLib       string        // ONNX Runtime library; default FindORT()
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
	// GPU 0; see DeviceForQueue).
	Device string
	// DataRange is the model's pixel range, 1 (default: inputs /255,
	// outputs ×255) or 255 (protocol.md §1.1).
	DataRange float32
	// ChildCommand is the child's argv; default {os.Executable(), ChildArg}.
	ChildCommand []string
	// Hidden marks a test set, whose images a participant must not learn
	// about: failure messages then give no image size, output position or
	// ONNX Runtime message (which may quote tensor shapes), and name the
	// image as Pair.Name only (the worker makes it "3 of 100").
	Hidden bool
	// Progress, when set, is called after each image (participant-visible:
	// only names and scores go in it).
	Progress func(done, total int, img ImageResult)
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
	if o.Warmup == 0 {
		o.Warmup = 1
	} else if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Repeats <= 0 {
		o.Repeats = 3
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
		lib, err := FindORT()
		if err != nil {
			return o, err
		}
		o.ORTLib = lib
	}
	if len(o.ChildCommand) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("runner: own executable: %w", err)
		}
		o.ChildCommand = []string{exe, ChildArg}
	}
	if o.Logf == nil {
		o.Logf = func(string) {}
	}
	if o.Warnf == nil {
		o.Warnf = o.Logf
	}
	switch o.Device {
	case "":
		o.Device = DeviceCPU
	case DeviceCPU, DeviceCUDA:
	default:
		return o, fmt.Errorf("runner: device %q: want %q or %q", o.Device, DeviceCPU, DeviceCUDA)
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

// ImageResult is one image's scores and timings.
type ImageResult struct {
	Name      string    `json:"name"`
	PSNR      float64   `json:"psnr"`
	PSNRY     float64   `json:"psnr_y"`
	SSIM      float64   `json:"ssim"`
	RuntimeMS float64   `json:"runtime_ms"` // median of the repeats
	RunsMS    []float64 `json:"runs_ms"`    // every timed repeat, in order
	WarmupMS  []float64 `json:"warmup_ms,omitempty"`
	WallMS    float64   `json:"wall_ms"`  // parent-measured, request to response, all runs + transfer
	PeakMB    float64   `json:"peak_mb"`  // child VmHWM during this image, MiB (-1 unknown)
	OutputW   int       `json:"output_w"` // SR width
	OutputH   int       `json:"output_h"` // SR height
}

// Report is the result of a successful evaluation.
type Report struct {
	PSNR         float64       `json:"psnr"`
	PSNRY        float64       `json:"psnr_y"`
	SSIM         float64       `json:"ssim"`
	RuntimeMS    float64       `json:"runtime_ms"`     // mean over images of the per-image median
	RuntimeStdMS float64       `json:"runtime_std_ms"` // pooled std across repeats
	RuntimeMinMS float64       `json:"runtime_min_ms"` // mean over images of the fastest repeat
	RuntimeMaxMS float64       `json:"runtime_max_ms"` // mean over images of the slowest repeat
	Warmup       int           `json:"warmup"`
	Repeats      int           `json:"repeats"`
	Threads      int           `json:"threads"`
	PeakMemoryMB float64       `json:"peak_memory_mb"` // max VmHWM of the child over images (RSS incl. ORT and weights)
	MaxRSSMB     float64       `json:"max_rss_mb"`     // getrusage of the child, whole life
	StartupMS    float64       `json:"startup_ms"`     // spawn until the session is ready
	SessionMS    float64       `json:"session_ms"`     // session creation alone (child-measured)
	ORTVersion   string        `json:"ort_version"`
	Device       string        `json:"device"` // "cuda" or "cpu (N threads)"
	DataRange    float32       `json:"data_range"`
	Sandbox      []string      `json:"sandbox"` // protections that were active
	Images       []ImageResult `json:"images"`
}

// ModelError is a failure caused by the submitted model. Its message is
// meant for the participant; River must not retry it.
type ModelError struct {
	Kind string // load_error, runtime_error, crashed, timeout, oom, bad_output
	Msg  string
}

func (e *ModelError) Error() string { return e.Msg }

func modelErr(kind, format string, a ...any) *ModelError {
	return &ModelError{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}

// IsModelError reports whether err is the model's fault.
func IsModelError(err error) bool {
	var me *ModelError
	return errors.As(err, &me)
}

// FindORT locates libonnxruntime.so.1: $ONNXRUNTIME_LIB, then
// third_party/ort/ relative to the working directory, then relative to the
// executable's directory and its parents (a test binary in a package
// directory finds the repository's copy), then system locations.
func FindORT() (string, error) {
	const rel = "third_party/ort/libonnxruntime.so.1"
	if p := os.Getenv("ONNXRUNTIME_LIB"); p != "" {
		if isFile(p) {
			return p, nil
		}
		return "", fmt.Errorf("runner: ONNXRUNTIME_LIB=%s: no such file", p)
	}
	var cands []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, rel))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		for d := filepath.Dir(exe); ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, rel))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	cands = append(cands, "/usr/local/lib/srarena/libonnxruntime.so.1", "/usr/lib/libonnxruntime.so.1")
	for _, c := range cands {
		if isFile(c) {
			return c, nil
		}
	}
	return "", errors.New("runner: ONNX Runtime library not found: run `make ort` (scripts/fetch-ort.sh) or set ONNXRUNTIME_LIB to libonnxruntime.so.1")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// sanitize makes child-provided text safe for logs shown to participants:
// printable characters only (ANSI escapes and control bytes dropped), at
// most max bytes.
func sanitize(s string, max int) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case r == 0x1b:
			esc = true
			continue
		case esc:
			if r >= '@' && r <= '~' && r != '[' {
				esc = false
			}
			continue
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		}
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
	}
	return strings.TrimSpace(b.String())
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
