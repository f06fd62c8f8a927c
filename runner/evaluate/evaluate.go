package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

// Evaluate runs model on every pair in a sandboxed child and scores it.
// An *outcome.Error is final (the model's fault, or a platform failure no
// retry can fix); any other error is an infrastructure problem worth
// retrying.
func Evaluate(ctx context.Context, model []byte, pairs []Pair, opt Options) (*Report, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(model) == 0 || len(model) > sandbox.MaxModelBytes {
		return nil, outcome.Errorf(outcome.LoadError, "model is %d bytes; it must be between 1 byte and %s", len(model), fmtBytes(sandbox.MaxModelBytes))
	}
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
		hr := scoring.ModCrop(p.HR, opt.Scale)
		if hr.W != opt.Scale*p.LR.W || hr.H != opt.Scale*p.LR.H {
			return nil, fmt.Errorf("runner: dataset image %s: HR %d×%d does not match LR %d×%d ×%d",
				p.Name, p.HR.W, p.HR.H, p.LR.W, p.LR.H, opt.Scale)
		}
		hrs[i] = hr
	}

	ctx, cancel := context.WithTimeout(ctx, opt.TotalTimeout)
	defer cancel()
	spec, err := opt.spec()
	if err != nil {
		return nil, err
	}
	s, err := sandbox.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Load(model); err != nil {
		return nil, err
	}
	device := opt.Device
	if device == DeviceCPU {
		device = fmt.Sprintf("cpu (%d threads)", opt.Threads)
	}
	rep := &Report{Warmup: opt.Warmup, Repeats: opt.Repeats, Threads: opt.Threads, ORTVersion: s.ORTVersion(),
		StartupMS: ms(s.LoadTime), SessionMS: float64(s.Ready.SessionNS) / 1e6, Device: device, DataRange: opt.DataRange,
		Sandbox: s.Protections()}
	opt.Logf(fmt.Sprintf("sandbox ready in %.0f ms (session %.0f ms), ORT %s, %s: %s", rep.StartupMS, rep.SessionMS, rep.ORTVersion, rep.Device, strings.Join(rep.Sandbox, "; ")))

	var sumVar float64
	psnrs := make([]float64, len(pairs))
	for i, p := range pairs {
		ir, err := image(s, opt, p, hrs[i])
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
	rep.MaxRSSMB = float64(s.Close()) / (1 << 20)
	return rep, nil
}

// spec is the sandbox's part of the options.
func (o Options) spec() (sandbox.Spec, error) {
	cfg, err := sandbox.NewConfig(o.Device, o.ORTLib, o.Threads, o.Warmup+o.Repeats, o.AddressSpace, o.NoLandlock, o.NoSeccomp)
	if err != nil {
		return sandbox.Spec{}, err
	}
	return sandbox.Spec{Command: o.ChildCommand, ORTLib: o.ORTLib, Config: cfg, MemoryLimit: o.MemoryLimit,
		LoadTimeout: o.LoadTimeout, ImageTimeout: o.ImageTimeout, TotalTimeout: o.TotalTimeout, Hidden: o.Hidden,
		InsecureSandbox: o.InsecureSandbox, Logf: o.Logf, Warnf: o.Warnf}, nil
}

func image(s *sandbox.Session, opt Options, p Pair, hr *scoring.Image) (*ImageResult, error) {
	h, wd := p.LR.H, p.LR.W
	sh, sw := opt.Scale*h, opt.Scale*wd
	in := scoring.ToCHWRange(p.LR, opt.DataRange)
	out := make([]float32, 3*sh*sw)
	r, err := s.Infer(p.Name, in, h, wd, sh, sw, out)
	if err != nil {
		return nil, err
	}
	ir := &ImageResult{Name: p.Name, OutputW: sw, OutputH: sh, WallMS: ms(r.Wall), PeakMB: -1}
	for i, d := range r.Times {
		if i < opt.Warmup {
			ir.WarmupMS = append(ir.WarmupMS, ms(d))
		} else {
			ir.RunsMS = append(ir.RunsMS, ms(d))
		}
	}
	for i, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			kind := "NaN"
			if math.IsInf(float64(v), 0) {
				kind = "Inf"
			}
			plane := sh * sw
			s.Fail()
			if opt.Hidden {
				return nil, outcome.Errorf(outcome.BadOutput, "output contains %s at image %s", kind, p.Name)
			}
			return nil, outcome.Errorf(outcome.BadOutput, "output contains %s at image %s (channel %d, y %d, x %d)",
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
	if r.HWM > 0 {
		ir.PeakMB = float64(r.HWM) / (1 << 20)
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
