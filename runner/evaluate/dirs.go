package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

// LoadPairs reads the PNGs of lrDir and hrDir and pairs them by name
// (scoring.PairByName: "0801x4.png" ↔ "0801.png"). The pair name is the HR
// file's stem.
func LoadPairs(lrDir, hrDir string) ([]Pair, error) {
	lrNames, err := pngNames(lrDir)
	if err != nil {
		return nil, err
	}
	hrNames, err := pngNames(hrDir)
	if err != nil {
		return nil, err
	}
	matched, err := scoring.PairByName(lrNames, hrNames)
	if err != nil {
		return nil, err
	}
	// Decoded on every core: this runs while the sandboxed child starts,
	// and the child's start-up leaves cores idle.
	pairs := make([]Pair, len(matched))
	errs := make([]error, 2*len(matched))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(errs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				i, m := j/2, matched[j/2]
				if j%2 == 0 {
					pairs[i].LR, errs[j] = scoring.ReadPNG(filepath.Join(lrDir, m[0]))
				} else {
					pairs[i].HR, errs[j] = scoring.ReadPNG(filepath.Join(hrDir, m[1]))
				}
			}
		}()
	}
	// HR images first: they are the larger ones.
	for j := range errs {
		jobs <- (j%len(matched))*2 + 1 - j/len(matched)
	}
	close(jobs)
	wg.Wait()
	for i, m := range matched {
		if err := errors.Join(errs[2*i], errs[2*i+1]); err != nil {
			return nil, err
		}
		pairs[i].Name = strings.TrimSuffix(m[1], filepath.Ext(m[1]))
	}
	return pairs, nil
}

func pngNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no PNG files", dir)
	}
	sort.Strings(names)
	return names, nil
}

// EvalFiles is `srarena eval`: the model file against LR/HR directories,
// through the same sandboxed path as the worker.
// The images are read and decoded while the sandboxed child starts.
func EvalFiles(ctx context.Context, modelPath, lrDir, hrDir string, opt Options) (*Report, error) {
	t0 := time.Now()
	scale := opt.Scale
	if scale == 0 {
		scale = 4
	}
	// Read and checked while the sandboxed child starts.
	model := func() ([]byte, error) { return ReadModel(modelPath, scale) }
	return run(ctx, model, func() ([]Pair, error) { return LoadPairs(lrDir, hrDir) }, opt, t0)
}

// ReadModel reads and statically checks a model file (Checked).
func ReadModel(modelPath string, scale int) ([]byte, error) {
	st, err := os.Stat(modelPath)
	if err != nil {
		return nil, err
	}
	if st.Size() > sandbox.MaxModelBytes {
		return nil, fmt.Errorf("%s: %d bytes exceeds the %s cap", modelPath, st.Size(), fmtBytes(sandbox.MaxModelBytes))
	}
	model, err := os.ReadFile(modelPath)
	if err != nil {
		return nil, err
	}
	return Checked(model, scale)
}

// JSON renders the report for `srarena eval --json`; values JSON cannot
// hold (an infinite PSNR for an exact reproduction, a missing SSIM) are null.
func (r *Report) JSON() ([]byte, error) {
	type img struct {
		Name      string    `json:"name"`
		PSNR      *float64  `json:"psnr"`
		PSNRY     *float64  `json:"psnr_y"`
		SSIM      *float64  `json:"ssim"`
		RuntimeMS *float64  `json:"runtime_ms"`
		RunsMS    []float64 `json:"runs_ms"`
		PeakMB    *float64  `json:"peak_memory_mb"`
		Baseline  *float64  `json:"baseline_ms,omitempty"`
		Ratio     *float64  `json:"runtime_ratio,omitempty"`
		BaseRuns  []float64 `json:"baseline_runs_ms,omitempty"`
		CPURuns   []float64 `json:"cpu_runs_ms,omitempty"`
		BaseCPU   []float64 `json:"baseline_cpu_runs_ms,omitempty"`
	}
	out := struct {
		PSNR         *float64 `json:"psnr"`
		PSNRY        *float64 `json:"psnr_y"`
		SSIM         *float64 `json:"ssim"`
		RuntimeMS    *float64 `json:"runtime_ms"`
		RuntimeStdMS *float64 `json:"runtime_std_ms"`
		RuntimeMinMS *float64 `json:"runtime_min_ms"`
		RuntimeMaxMS *float64 `json:"runtime_max_ms"`
		Warmup       int      `json:"warmup"`
		Repeats      int      `json:"repeats"`
		Threads      int      `json:"threads"`
		PeakMemoryMB *float64 `json:"peak_memory_mb"`
		MaxRSSMB     *float64 `json:"max_rss_mb"`
		StartupMS    *float64 `json:"startup_ms"`
		SessionMS    *float64 `json:"session_ms"`
		ORTVersion   string   `json:"ort_version"`
		Device       string   `json:"device"`
		Sandbox      []string `json:"sandbox"`
		Images       []img    `json:"images"`
		Protocol     string   `json:"protocol"`
		// Present only with a baseline (--baseline).
		RuntimeRatio      *float64    `json:"runtime_ratio,omitempty"`
		RuntimeRatioStd   *float64    `json:"runtime_ratio_std,omitempty"`
		RuntimeRatioCV    *float64    `json:"runtime_ratio_cv,omitempty"`
		ArenaPeakMB       *float64    `json:"arena_peak_mb,omitempty"`
		GPUPeakMemoryMB   *float64    `json:"gpu_peak_memory_mb,omitempty"`
		RatioClock        string      `json:"runtime_ratio_clock,omitempty"`
		BaselineRuntimeMS *float64    `json:"baseline_runtime_ms,omitempty"`
		Environment       Environment `json:"environment"`
		EvalWallMS        *float64    `json:"eval_wall_ms"`
		InferenceMS       *float64    `json:"inference_ms"`
		Overhead          *float64    `json:"overhead"`
		Phases            Phases      `json:"phases_ms"`
	}{
		finite(r.PSNR), finite(r.PSNRY), finite(r.SSIM), finite(r.RuntimeMS), finite(r.RuntimeStdMS),
		finite(r.RuntimeMinMS), finite(r.RuntimeMaxMS), r.Warmup, r.Repeats, r.Threads, finite(r.PeakMemoryMB),
		finite(r.MaxRSSMB), finite(r.StartupMS), finite(r.SessionMS), r.ORTVersion, r.Device, r.Sandbox, nil,
		r.Protocol, nil, nil, nil, nil, nil, "", nil, r.Environment, finite(r.EvalWallMS), finite(r.InferenceMS), finite(r.Overhead),
		r.Phases,
	}
	if r.ArenaPeakMB > 0 {
		out.ArenaPeakMB = finite(r.ArenaPeakMB)
	}
	if r.GPUPeakMemoryMB > 0 {
		out.GPUPeakMemoryMB = finite(r.GPUPeakMemoryMB)
	}
	if r.RuntimeRatio > 0 {
		out.RuntimeRatio, out.RuntimeRatioStd, out.BaselineRuntimeMS = finite(r.RuntimeRatio), finite(r.RuntimeRatioStd), finite(r.BaselineRuntimeMS)
		out.RuntimeRatioCV, out.RatioClock = finite(r.RuntimeRatioCV), r.RatioClock
	}
	for _, im := range r.Images {
		i := img{im.Name, finite(im.PSNR), finite(im.PSNRY), finite(im.SSIM), finite(im.RuntimeMS), im.RunsMS, finite(im.PeakMB), nil, nil, nil, im.CPURunsMS, im.BaselineCPURunsMS}
		if im.RuntimeRatio > 0 {
			i.Baseline, i.Ratio, i.BaseRuns = finite(im.BaselineMS), finite(im.RuntimeRatio), im.BaselineRunsMS
		}
		out.Images = append(out.Images, i)
	}
	return json.MarshalIndent(out, "", "  ")
}
