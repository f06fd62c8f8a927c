package evaluate

import (
	"fmt"
	"math"
	"time"

	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

// score checks and scores the model's output of one image, which the child
// has already checked for NaN/±Inf and quantised (sandbox.Infer): e.out is
// the 8-bit SR image. It runs only between timed runs, never during one,
// and then uses every core (the scoring functions split the image in row
// bands): it would otherwise take the CPU the inference is timed on.
func (e *evaluation) score(ir *ImageResult, p Pair, hr *scoring.Image, r *sandbox.Runs) error {
	t0 := time.Now()
	defer func() { e.phases.ScoreMS += msOf(time.Since(t0)) }()
	opt := e.opt
	sh, sw := ir.OutputH, ir.OutputW
	if r == nil {
		return fmt.Errorf("runner: image %s: no output", p.Name)
	}
	if e.lastImage {
		// No run follows. Where Close waits for the children's exit (on
		// cuda: the GPU memory the next job needs), they exit while this
		// output is scored; elsewhere Close leaves the exit to the
		// background and an exit now would only slow the scoring.
		for _, s := range []*sandbox.Session{e.s, e.b} {
			if s != nil && s.WaitsOnClose() {
				s.End()
			}
		}
	}
	if r.Bad >= 0 {
		kind := "NaN"
		if r.BadInf {
			kind = "Inf"
		}
		plane := sh * sw
		e.s.Fail()
		if opt.Hidden {
			return outcome.Errorf(outcome.BadOutput, "output contains %s at image %s", kind, p.Name)
		}
		return outcome.Errorf(outcome.BadOutput, "output contains %s at image %s (channel %d, y %d, x %d)",
			kind, p.Name, r.Bad/plane, (r.Bad%plane)/sw, r.Bad%sw)
	}
	sr := &scoring.Image{W: sw, H: sh, Pix: e.out}
	var err error
	if ir.PSNR, err = scoring.PSNR(sr, hr, opt.Scale); err != nil {
		return fmt.Errorf("runner: PSNR %s: %w", p.Name, err)
	}
	if ir.PSNRY, err = scoring.PSNRY(sr, hr, opt.Scale); err != nil {
		return fmt.Errorf("runner: PSNR-Y %s: %w", p.Name, err)
	}
	if ir.SSIM, err = scoring.SSIM(sr, hr, opt.Scale); err != nil {
		// Tiny images (fewer than 11×11 pixels inside the border) have no
		// SSIM; PSNR still stands.
		ir.SSIM = math.NaN()
	}
	return nil
}
