package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/srarena/srarena/scoring"
)

// Evaluate runs model on every pair in a sandboxed child and scores it.
// A *ModelError means the model is at fault (final); any other error is an
// infrastructure problem worth retrying.
func Evaluate(ctx context.Context, model []byte, pairs []Pair, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(model) == 0 || len(model) > MaxModelBytes {
		return nil, modelErr("load_error", "model is %d bytes; it must be between 1 byte and %s", len(model), fmtBytes(MaxModelBytes))
	}
	if len(pairs) == 0 {
		return nil, errors.New("runner: no images to evaluate")
	}
	hrs := make([]*scoring.Image, len(pairs))
	for i, p := range pairs {
		if p.LR == nil || p.HR == nil || p.LR.W <= 0 || p.LR.H <= 0 || len(p.LR.Pix) != 3*p.LR.W*p.LR.H {
			return nil, fmt.Errorf("runner: image %q: missing or malformed LR/HR", p.Name)
		}
		if p.LR.W > MaxSide || p.LR.H > MaxSide {
			return nil, fmt.Errorf("runner: image %q: LR %dx%d exceeds %d", p.Name, p.LR.W, p.LR.H, MaxSide)
		}
		// The official mod-crop (KAIR util.modcrop) trims fewer than scale
		// pixels; anything else is a broken dataset, never cropped away
		// silently (it would score the wrong pixels).
		hr := scoring.ModCrop(p.HR, opt.Scale)
		if hr.W != opt.Scale*p.LR.W || hr.H != opt.Scale*p.LR.H {
			return nil, fmt.Errorf("runner: dataset image %s: HR %d×%d does not match LR %d×%d ×%d",
				p.Name, p.HR.W, p.HR.H, p.LR.W, p.LR.H, opt.Scale)
		}
		hrs[i] = hr
	}

	ctx, cancel := context.WithTimeout(ctx, opt.TotalTimeout)
	defer cancel()
	t0 := time.Now()
	if opt.InsecureSandbox {
		opt.Warnf("sandbox: InsecureSandbox is set: this evaluation runs even if the child lacks a uid of its own, Landlock or seccomp")
	}
	c, err := startChild(opt.ChildCommand, opt.ORTLib, opt.MemoryLimit, opt.Logf, opt.Warnf)
	if err != nil {
		return nil, err
	}
	e := &evaluation{opt: opt, c: c, ctx: ctx}
	defer e.close()
	go func() {
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				c.kill(modelErr("timeout", "evaluation timed out after %s (limit for the whole set)", fmtDur(opt.TotalTimeout)))
			} else {
				c.kill(fmt.Errorf("runner: evaluation cancelled: %w", ctx.Err()))
			}
		case <-c.waitDone:
		}
	}()

	rep, err := e.run(model, pairs, hrs, t0)
	if err != nil {
		return nil, err
	}
	return rep, nil
}

type evaluation struct {
	opt   Options
	c     *child
	ctx   context.Context
	mu    sync.Mutex
	timer *time.Timer
	phase string // for crash messages: "while loading the model", "on image X"
	done  bool
}

// arm (re)starts the watchdog: after d the child is killed with reason.
func (e *evaluation) arm(d time.Duration, reason *ModelError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.AfterFunc(d, func() { e.c.kill(reason) })
}

func (e *evaluation) disarm() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.timer != nil {
		e.timer.Stop()
	}
}

func (e *evaluation) close() {
	e.disarm()
	if !e.done {
		e.c.kill(nil)
	}
	e.c.finish(5 * time.Second)
	e.logStderr()
}

func (e *evaluation) logStderr() {
	for _, line := range strings.Split(sanitize(e.c.stderr.String(), 64<<10), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			e.opt.Logf("child: " + line)
		}
	}
}

// failure turns a broken conversation with the child into an error: the
// reason the parent killed it, an OOM kill, a crash signal, or garbage.
func (e *evaluation) failure(cause error) error {
	e.disarm()
	if errors.Is(cause, errFrame) {
		e.c.kill(modelErr("crashed", "the model process sent a malformed response %s", e.phase))
	} else {
		// EOF: the child is dying on its own; let it, so its exit status
		// tells why, but never wait long.
		select {
		case <-e.c.waitDone:
		case <-time.After(2 * time.Second):
			e.c.kill(modelErr("crashed", "the model process stopped responding %s", e.phase))
		}
	}
	<-e.c.waitDone
	if r := e.c.killed.Load(); r != nil && *r != nil {
		if me, ok := (*r).(*ModelError); ok && me.Kind == "timeout" && e.c.cg.oomKilled() {
			return e.oom()
		}
		return *r
	}
	if e.c.cg.oomKilled() {
		return e.oom()
	}
	stderr := e.c.stderr.String()
	if memoryText(stderr) {
		return e.oom()
	}
	var ee *exec.ExitError
	if errors.As(e.c.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig := ws.Signal()
			if sig == syscall.SIGKILL {
				return e.oom() // nobody else SIGKILLs it: the kernel's OOM killer did
			}
			return modelErr("crashed", "the model crashed ONNX Runtime (%s) %s", sigName(sig), e.phase)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			return modelErr("crashed", "the model process exited unexpectedly (status %d) %s", ws.ExitStatus(), e.phase)
		}
	}
	if errors.Is(cause, errFrame) {
		return modelErr("crashed", "the model process sent a malformed response %s", e.phase)
	}
	if e.c.waitErr == nil {
		return modelErr("crashed", "the model process exited early %s", e.phase)
	}
	return fmt.Errorf("runner: child %s: %w (%v)", e.phase, cause, e.c.waitErr)
}

func (e *evaluation) oom() *ModelError {
	return modelErr("oom", "model process was killed after exceeding the %s memory limit %s", fmtBytes(e.opt.MemoryLimit), e.phase)
}

func memoryText(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "bad_alloc") || strings.Contains(s, "failed to allocate") ||
		strings.Contains(s, "out of memory") || strings.Contains(s, "cannot allocate memory")
}

func sigName(s syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS",
		syscall.SIGILL: "SIGILL", syscall.SIGFPE: "SIGFPE", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS", syscall.SIGXCPU: "SIGXCPU"}
	if n, ok := names[s]; ok {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}

// childError maps an 'E' frame to a participant message.
// expect reads the next frame's type: want, else the child's own error
// frame (loading says whether the model was still being loaded), else a
// protocol failure.
func (e *evaluation) expect(want byte, loading bool) error {
	typ, err := e.c.stdout.ReadByte()
	if err != nil {
		return e.failure(err)
	}
	switch typ {
	case want:
		return nil
	case frameError:
		return e.childError(e.c.stdout, loading)
	default:
		return e.failure(errFrame)
	}
}

func (e *evaluation) childError(r *bufio.Reader, loading bool) error {
	b, err := readBlob(r, maxErrorBytes)
	if err != nil {
		return e.failure(err)
	}
	msg := sanitize(string(b), 600)
	e.done = true
	if memoryText(msg) {
		// ORT refused an allocation (RLIMIT_AS, arena): the process lives,
		// but the model needs more than it may have.
		need := ""
		if i := strings.Index(msg, "buffer of size "); i >= 0 && !e.opt.Hidden {
			if n, err := strconv.ParseInt(strings.Fields(msg[i+len("buffer of size "):] + " x")[0], 10, 64); err == nil {
				need = fmt.Sprintf(" (it asked for %s at once)", fmtBytes(n))
			}
		}
		return modelErr("oom", "the model needs more memory than the %s limit %s%s", fmtBytes(e.opt.MemoryLimit), e.phase, need)
	}
	if loading {
		return modelErr("load_error", "ONNX Runtime could not load the model: %s", msg)
	}
	if e.opt.Hidden {
		// ORT's messages quote tensor shapes: the hidden image's size.
		return modelErr("runtime_error", "inference failed %s (ONNX Runtime's message is withheld on a test set; run the model on the validation set to see it)", e.phase)
	}
	return modelErr("runtime_error", "inference failed %s: %s", e.phase, msg)
}

// sandboxStatus reads the child's 'S' frame. Anything else is the
// platform's fault: an 'E' frame (ORT or the CUDA provider failed to load)
// or a death before the model was sent.
func (e *evaluation) sandboxStatus() (*sandboxStatus, error) {
	c := e.c
	infra := func(format string, a ...any) error {
		e.disarm()
		return fmt.Errorf("runner: sandbox child failed before the model was sent: "+format, a...)
	}
	typ, err := c.stdout.ReadByte()
	if err != nil {
		select {
		case <-c.waitDone:
		case <-time.After(2 * time.Second):
		}
		return nil, infra("%v (%v; stderr: %s)", err, c.waitErr, sanitize(c.stderr.String(), 600))
	}
	switch typ {
	case frameSandbox:
	case frameError:
		b, err := readBlob(c.stdout, maxErrorBytes)
		if err != nil {
			return nil, infra("%w", err)
		}
		return nil, infra("%s", sanitize(string(b), 600))
	default:
		return nil, infra("unexpected frame %q", typ)
	}
	b, err := readBlob(c.stdout, maxStatusBytes)
	if err != nil {
		return nil, infra("%w", err)
	}
	var st sandboxStatus
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, infra("sandbox status: %w", err)
	}
	return &st, nil
}

func (e *evaluation) run(model []byte, pairs []Pair, hrs []*scoring.Image, t0 time.Time) (*Report, error) {
	opt, c := e.opt, e.c
	runs := opt.Warmup + opt.Repeats
	cfg, err := opt.childConfig(raceEnabled)
	if err != nil {
		return nil, err
	}
	as := cfg.AS
	raw, _ := json.Marshal(cfg)

	e.phase = "while loading the model"
	e.arm(opt.LoadTimeout, modelErr("timeout", "loading the model timed out after %s", fmtDur(opt.LoadTimeout)))
	w := bufio.NewWriterSize(c.stdin, 1<<20)
	// Writes fail only if the child is gone; the read below reports why.
	io.WriteString(w, protoMagic)
	writeBlob(w, raw)
	w.Flush()

	// Until the child has the model it is our own code: what it says about
	// its sandbox is the truth, and any failure is the platform's.
	st, err := e.sandboxStatus()
	if err != nil {
		return nil, err
	}
	workerUID := os.Getuid()
	if miss := sandboxMissing(*st, workerUID); len(miss) > 0 {
		if !opt.InsecureSandbox {
			return nil, fmt.Errorf("runner: refusing to evaluate: the sandbox lacks %s (active: %s). "+
				"Run the worker as root or allow unprivileged user namespaces, on a kernel with Landlock (≥ 5.13, lsm=landlock) and seccomp; "+
				"or accept the risk with the insecure-sandbox option", strings.Join(miss, ", "), strings.Join(st.Protections, "; "))
		}
		opt.Warnf("sandbox: INSECURE: evaluating although the sandbox lacks " + strings.Join(miss, ", "))
	}
	if err := checkORTVersion(st.ORTVersion); err != nil {
		return nil, err
	}

	putU64(w, uint64(len(model)))
	w.Write(model)
	w.Flush()

	if err := e.expect(frameReady, true); err != nil {
		return nil, err
	}
	rb, err := readBlob(c.stdout, maxReadyBytes)
	if err != nil {
		return nil, e.failure(err)
	}
	var ready readyInfo
	if err := json.Unmarshal(rb, &ready); err != nil {
		return nil, e.failure(errFrame)
	}
	startup := time.Since(t0)
	device := opt.Device
	if device == DeviceCPU {
		device = fmt.Sprintf("cpu (%d threads)", opt.Threads)
	}
	rep := &Report{Warmup: opt.Warmup, Repeats: opt.Repeats, Threads: opt.Threads, ORTVersion: sanitize(st.ORTVersion, 40),
		StartupMS: ms(startup), SessionMS: float64(ready.SessionNS) / 1e6, Device: device, DataRange: opt.DataRange}
	rep.Sandbox = append(rep.Sandbox, c.sandbox)
	if c.cg != nil {
		kind := "v2 memory.max"
		if c.cg.v1 {
			kind = "v1 memory.limit_in_bytes"
		}
		rep.Sandbox = append(rep.Sandbox, fmt.Sprintf("cgroup %s = %s", kind, fmtBytes(opt.MemoryLimit)))
	} else if as > 0 {
		rep.Sandbox = append(rep.Sandbox, fmt.Sprintf("no cgroup: memory limit is RLIMIT_AS = %s only", fmtBytes(int64(as))))
	} else {
		rep.Sandbox = append(rep.Sandbox, "no cgroup and no RLIMIT_AS: host memory is not limited")
		opt.Warnf("sandbox: no cgroup and no RLIMIT_AS (device " + opt.Device + "): the model's host memory is not limited")
	}
	for _, p := range st.Protections {
		rep.Sandbox = append(rep.Sandbox, sanitize(p, 200))
	}
	opt.Logf(fmt.Sprintf("sandbox ready in %.0f ms (session %.0f ms), ORT %s, %s: %s", rep.StartupMS, rep.SessionMS, rep.ORTVersion, rep.Device, strings.Join(rep.Sandbox, "; ")))

	var sumVar float64
	psnrs := make([]float64, len(pairs))
	for i, p := range pairs {
		ir, err := e.image(w, p, hrs[i], runs)
		if err != nil {
			return nil, err
		}
		psnrs[i] = ir.PSNR
		rep.Images = append(rep.Images, *ir)
		rep.PSNRY += ir.PSNRY
		rep.SSIM += ir.SSIM
		rep.RuntimeMS += ir.RuntimeMS
		rep.RuntimeMinMS += minOf(ir.RunsMS)
		rep.RuntimeMaxMS += maxOf(ir.RunsMS)
		sumVar += variance(ir.RunsMS)
		rep.PeakMemoryMB = math.Max(rep.PeakMemoryMB, ir.PeakMB)
		if opt.Progress != nil {
			opt.Progress(i+1, len(pairs), *ir)
		}
	}
	n := float64(len(pairs))
	rep.PSNR = scoring.Mean(psnrs)
	rep.PSNRY /= n
	rep.SSIM /= n
	rep.RuntimeMS /= n
	rep.RuntimeMinMS /= n
	rep.RuntimeMaxMS /= n
	rep.RuntimeStdMS = math.Sqrt(sumVar / n)

	// Orderly end: H=W=0, then the child exits by itself.
	e.phase = "after the last image"
	putU32(w, 0)
	putU32(w, 0)
	w.Flush()
	e.disarm()
	e.done = true
	c.stdin.Close()
	select {
	case <-c.waitDone:
	case <-time.After(5 * time.Second):
		c.kill(nil)
		<-c.waitDone
	}
	rep.MaxRSSMB = float64(c.maxRSS()) / (1 << 20)
	return rep, nil
}

func (e *evaluation) image(w *bufio.Writer, p Pair, hr *scoring.Image, runs int) (*ImageResult, error) {
	opt, c := e.opt, e.c
	h, wd := p.LR.H, p.LR.W
	sh, sw := opt.Scale*h, opt.Scale*wd
	e.phase = "on image " + p.Name
	timeout := modelErr("timeout", "timed out after %s on image %s", fmtDur(opt.ImageTimeout), p.Name)
	e.arm(opt.ImageTimeout, timeout)
	start := time.Now()
	putU32(w, uint32(h))
	putU32(w, uint32(wd))
	in := scoring.ToCHWRange(p.LR, opt.DataRange)
	buf := make([]byte, 0, 1<<16)
	for i := 0; i < len(in); i += 1 << 14 {
		buf = encodeFloats(buf[:0], in[i:min(i+1<<14, len(in))])
		if _, err := w.Write(buf); err != nil {
			break // the child is gone; the read below says why
		}
	}
	w.Flush()

	ir := &ImageResult{Name: p.Name, OutputW: sw, OutputH: sh}
	var claimed time.Duration
	for r := 0; r < runs; r++ {
		if err := e.expect(frameTiming, false); err != nil {
			return nil, err
		}
		v, err := getU64(c.stdout)
		if err != nil {
			return nil, e.failure(err)
		}
		d := time.Duration(v)
		claimed += d
		// The child times only session.Run; everything it claims happened
		// inside the parent's window. A claim that does not fit is forged.
		if d <= 0 || claimed > time.Since(start) {
			e.done = true
			return nil, modelErr("crashed", "the model process reported impossible timings on image %s", p.Name)
		}
		if r < opt.Warmup {
			ir.WarmupMS = append(ir.WarmupMS, ms(d))
		} else {
			ir.RunsMS = append(ir.RunsMS, ms(d))
		}
		e.arm(opt.ImageTimeout, timeout) // per run
	}
	if err := e.expect(frameOutput, false); err != nil {
		return nil, err
	}
	rank, err := getU32(c.stdout)
	if err != nil {
		return nil, e.failure(err)
	}
	if rank > maxRank {
		return nil, e.failure(errFrame)
	}
	dims := make([]int64, rank)
	for i := range dims {
		v, err := getU64(c.stdout)
		if err != nil {
			return nil, e.failure(err)
		}
		dims[i] = int64(v)
	}
	hwm, err := getU64(c.stdout)
	if err != nil {
		return nil, e.failure(err)
	}
	want := []int64{1, 3, int64(sh), int64(sw)}
	if !slices.Equal(dims, want) {
		e.done = true
		if opt.Hidden {
			// The shape would tell the hidden image's size.
			return nil, modelErr("bad_output", "output is not ×%d the input size on image %s (expected 1×3×%d·H×%d·W for a 1×3×H×W input)",
				opt.Scale, p.Name, opt.Scale, opt.Scale)
		}
		return nil, modelErr("bad_output", "output is %s for a %d×%d input on image %s; expected ×%d = 1×3×%d×%d",
			fmtDims(dims), h, wd, p.Name, opt.Scale, sh, sw)
	}
	// Exactly the size the parent computed; never what the child claims.
	nvals := 3 * sh * sw
	raw := make([]byte, 4*nvals)
	if _, err := io.ReadFull(c.stdout, raw); err != nil {
		return nil, e.failure(err)
	}
	ir.WallMS = ms(time.Since(start))
	e.disarm()
	out := make([]float32, nvals)
	decodeFloats(out, raw)
	raw = nil
	for i, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			kind := "NaN"
			if math.IsInf(float64(v), 0) {
				kind = "Inf"
			}
			plane := sh * sw
			e.done = true
			if opt.Hidden {
				return nil, modelErr("bad_output", "output contains %s at image %s", kind, p.Name)
			}
			return nil, modelErr("bad_output", "output contains %s at image %s (channel %d, y %d, x %d)",
				kind, p.Name, i/plane, (i%plane)/sw, i%sw)
		}
	}
	sr, err := scoring.QuantizeCHW(out, sh, sw, opt.DataRange)
	if err != nil {
		return nil, fmt.Errorf("runner: quantise %s: %w", p.Name, err)
	}
	if ir.PSNR, err = scoring.PSNR(sr, hr, opt.Scale); err != nil {
		return nil, fmt.Errorf("runner: PSNR %s: %w", p.Name, err)
	}
	if ir.PSNRY, err = scoring.PSNRY(sr, hr, opt.Scale); err != nil {
		return nil, fmt.Errorf("runner: PSNR-Y %s: %w", p.Name, err)
	}
	if ir.SSIM, err = scoring.SSIM(sr, hr, opt.Scale); err != nil {
		// Tiny images (fewer than 11×11 pixels inside the border) have no
		// SSIM; PSNR still stands.
		ir.SSIM = math.NaN()
	}
	ir.RuntimeMS = median(ir.RunsMS)
	ir.PeakMB = -1
	if int64(hwm) > 0 {
		ir.PeakMB = float64(hwm) / (1 << 20)
	}
	return ir, nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
	}
	return m
}

func maxOf(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func fmtDims(d []int64) string {
	if len(d) == 0 {
		return "a scalar"
	}
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, "×")
}

// childConfig is the configuration the child gets, for a race-instrumented
// parent when race is set.
//
// RLIMIT_AS (Options.AddressSpace) is set only on the CPU. The CUDA driver
// reserves virtual address space far beyond any memory limit (tens of GiB
// for its unified address space and each context), so under RLIMIT_AS every
// CUDA evaluation would fail to create its context. A CUDA child's host
// memory is bounded by the cgroup alone (Options.MemoryLimit; without a
// cgroup it is not bounded, and the report and Warnf say so); its GPU
// memory by the GPU. RLIMIT_AS is also skipped for race-instrumented
// binaries, whose shadow memory needs terabytes of address space.
func (o Options) childConfig(race bool) (childConfig, error) {
	cfg := childConfig{ORTLib: "/proc/self/fd/" + strconv.Itoa(fdORT), Threads: o.Threads, Runs: o.Warmup + o.Repeats,
		Landlock: !o.NoLandlock, Seccomp: !o.NoSeccomp, ExeFD: fdExe, Device: o.Device}
	if o.AddressSpace > 0 && !race && o.Device != DeviceCUDA {
		cfg.AS = uint64(o.AddressSpace)
	}
	if o.Device == DeviceCUDA {
		// ORT finds the CUDA provider libraries next to the path it was
		// loaded from (dladdr), which must be the real directory, not
		// /proc/self/fd. That directory must be readable by the sandbox uid.
		lib, err := filepath.Abs(o.ORTLib)
		if err != nil {
			return cfg, fmt.Errorf("runner: ONNX Runtime library: %w", err)
		}
		cfg.ORTLib, cfg.ORTDir = lib, filepath.Dir(lib)
	}
	return cfg, nil
}
