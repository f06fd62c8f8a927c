package evaluate

import (
	"context"
	"math"
	"testing"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/scoring"
)

// TestBaselineRatio: with a baseline, every image carries the baseline's
// runtime and the ratio, the runs alternate one by one, the scores are the
// model's alone, and the overhead figures add up.
func TestBaselineRatio(t *testing.T) {
	opt := testOpts(t)
	opt.Repeats = 4
	model, _ := onnxbuild.Nearest(4)
	base, _ := onnxbuild.Scaled(4, 0.5) // another model: its scores must not leak in
	opt.Baseline = base
	pairs := []Pair{{Name: "a", LR: randImage(24, 20, 1), HR: randImage(96, 80, 2)},
		{Name: "b", LR: randImage(16, 12, 3), HR: randImage(64, 48, 4)}}
	rep, err := Evaluate(context.Background(), model, pairs, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i, im := range rep.Images {
		want, _ := scoring.PSNR(nearestUp(pairs[i].LR, 4), pairs[i].HR, 4)
		if im.PSNR != want {
			t.Errorf("%s: PSNR %v, want the model's %v", im.Name, im.PSNR, want)
		}
		if len(im.RunsMS) != 4 || len(im.WarmupMS) != 1 || !(im.BaselineMS > 0) || !(im.RuntimeRatio > 0) {
			t.Errorf("%s: runs %v warm-up %v baseline %v ratio %v", im.Name, im.RunsMS, im.WarmupMS, im.BaselineMS, im.RuntimeRatio)
		}
	}
	if !(rep.RuntimeRatio > 0) || !(rep.BaselineRuntimeMS > 0) || math.IsNaN(rep.RuntimeRatioStd) {
		t.Errorf("ratio %v ± %v, baseline %v ms", rep.RuntimeRatio, rep.RuntimeRatioStd, rep.BaselineRuntimeMS)
	}
	if !(rep.InferenceMS > 0) || rep.EvalWallMS < rep.InferenceMS || math.Abs(rep.Overhead-(rep.EvalWallMS-rep.InferenceMS)/rep.InferenceMS) > 1e-9 {
		t.Errorf("wall %v inference %v overhead %v", rep.EvalWallMS, rep.InferenceMS, rep.Overhead)
	}
	// ORT's CPU arena peak comes back through the sandbox: at least the
	// larger image's 96×80 output (ORT allocates it when the preallocated
	// tensor is not used, and its intermediates in any case).
	if !(rep.ArenaPeakMB > 0) {
		t.Errorf("arena peak %v MiB", rep.ArenaPeakMB)
	}
	if len(rep.Images[0].BaselineRunsMS) != 4 || len(rep.Images[0].CPURunsMS) != 4 || len(rep.Images[0].BaselineCPURunsMS) != 4 {
		t.Errorf("paired runs: %+v", rep.Images[0])
	}
	if rep.RatioClock != RatioClockCPU || math.IsNaN(rep.RuntimeRatioCV) { // the default on the CPU
		t.Errorf("clock %q, cv %v", rep.RatioClock, rep.RuntimeRatioCV)
	}
	if rep.Environment.CPU == "" || rep.Environment.ORTVersion == "" || rep.Environment.EP != "CPUExecutionProvider" || rep.Environment.Threads != 1 {
		t.Errorf("environment %+v", rep.Environment)
	}
	t.Logf("ratio %.3f ± %.3f, baseline %.3f ms, overhead %.1f%%", rep.RuntimeRatio, rep.RuntimeRatioStd, rep.BaselineRuntimeMS, 100*rep.Overhead)
}

// TestOfficialProtocol: one pass per image, no warm-up, the mean.
func TestOfficialProtocol(t *testing.T) {
	opt := testOpts(t)
	opt.Protocol = ProtocolOfficial
	opt.Repeats, opt.Warmup = 5, 2 // overridden by the protocol
	model, _ := onnxbuild.Nearest(4)
	rep, err := Evaluate(context.Background(), model, []Pair{{Name: "a", LR: randImage(8, 8, 1), HR: randImage(32, 32, 2)}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	im := rep.Images[0]
	if rep.Protocol != ProtocolOfficial || rep.Warmup != 0 || rep.Repeats != 1 || len(im.RunsMS) != 1 || len(im.WarmupMS) != 0 || im.RuntimeMS != im.RunsMS[0] {
		t.Errorf("protocol %s warm-up %d repeats %d runs %v warm-up runs %v runtime %v", rep.Protocol, rep.Warmup, rep.Repeats, im.RunsMS, im.WarmupMS, im.RuntimeMS)
	}
	// Several images: the set's runtime is the plain mean of the single
	// passes (NTIRE's sum(runtime)/len(runtime)), with a baseline too (one
	// pair per image: a ratio, but no spread to estimate).
	opt.Baseline, _ = onnxbuild.Scaled(4, 0.5)
	pairs := []Pair{{Name: "a", LR: randImage(8, 8, 1), HR: randImage(32, 32, 2)}, {Name: "b", LR: randImage(16, 12, 3), HR: randImage(64, 48, 4)},
		{Name: "c", LR: randImage(12, 12, 5), HR: randImage(48, 48, 6)}}
	rep, err = Evaluate(context.Background(), model, pairs, opt)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, im := range rep.Images {
		if len(im.RunsMS) != 1 || len(im.WarmupMS) != 0 || im.RuntimeMS != im.RunsMS[0] || len(im.BaselineRunsMS) != 1 || im.BaselineMS != im.BaselineRunsMS[0] {
			t.Errorf("%s: runs %v warm-up %v runtime %v baseline %v", im.Name, im.RunsMS, im.WarmupMS, im.RuntimeMS, im.BaselineRunsMS)
		}
		// The ratio compares the pair's CPU times (the default clock on
		// the CPU); the runtimes stay wall times.
		if want := im.CPURunsMS[0] / im.BaselineCPURunsMS[0]; math.Abs(im.RuntimeRatio-want) > 1e-12*want {
			t.Errorf("%s: ratio %v, want the single pair's %v", im.Name, im.RuntimeRatio, want)
		}
		sum += im.RunsMS[0]
	}
	if want := sum / 3; math.Abs(rep.RuntimeMS-want) > 1e-12*want {
		t.Errorf("runtime %v, want the mean of the passes %v", rep.RuntimeMS, want)
	}
	if !math.IsNaN(rep.RuntimeRatioCV) {
		t.Errorf("one pair per image: cv %v, want NaN (unknown)", rep.RuntimeRatioCV)
	}
	if _, err := Evaluate(context.Background(), model, nil, Options{Protocol: "fastest"}); err == nil {
		t.Error("an unknown protocol was accepted")
	}
}
