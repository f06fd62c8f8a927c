package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

// Evaluate runs model on every pair in a sandboxed child and scores it.
// An *outcome.Error is final (the model's fault, or a platform failure no
// retry can fix); any other error is an infrastructure problem worth
// retrying.
func Evaluate(ctx context.Context, model []byte, pairs []Pair, opt Options) (*Report, error) {
	return EvaluateLoading(ctx, model, func() ([]Pair, error) { return pairs, nil }, opt)
}

// EvaluateLoading is Evaluate with the images produced by load, which runs
// while the sandboxed children start (reading and decoding images is the
// largest cost outside inference, and starting a child the next).
func EvaluateLoading(ctx context.Context, model []byte, load func() ([]Pair, error), opt Options) (*Report, error) {
	return run(ctx, func() ([]byte, error) { return model, nil }, load, opt, time.Now())
}

// started is a session being started in the background.
type started struct {
	s    *sandbox.Session
	err  error
	done chan struct{}
}

// startSession starts a child and loads the model into it; model is
// called once the child is up (it may still be checking the file then:
// the child's start-up hides that).
func startSession(ctx context.Context, spec sandbox.Spec, model func() ([]byte, error)) *started {
	st := &started{done: make(chan struct{})}
	go func() {
		defer close(st.done)
		st.s, st.err = sandbox.Start(ctx, spec)
		if st.err == nil {
			var m []byte
			if m, st.err = model(); st.err == nil {
				st.err = st.s.Load(m)
			}
			if st.err != nil {
				st.s.Close()
				st.s = nil
			}
		}
	}()
	return st
}

// wait returns the session, or its error.
func (st *started) wait() (*sandbox.Session, error) {
	<-st.done
	return st.s, st.err
}

// close closes the session once it has started, whatever the outcome.
func (st *started) close() {
	if st == nil {
		return
	}
	<-st.done
	if st.s != nil {
		st.s.Close()
	}
}

// run is the evaluation. modelFn returns the checked model bytes
// (EvalFiles: reading and checking the file, which then runs while the
// child starts); it runs once, whoever asks first (run or the child's
// loader).
func run(ctx context.Context, modelFn func() ([]byte, error), load func() ([]Pair, error), opt Options, t0 time.Time) (*Report, error) {
	var ph Phases
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	modelFn = sync.OnceValues(modelFn)
	checked := func() ([]byte, error) {
		model, err := modelFn()
		if err == nil && (len(model) == 0 || len(model) > sandbox.MaxModelBytes) {
			err = outcome.Errorf(outcome.LoadError, "model is %d bytes; it must be between 1 byte and %s", len(model), fmtBytes(sandbox.MaxModelBytes))
		}
		return model, err
	}
	ctx, cancel := context.WithTimeout(ctx, opt.TotalTimeout)
	defer cancel()
	spec, err := opt.spec()
	if err != nil {
		return nil, err
	}
	if len(opt.Baseline) > 0 {
		// With a baseline every run is its own request, so that the model's
		// and the baseline's runs alternate one by one (image.go).
		spec.Config.Runs = 1
	}
	// The children start (and load their models) while the images load.
	// On an early return the children are killed first (scancel runs
	// before the closes), so nothing waits for a start that no one needs.
	sctx, scancel := context.WithCancel(ctx)
	ms := startSession(sctx, spec, checked)
	defer ms.close()
	var bs *started
	if len(opt.Baseline) > 0 {
		bspec := spec
		bspec.Hidden = true
		bs = startSession(sctx, bspec, func() ([]byte, error) { return opt.Baseline, nil })
		defer bs.close()
	}
	defer scancel()
	// The model is checked (EvalFiles) while the children start and the
	// images decode: the check is one core's work, and decoding leaves a
	// core idle before it ends (each large image decodes on one core).
	// A failed check still wins over a failed load.
	checkErr := make(chan error, 1)
	go func() {
		_, err := checked()
		checkErr <- err
	}()
	tDecode := time.Now()
	pairs, err := load()
	tCheck := time.Now()
	if cerr := <-checkErr; cerr != nil {
		return nil, cerr
	}
	ph.CheckModelMS = since(tCheck)
	ph.DecodeMS = msOf(tCheck.Sub(tDecode))
	if err != nil {
		return nil, err
	}
	hrs, err := checkPairs(pairs, opt.Scale)
	if err != nil {
		return nil, err
	}
	tWait := time.Now()
	// The buffers every image reuses, sized for the largest and faulted in
	// now, while the child is still starting, instead of inside the
	// requests of the first image and of every larger one.
	bufs := newBuffers(pairs, hrs, bs != nil)
	s, err := ms.wait()
	if err != nil {
		return nil, err
	}
	if err := s.Reserve(bufs.maxOut); err != nil {
		return nil, err
	}
	var bsess *sandbox.Session
	if bs != nil {
		if bsess, err = bs.wait(); err == nil {
			err = bsess.Reserve(bufs.maxOut)
		}
		if err != nil {
			// The baseline is the organizers' model: its failure is never
			// the participant's.
			return nil, fmt.Errorf("runner: baseline model: %s", err.Error())
		}
	}
	ph.WaitMS = since(tWait)
	ph.StartupMS, ph.SandboxMS = msOf(s.LoadTime), msOf(s.Startup)

	device := opt.Device
	if device == DeviceCPU {
		device = fmt.Sprintf("cpu (%d threads)", opt.Threads)
	}
	rep := &Report{Warmup: opt.Warmup, Repeats: opt.Repeats, Threads: opt.Threads, ORTVersion: s.ORTVersion(),
		StartupMS: msOf(s.LoadTime), SessionMS: float64(s.Ready.SessionNS) / 1e6, Device: device, DataRange: opt.DataRange,
		Sandbox: s.Protections(), Protocol: opt.Protocol}
	if bs != nil {
		rep.RatioClock = opt.RatioClock
	}
	rep.Environment = environment(opt, rep.ORTVersion)
	rep.Environment.Nice, rep.Environment.Realtime = s.Nice, s.Realtime
	rep.ArenaPeakMB = -1
	opt.Logf(fmt.Sprintf("sandbox ready in %.0f ms (session %.0f ms), ORT %s, %s: %s", rep.StartupMS, rep.SessionMS, rep.ORTVersion, rep.Device, strings.Join(rep.Sandbox, "; ")))

	e := &evaluation{opt: opt, s: s, b: bsess, phases: ph, in: bufs.in, out: bufs.out, bout: bufs.bout}
	var ratios, ratioSEs, ratioWeights []float64
	for i, p := range pairs {
		e.lastImage = i == len(pairs)-1 // score.go
		ir, err := e.image(p, hrs[i])
		if err != nil {
			return nil, err
		}
		rep.Images = append(rep.Images, *ir)
		rep.ArenaPeakMB = math.Max(rep.ArenaPeakMB, ir.ArenaPeakMB)
		if bsess != nil {
			ratios = append(ratios, ir.RuntimeRatio)
			ratioSEs = append(ratioSEs, ir.ratioLogSE)
			ratioWeights = append(ratioWeights, ir.BaselineMS)
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(pairs), *ir)
		}
	}
	rep.setAggregates()
	tClose := time.Now()
	if bsess != nil {
		rep.RuntimeRatio, rep.RuntimeRatioCV, rep.RuntimeRatioStd = ratioEstimate(ratios, ratioSEs, ratioWeights)
		bsess.Close()
	}
	rep.MaxRSSMB = float64(s.Close()) / (1 << 20)
	if opt.Device == DeviceCUDA && rep.ArenaPeakMB > 0 {
		// On the GPU the memory that counts is the GPU's (the challenges
		// report torch.cuda.max_memory_allocated): the CUDA arena's peak.
		// The child's host RSS stays in MaxRSSMB.
		rep.GPUPeakMemoryMB = rep.ArenaPeakMB
		rep.PeakMemoryMB = rep.ArenaPeakMB
	}
	e.phases.CloseMS = since(tClose)
	rep.InferenceMS = e.inference
	rep.EvalWallMS = msOf(time.Since(t0))
	e.phases.finish(rep.EvalWallMS, rep.InferenceMS)
	rep.Phases = e.phases
	if e.inference > 0 {
		rep.Overhead = (rep.EvalWallMS - rep.InferenceMS) / rep.InferenceMS
	}
	return rep, nil
}

// checkPairs validates the dataset and returns the mod-cropped HR images.
func checkPairs(pairs []Pair, scale int) ([]*scoring.Image, error) {
	if len(pairs) == 0 {
		return nil, errors.New("runner: no images to evaluate")
	}
	hrs := make([]*scoring.Image, len(pairs))
	for i, p := range pairs {
		if p.LR == nil || p.HR == nil || p.LR.W <= 0 || p.LR.H <= 0 || len(p.LR.Pix) != 3*p.LR.W*p.LR.H {
			return nil, fmt.Errorf("runner: image %q: missing or malformed LR/HR", p.Name)
		}
		if p.LR.W > sandbox.MaxSide || p.LR.H > sandbox.MaxSide {
			return nil, fmt.Errorf("runner: image %q: LR %dx%d exceeds %d", p.Name, p.LR.W, p.LR.H, sandbox.MaxSide)
		}
		// The official mod-crop (KAIR util.modcrop) trims fewer than scale
		// pixels; anything else is a broken dataset, never cropped away
		// silently (it would score the wrong pixels).
		hr := scoring.ModCrop(p.HR, scale)
		if hr.W != scale*p.LR.W || hr.H != scale*p.LR.H {
			return nil, fmt.Errorf("runner: dataset image %s: HR %d×%d does not match LR %d×%d ×%d",
				p.Name, p.HR.W, p.HR.H, p.LR.W, p.LR.H, scale)
		}
		hrs[i] = hr
	}
	return hrs, nil
}

// spec is the sandbox's part of the options.
func (o Options) spec() (sandbox.Spec, error) {
	cfg, err := sandbox.NewConfig(o.Device, o.ORTLib, o.Threads, o.Warmup+o.Repeats, o.AddressSpace, o.NoLandlock, o.NoSeccomp)
	if err != nil {
		return sandbox.Spec{}, err
	}
	cfg.Scale = o.Scale
	cfg.DataRange = o.DataRange
	cfg.NoSpin = o.Spin == SpinOff
	cfg.GPU = o.GPU
	return sandbox.Spec{Command: o.ChildCommand, ORTLib: o.ORTLib, Config: cfg, MemoryLimit: o.MemoryLimit,
		LoadTimeout: o.LoadTimeout, ImageTimeout: o.ImageTimeout, TotalTimeout: o.TotalTimeout, Hidden: o.Hidden,
		InsecureSandbox: o.InsecureSandbox, Nice: o.Nice, Realtime: o.Realtime, Logf: o.Logf, Warnf: o.Warnf}, nil
}

// evaluation holds what is reused from image to image.
type evaluation struct {
	opt       Options
	s, b      *sandbox.Session // the model's, the baseline's (nil: none)
	in        []float32        // the input tensor's buffer (CHW)
	out, bout []uint8          // 8-bit output buffers (quantised by the child), grown as needed
	inference float64          // Σ timed runs, ms
	phases    Phases           // where the time outside inference went (phases.go)
	lastImage bool             // the image being evaluated is the last one
}

// buffers are an evaluation's reusable buffers, for its largest image.
type buffers struct {
	in        []float32
	out, bout []uint8
	maxOut    int
}

func newBuffers(pairs []Pair, hrs []*scoring.Image, baseline bool) buffers {
	var maxIn, maxOut int
	for i, p := range pairs {
		maxIn = max(maxIn, len(p.LR.Pix))
		maxOut = max(maxOut, len(hrs[i].Pix))
	}
	b := buffers{in: faultIn(make([]float32, maxIn)), out: faultIn(make([]uint8, maxOut)), maxOut: maxOut}
	if baseline {
		b.bout = faultIn(make([]uint8, maxOut))
	}
	return b
}

// faultIn touches every page of a new buffer, so that the kernel maps them
// now rather than in the middle of a request.
func faultIn[T float32 | uint8](buf []T) []T {
	var zero T
	step := max(os.Getpagesize()/int(unsafe.Sizeof(zero)), 1)
	for i := 0; i < len(buf); i += step {
		buf[i] = zero
	}
	return buf
}

func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// stat is the protocol's per-image runtime: the median of the repeats
// (robust) or the mean of the passes (official).
func (e *evaluation) stat(runs []float64) float64 {
	if e.opt.Protocol == ProtocolOfficial {
		return scoring.Mean(runs)
	}
	return median(runs)
}

func (e *evaluation) image(p Pair, hr *scoring.Image) (*ImageResult, error) {
	opt := e.opt
	h, wd := p.LR.H, p.LR.W
	sh, sw := opt.Scale*h, opt.Scale*wd
	tIn := time.Now()
	e.in = scoring.ToCHWRangeInto(e.in, p.LR, opt.DataRange)
	in := e.in
	e.phases.InputMS += since(tIn)
	e.out = grow(e.out, 3*sh*sw)
	ir := &ImageResult{Name: p.Name, OutputW: sw, OutputH: sh, PeakMB: -1}
	im := imageInput{name: p.Name, in: in, h: h, w: wd, sh: sh, sw: sw}
	var t *timedRuns
	var err error
	if e.b == nil {
		t, err = e.timeAlone(im)
	} else {
		t, err = e.timePaired(im)
	}
	if err != nil {
		return nil, err
	}
	ir.RunsMS, ir.WarmupMS, ir.WallMS = t.model, t.warmup, t.wallMS
	e.inference += t.inferenceMS
	hwm, last := t.hwm, t.last
	baseRuns := t.base
	ir.ArenaPeakMB = -1
	if t.arenaPeak > 0 {
		ir.ArenaPeakMB = float64(t.arenaPeak) / (1 << 20)
	}
	if err := e.score(ir, p, hr, last); err != nil {
		return nil, err
	}
	if opt.Output != nil {
		// The child's 8-bit output, scored above; e.out is reused for the
		// next image (Output must not keep it).
		opt.Output(p.Name, &scoring.Image{W: sw, H: sh, Pix: e.out})
	}
	ir.RuntimeMS = e.stat(ir.RunsMS)
	if len(baseRuns) > 0 {
		ir.BaselineMS = e.stat(baseRuns)
		ir.BaselineRunsMS = baseRuns
		ir.CPURunsMS, ir.BaselineCPURunsMS = t.modelCPU, t.baseCPU
		if opt.RatioClock == RatioClockCPU {
			ir.RuntimeRatio, ir.ratioLogSE = imageRatio(t.modelCPU, t.baseCPU)
		} else {
			ir.RuntimeRatio, ir.ratioLogSE = imageRatio(ir.RunsMS, baseRuns)
		}
	}
	if hwm > 0 {
		ir.PeakMB = float64(hwm) / (1 << 20)
	}
	return ir, nil
}

func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// setAggregates computes the set's figures from rep.Images: the means over
// images (PSNR as scoring.Mean), each image's run spread pooled, the
// largest peak memory, and the baseline's mean runtime (0 without one).
func (rep *Report) setAggregates() {
	rep.PSNRY, rep.SSIM, rep.RuntimeMS, rep.RuntimeMinMS, rep.RuntimeMaxMS = 0, 0, 0, 0, 0
	rep.PeakMemoryMB, rep.BaselineRuntimeMS = 0, 0
	psnrs := make([]float64, len(rep.Images))
	var sumVar float64
	for i, ir := range rep.Images {
		psnrs[i] = ir.PSNR
		rep.PSNRY += ir.PSNRY
		rep.SSIM += ir.SSIM
		rep.RuntimeMS += ir.RuntimeMS
		rep.RuntimeMinMS += minOf(ir.RunsMS)
		rep.RuntimeMaxMS += maxOf(ir.RunsMS)
		sumVar += variance(ir.RunsMS)
		rep.PeakMemoryMB = math.Max(rep.PeakMemoryMB, ir.PeakMB)
		rep.BaselineRuntimeMS += ir.BaselineMS
	}
	n := float64(len(rep.Images))
	rep.PSNR = scoring.Mean(psnrs)
	rep.PSNRY /= n
	rep.SSIM /= n
	rep.RuntimeMS /= n
	rep.RuntimeMinMS /= n
	rep.RuntimeMaxMS /= n
	rep.RuntimeStdMS = math.Sqrt(sumVar / n)
	rep.BaselineRuntimeMS /= n
}

// Subset is rep restricted to images (one dataset of several), its set
// figures and runtime ratio computed as Evaluate computes them for all of
// its images; the rest (environment, protections, timings) is rep's.
func (rep *Report) Subset(images []ImageResult) *Report {
	sub := *rep
	sub.Images = images
	sub.setAggregates()
	sub.RuntimeRatio, sub.RuntimeRatioCV, sub.RuntimeRatioStd = 0, 0, 0
	for _, ir := range images {
		if ir.RuntimeRatio > 0 {
			sub.RuntimeRatio, sub.RuntimeRatioCV, sub.RuntimeRatioStd = CombineRatios(images)
			break
		}
	}
	return &sub
}

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
