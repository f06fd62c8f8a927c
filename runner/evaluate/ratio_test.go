package evaluate

import (
	"math"
	"math/rand/v2"
	"testing"
)

// series makes n paired runs of a model that takes ratio× the baseline's
// base ms, on a machine whose slowdown at run index i (the ABBA position
// of each run, 2 per pair) is load(i).
func series(n int, base, ratio float64, load func(i int) float64) (model, baseline []float64) {
	for k := 0; k < n; k++ {
		order := abbaOrder(k)
		for j, modelTurn := range order {
			f := load(2*k + j)
			if modelTurn {
				model = append(model, ratio*base*f)
			} else {
				baseline = append(baseline, base*f)
			}
		}
	}
	return model, baseline
}

// TestImageRatio: the per-image estimator recovers the true ratio from
// synthetic timing series with drift, spikes and a load that comes and
// goes, where the naive estimators (ratio of means, median of single
// pairs) are off.
func TestImageRatio(t *testing.T) {
	const truth = 1.7
	rng := rand.New(rand.NewPCG(7, 7))
	cases := []struct {
		name     string
		n        int
		load     func(i int) float64
		tol      float64 // relative error allowed
		naiveOff bool    // the previous estimator is off by more than tol
	}{
		{"quiet", 8, func(int) float64 { return 1 }, 1e-12, false},
		// A load that grows steadily: S B | B S blocks cancel it exactly.
		{"linear drift", 8, func(i int) float64 { return 1 + 0.05*float64(i) }, 1e-12, true},
		{"steep drift", 4, func(i int) float64 { return 1 + 0.5*float64(i) }, 1e-12, true},
		// A spike on a few runs (another process woke up): the median of
		// blocks ignores them (the ratio of the means would say 2.09).
		{"spikes", 10, func(i int) float64 {
			if i == 3 || i == 8 || i == 17 {
				return 4
			}
			return 1
		}, 1e-12, false},
		// A hog that is on for a while and off for a while, changing
		// in the middle of blocks now and then.
		{"hog on and off", 12, func(i int) float64 {
			if (i/5)%2 == 1 {
				return 2
			}
			return 1
		}, 0.02, false},
		// Multiplicative noise of 10 % on every run.
		{"noise", 40, func(int) float64 { return math.Exp(0.1 * rng.NormFloat64()) }, 0.05, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, b := series(c.n, 20, truth, c.load)
			got, se := imageRatio(m, b)
			if math.Abs(got/truth-1) > c.tol {
				t.Errorf("ratio %.6f, want %.6f ± %.0e", got, truth, c.tol)
			}
			if math.IsNaN(se) || se < 0 {
				t.Errorf("log SE %v", se)
			}
			// The previous estimator: the median of single pairs' ratios.
			pairs := make([]float64, len(m))
			for k := range m {
				pairs[k] = m[k] / b[k]
			}
			naive := median(pairs)
			if c.naiveOff && math.Abs(naive/truth-1) <= c.tol {
				t.Errorf("the median of pair ratios %.6f is right too: the case tests nothing", naive)
			}
			t.Logf("ratio %.5f (log SE %.4f); median of pair ratios %.5f, ratio of means %.5f", got, se, naive, mean(m)/mean(b))
		})
	}
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// TestRatioBlocks: pairs 2j and 2j+1 form a block; an odd pair stands
// alone; non-positive times are dropped.
func TestRatioBlocks(t *testing.T) {
	got := ratioBlocks([]float64{2, 4, 3, 0}, []float64{1, 1, 1, 1})
	want := []float64{3} // (2+4)/(1+1); the block (3+0)/(1+1) is kept, 1.5
	want = append(want, 1.5)
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("blocks %v, want %v", got, want)
	}
	if got := ratioBlocks([]float64{2, 4, 6}, []float64{1, 2, 3}); len(got) != 2 || got[0] != 2 || got[1] != 2 {
		t.Errorf("odd pair: %v", got)
	}
	if r, se := imageRatio([]float64{5}, []float64{2}); r != 2.5 || !math.IsNaN(se) {
		t.Errorf("one pair (official protocol): ratio %v, SE %v; want 2.5, NaN (no spread from one pair)", r, se)
	}
	if r, _ := imageRatio(nil, nil); !math.IsNaN(r) {
		t.Errorf("no pairs: %v", r)
	}
}

// TestRatioEstimate: images combine weighted by the baseline's runtime
// (the ratio of mean runtimes), the spread combines by the same weights,
// and a missing image is skipped.
func TestRatioEstimate(t *testing.T) {
	// Baseline 10 and 30 ms, ratios 2 and 1: mean runtimes (20+30)/(10+30)
	// = 1.25 (the plain mean of the ratios would say 1.5).
	r, cv, std := ratioEstimate([]float64{2, 1}, []float64{0.01, 0.02}, []float64{10, 30})
	if math.Abs(r-1.25) > 1e-12 {
		t.Errorf("ratio %v, want 1.25", r)
	}
	wantCV := math.Sqrt(math.Pow(2*0.01*10/40, 2)+math.Pow(1*0.02*30/40, 2)) / 1.25
	if math.Abs(cv-wantCV) > 1e-12 {
		t.Errorf("cv %v, want %v", cv, wantCV)
	}
	if math.Abs(std-math.Sqrt(0.5)) > 1e-12 {
		t.Errorf("std over images %v, want %v", std, math.Sqrt(0.5))
	}
	if r, _, _ := ratioEstimate([]float64{math.NaN(), 3}, []float64{0, 0}, []float64{5, 5}); r != 3 {
		t.Errorf("NaN image not skipped: %v", r)
	}
	if _, cv, _ := ratioEstimate([]float64{2}, []float64{math.NaN()}, []float64{5}); !math.IsNaN(cv) {
		t.Errorf("one pair per image: cv %v, want NaN (unknown)", cv)
	}
}

// TestRatioSpreadPredicts: the reported cv matches the spread of repeated
// estimates on synthetic noisy series (the runner's own spread means
// something).
func TestRatioSpreadPredicts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ests, cvs []float64
	for rep := 0; rep < 400; rep++ {
		var rs, ses, ws []float64
		for img := 0; img < 5; img++ {
			m, b := series(8, 10+5*float64(img), 1.3, func(int) float64 { return math.Exp(0.08 * rng.NormFloat64()) })
			r, se := imageRatio(m, b)
			rs, ses, ws = append(rs, r), append(ses, se), append(ws, median(b))
		}
		r, cv, _ := ratioEstimate(rs, ses, ws)
		ests, cvs = append(ests, r), append(cvs, cv)
	}
	observed := math.Sqrt(variance(ests)) / mean(ests)
	predicted := median(cvs)
	if predicted < observed/2 || predicted > observed*2 {
		t.Errorf("predicted cv %.4f, observed %.4f over 400 repeats", predicted, observed)
	}
	t.Logf("cv predicted %.4f, observed %.4f", predicted, observed)
}

// TestCombineRatios: a subset of images (one dataset of several) combines
// as the whole evaluation does; images without a ratio are skipped.
func TestCombineRatios(t *testing.T) {
	ims := []ImageResult{{RuntimeRatio: 2, BaselineMS: 10, ratioLogSE: 0.01}, {RuntimeRatio: 1, BaselineMS: 30, ratioLogSE: 0.02}, {}}
	r, cv, std := CombineRatios(ims)
	wr, wcv, wstd := ratioEstimate([]float64{2, 1}, []float64{0.01, 0.02}, []float64{10, 30})
	if r != wr || cv != wcv || std != wstd || r != 1.25 {
		t.Errorf("CombineRatios %v %v %v, want %v %v %v", r, cv, std, wr, wcv, wstd)
	}
	if r, _, _ := CombineRatios([]ImageResult{{}}); !math.IsNaN(r) {
		t.Errorf("no ratios: %v", r)
	}
}
