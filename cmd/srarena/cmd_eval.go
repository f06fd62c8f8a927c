package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/runner/outcome"
)

func init() {
	register(command{
		name:    "eval",
		summary: "evaluate an ONNX model on LR/HR image folders (sandboxed, as the worker does)",
		run:     runEval,
	})
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", "eval MODEL.onnx --lr DIR --hr DIR [--json] [--repeats N] [--threads N] [--data-range 1|255] [--device cpu|cuda] [--baseline BASELINE.onnx] [--protocol robust|official]", stdout)
	lr := fs.String("lr", "", "directory of LR PNGs (e.g. 0801x4.png)")
	hr := fs.String("hr", "", "directory of HR PNGs (e.g. 0801.png)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	scale := fs.Int("scale", 4, "upscaling factor")
	repeats := fs.Int("repeats", 3, "timed runs per image (the runtime is their median)")
	warmup := fs.Int("warmup", 1, "untimed warm-up runs per image")
	threads := fs.Int("threads", 0, "ONNX Runtime intra-op threads (0 = number of CPUs)")
	verbose := fs.Bool("v", false, "print sandbox and child diagnostics to stderr")
	dataRange := fs.Float64("data-range", 1, "the model's pixel range: 1 (inputs /255, outputs ×255) or 255")
	device := fs.String("device", evaluate.DeviceCPU, "execution provider: cpu or cuda (GPU 0)")
	baseline := fs.String("baseline", "", "a baseline model timed next to MODEL in the same sandbox, image by image; adds runtime_ratio")
	ratioClock := fs.String("ratio-clock", "", "what --baseline's runtime ratio compares: cpu (process CPU time, which a busy machine stretches far less; the default on the CPU) or wall (run time; the default on cuda)")
	spin := fs.String("spin", evaluate.SpinAuto, "whether ONNX Runtime's threads spin while they wait for work inside a run: auto (on), on or off; they stop when a run returns either way")
	nice := fs.Int("nice", evaluate.DefaultNice, "niceness of the model's threads while timed, -20..19, ahead of the machine's other work when negative (needs root or CAP_SYS_NICE; otherwise, or with 0, srarena's own)")
	realtime := fs.Bool("realtime", false, "run the model's ONNX Runtime threads under real-time scheduling (SCHED_FIFO, lowest priority) while timed, so that no other process preempts a run; the machine's other work (a desktop too) gets 5 % of a CPU meanwhile (needs root or CAP_SYS_NICE and the kernel's real-time throttling; otherwise --nice holds)")
	protocol := fs.String("protocol", evaluate.ProtocolRobust, "timing protocol: robust (warm-up, median of repeats) or official (one pass per image, no warm-up, mean)")
	insecure := fs.Bool("insecure-sandbox", false, "evaluate even if the sandbox lacks a uid of its own, Landlock or seccomp (unsafe for untrusted models)")
	// Flags may come after the model path.
	var model string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		if model != "" {
			return fmt.Errorf("%w: one model at a time", errUsage)
		}
		model, rest = fs.Arg(0), fs.Args()[1:]
	}
	if model == "" || *lr == "" || *hr == "" {
		return fmt.Errorf("%w: MODEL.onnx, --lr and --hr are required", errUsage)
	}
	if *warmup == 0 {
		*warmup = -1 // Options: negative means none
	}
	if *dataRange != 1 && *dataRange != 255 {
		return fmt.Errorf("%w: --data-range must be 1 or 255", errUsage)
	}
	if *nice < -20 || *nice > 19 {
		return fmt.Errorf("%w: --nice must be between -20 and 19", errUsage)
	}
	if *protocol != evaluate.ProtocolRobust && *protocol != evaluate.ProtocolOfficial {
		return fmt.Errorf("%w: --protocol must be robust or official", errUsage)
	}
	opt := evaluate.Options{Scale: *scale, Repeats: *repeats, Warmup: *warmup, Threads: *threads,
		DataRange: float32(*dataRange), Device: *device, InsecureSandbox: *insecure, Protocol: *protocol,
		RatioClock: *ratioClock, Spin: *spin, Nice: *nice, Realtime: *realtime}
	if *baseline != "" {
		b, err := evaluate.ReadModel(*baseline, *scale)
		if err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		opt.Baseline = b
	}
	if *verbose {
		opt.Logf = func(s string) { fmt.Fprintln(stderr, s) }
	}
	// Warnings (a weaker sandbox, the insecure opt-in) always show.
	opt.Warnf = func(s string) { fmt.Fprintln(stderr, "warning: "+s) }
	rep, err := evaluate.EvalFiles(ctx, model, *lr, *hr, opt)
	var me *outcome.Error
	if errors.As(err, &me) {
		return fmt.Errorf("model rejected (%s): %s", me.Kind, me.Msg)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		b, err := rep.JSON()
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	fmt.Fprintf(stdout, "%-16s %10s %8s %10s %12s\n", "image", "PSNR", "SSIM", "PSNR-Y", "runtime ms")
	for _, im := range rep.Images {
		fmt.Fprintf(stdout, "%-16s %10.4f %8.4f %10.4f %12.2f\n", im.Name, im.PSNR, im.SSIM, im.PSNRY, im.RuntimeMS)
	}
	fmt.Fprintf(stdout, "%-16s %10.4f %8.4f %10.4f %12.2f\n", "mean", rep.PSNR, rep.SSIM, rep.PSNRY, rep.RuntimeMS)
	fmt.Fprintf(stdout, "\nruntime: %.2f ms mean of per-image medians (std %.2f, min %.2f, max %.2f; %d warm-up + %d timed runs, %d threads)\n",
		rep.RuntimeMS, rep.RuntimeStdMS, rep.RuntimeMinMS, rep.RuntimeMaxMS, rep.Warmup, rep.Repeats, rep.Threads)
	if rep.RuntimeRatio > 0 {
		fmt.Fprintf(stdout, "runtime ratio to the baseline: %.4f ± %.2f%% (%s clock; std over images %.4f; baseline %.2f ms)\n",
			rep.RuntimeRatio, 100*rep.RuntimeRatioCV, rep.RatioClock, rep.RuntimeRatioStd, rep.BaselineRuntimeMS)
	}
	fmt.Fprintf(stdout, "overhead: %.1f%% (wall %.0f ms, timed inference %.0f ms; %s protocol)\n",
		100*rep.Overhead, rep.EvalWallMS, rep.InferenceMS, rep.Protocol)
	fmt.Fprintf(stdout, "peak memory: %.0f MiB (child RSS high-water mark); startup %.0f ms; ONNX Runtime %s on %s, data range %g\n",
		rep.PeakMemoryMB, rep.StartupMS, rep.ORTVersion, rep.Device, rep.DataRange)
	return nil
}
