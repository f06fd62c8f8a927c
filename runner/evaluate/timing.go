package evaluate

import (
	"fmt"
	"time"

	"github.com/srarena/srarena/runner/sandbox"
)

// The timing loop: how an image's runs are made and recorded. Scoring the
// output is evaluate.go's business and happens only after these return,
// never while a timed run uses the CPU.

// imageInput is one image as the children get it.
type imageInput struct {
	name         string
	in           []float32 // 1×3×h×w, CHW
	h, w, sh, sw int
}

// timedRuns are one image's timings, in ms.
type timedRuns struct {
	model, warmup []float64 // the model's timed runs and warm-up runs, in order
	base          []float64 // the baseline's timed runs; base[k] ran next to model[k]
	// The process CPU time of the same timed runs (sandbox.Runs.CPU).
	modelCPU, baseCPU []float64
	// last is the model's last response: its output is the one scored.
	last        *sandbox.Runs
	wallMS      float64 // parent-measured, the model's requests only
	hwm         int64   // the model child's peak RSS over the image, -1 unknown
	arenaPeak   int64   // the model session's ORT arena peak so far (GPU on cuda), -1 unknown
	inferenceMS float64 // Σ of every run timed, warm-ups and the baseline's included
}

func (t *timedRuns) record(r *sandbox.Runs, first, warmup int) {
	t.last = r
	t.wallMS += msOf(r.Wall)
	t.hwm = max(t.hwm, r.HWM)
	t.arenaPeak = max(t.arenaPeak, r.ArenaPeak)
	for i, d := range r.Times {
		t.inferenceMS += msOf(d)
		if first+i < warmup {
			t.warmup = append(t.warmup, msOf(d))
		} else {
			t.model = append(t.model, msOf(d))
			if i < len(r.CPU) {
				t.modelCPU = append(t.modelCPU, msOf(r.CPU[i]))
			}
		}
	}
}

// timeAlone runs the model Warmup+Repeats times on the image in one
// request (the child times each run).
func (e *evaluation) timeAlone(im imageInput) (*timedRuns, error) {
	t := &timedRuns{hwm: -1, arenaPeak: -1}
	r, err := e.s.Infer(im.name, im.in, im.h, im.w, im.sh, im.sw, e.out)
	if err != nil {
		return nil, err
	}
	e.phases.addRuns(r)
	t.record(r, 0, e.opt.Warmup)
	return t, nil
}

// timePaired runs the model and the baseline alternately, one run per
// request, in ABBA order: pair k runs the model first when k is even and
// the baseline first when k is odd (S B B S S B …), so that a load that
// changes steadily over a block of two pairs weighs on both models alike
// (ratio.go). Warm-up pairs come first and are not used for the ratio.
func (e *evaluation) timePaired(im imageInput) (*timedRuns, error) {
	opt := e.opt
	t := &timedRuns{hwm: -1, arenaPeak: -1}
	e.bout = grow(e.bout, len(e.out))
	for k := 0; k < opt.Warmup+opt.Repeats; k++ {
		var b, bcpu time.Duration
		for _, modelTurn := range abbaOrder(k) {
			if modelTurn {
				r, err := e.s.Infer(im.name, im.in, im.h, im.w, im.sh, im.sw, e.out)
				if err != nil {
					return nil, err
				}
				e.phases.addRuns(r)
				t.record(r, k, opt.Warmup)
				continue
			}
			r, err := e.b.Infer(im.name, im.in, im.h, im.w, im.sh, im.sw, e.bout)
			if err != nil {
				// The baseline is the organizers' model: its failure is
				// never the participant's.
				return nil, fmt.Errorf("runner: baseline model on image %s: %s", im.name, err.Error())
			}
			b = r.Times[0]
			if len(r.CPU) > 0 {
				bcpu = r.CPU[0]
			}
			t.inferenceMS += msOf(b)
		}
		if k >= opt.Warmup {
			t.base = append(t.base, msOf(b))
			t.baseCPU = append(t.baseCPU, msOf(bcpu))
		}
	}
	return t, nil
}

// abbaOrder says, for pair k, whether the model (true) or the baseline
// (false) runs first and second.
func abbaOrder(k int) [2]bool {
	if k%2 == 0 {
		return [2]bool{true, false}
	}
	return [2]bool{false, true}
}
