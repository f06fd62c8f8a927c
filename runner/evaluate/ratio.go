package evaluate

import (
	"math"
	"slices"
)

// The runtime ratio to a baseline (issue #10 §4).
//
// The model's and the baseline's runs alternate one by one in ABBA order
// (S B, B S, S B, …: who goes first alternates), so that whatever else the
// machine does slows both alike. A ratio is then estimated per image from
// the pairs, in three robust steps:
//
//  1. ABBA blocks: pairs 2j and 2j+1 form a block S B B S whose ratio is
//     (S₁+S₂)/(B₁+B₂). Within a block a load that grows or shrinks linearly
//     in time adds the same to both sums, so drift cancels to first order
//     (a lone pair's S/B is biased by whatever changed between its runs).
//     An odd last pair is a block of its own.
//  2. The image's ratio is the median of its blocks' ratios, taken on the
//     log scale (a spike that hits S doubles the ratio, one that hits B
//     halves it: on the log scale both are equally far, and the median
//     ignores them alike).
//  3. The evaluation's ratio is the mean of the images' ratios weighted by
//     the baseline's runtime on each image, i.e. Σ ratioᵢ·Bᵢ / Σ Bᵢ: the
//     ratio of the two mean runtimes, as the runtime column means it, so
//     that ratio × the baseline's reference runtime is a runtime.
//
// The estimate's own spread is reported with it: each image's log-ratio
// standard error from the blocks' dispersion (1.4826·MAD, × 1.2533/√n for
// a median), combined over the images with the same weights. It is what a
// repeat of the evaluation would be expected to vary by, as a fraction of
// the ratio (runtime_ratio_cv).

// ratioBlocks are the ABBA block ratios of one image's paired runs:
// model[k] and base[k] were timed next to each other.
func ratioBlocks(model, base []float64) []float64 {
	n := min(len(model), len(base))
	var out []float64
	for k := 0; k < n; k += 2 {
		s, b := model[k], base[k]
		if k+1 < n {
			s, b = s+model[k+1], b+base[k+1]
		}
		if s > 0 && b > 0 {
			out = append(out, s/b)
		}
	}
	return out
}

// imageRatio is one image's ratio estimate and the standard error of its
// logarithm (NaN with a single block: nothing tells its spread).
func imageRatio(model, base []float64) (ratio, logSE float64) {
	blocks := ratioBlocks(model, base)
	if len(blocks) == 0 {
		return math.NaN(), math.NaN()
	}
	logs := make([]float64, len(blocks))
	for i, r := range blocks {
		logs[i] = math.Log(r)
	}
	m := median(logs)
	if len(logs) < 2 {
		return math.Exp(m), math.NaN() // one block tells nothing of its spread
	}
	dev := make([]float64, len(logs))
	for i, l := range logs {
		dev[i] = math.Abs(l - m)
	}
	sigma := 1.4826 * median(dev)
	if sigma == 0 {
		// Half or more of the blocks agree exactly (coarse clocks, tiny
		// models): fall back on the plain standard deviation.
		sigma = math.Sqrt(variance(logs))
	}
	return math.Exp(m), 1.2533 * sigma / math.Sqrt(float64(len(logs)))
}

// ratioEstimate combines per-image ratios (with their log standard errors)
// weighted by the baseline's per-image runtime: the ratio, its relative
// standard error, and the plain standard deviation of the images' ratios.
func ratioEstimate(ratios, logSEs, weights []float64) (ratio, cv, std float64) {
	var sw, swr float64
	for i, r := range ratios {
		if math.IsNaN(r) || !(weights[i] > 0) {
			continue
		}
		sw += weights[i]
		swr += weights[i] * r
	}
	if sw == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	ratio = swr / sw
	var v float64
	for i, r := range ratios {
		if math.IsNaN(r) || !(weights[i] > 0) {
			continue
		}
		// The image ratio's standard error is r·SE(log r) (delta method).
		se := r * logSEs[i] * weights[i] / sw
		v += se * se
	}
	return ratio, math.Sqrt(v) / ratio, math.Sqrt(variance(slices.DeleteFunc(slices.Clone(ratios), math.IsNaN)))
}

// CombineRatios is the evaluation's ratio estimate over a subset of its
// images (one dataset of several): the runtime ratio, its relative
// standard error and the std of the images' ratios, as Report has them
// for all images. Images without a ratio are skipped; all NaN when none
// has one.
func CombineRatios(images []ImageResult) (ratio, cv, std float64) {
	var rs, ses, ws []float64
	for _, im := range images {
		if im.RuntimeRatio > 0 {
			rs, ses, ws = append(rs, im.RuntimeRatio), append(ses, im.ratioLogSE), append(ws, im.BaselineMS)
		}
	}
	if len(rs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	return ratioEstimate(rs, ses, ws)
}
