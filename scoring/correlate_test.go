package scoring

import (
	"math"
	"os"
	"reflect"
	"testing"
)

// TestCorrelateNTIRE2023 pins the coefficients of protocol.md §6 (scipy 1.10
// on the ranked rows of the NTIRE 2023 table) to 4 decimals.
func TestCorrelateNTIRE2023(t *testing.T) {
	f, err := os.Open("testdata/ntire2023_esr_results.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, err := ReadResultsCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := CorrelateResults(tab)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Correlation{}
	for _, c := range cs {
		got[c.Metric] = c
	}
	want := []struct {
		metric             string
		pearson, sp, kendl float64
	}{
		{MetricParams, 0.0033, -0.3896, -0.2061},
		{MetricFLOPs, 0.0097, -0.3966, -0.2056},
		{MetricActivations, 0.8861, 0.9150, 0.7702},
		{MetricMemory, 0.2909, 0.3130, 0.2137},
		{MetricConv, 0.5013, 0.8611, 0.6721},
	}
	round4 := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
	for _, w := range want {
		c, ok := got[w.metric]
		if !ok {
			t.Fatalf("no correlation for %s (have %v)", w.metric, cs)
		}
		if c.N != 32 {
			t.Errorf("%s: n = %d, want 32", w.metric, c.N)
		}
		if round4(c.Pearson) != w.pearson || round4(c.Spearman) != w.sp || round4(c.Kendall) != w.kendl {
			t.Errorf("%s: r=%.4f ρ=%.4f τ=%.4f, want %.4f %.4f %.4f", w.metric,
				c.Pearson, c.Spearman, c.Kendall, w.pearson, w.sp, w.kendl)
		}
		for _, ci := range []struct {
			v  float64
			iv Interval
		}{{c.Pearson, c.PearsonCI}, {c.Spearman, c.SpearmanCI}, {c.Kendall, c.KendallCI}} {
			if !(ci.iv.Lo < ci.v && ci.v < ci.iv.Hi) {
				t.Errorf("%s: %v not inside %+v", w.metric, ci.v, ci.iv)
			}
		}
	}
	// PSNR columns are metrics too; rank/sum columns are not.
	if _, ok := got[MetricPSNRVal]; !ok {
		t.Error("psnr_val not correlated")
	}
	for m := range got {
		if m == "time_rank" || m == "overall_sum" {
			t.Errorf("%s should not be correlated", m)
		}
	}
}

func TestCorrelateHand(t *testing.T) {
	// y = 10·x² on x = 1..5: monotone, so ρ = τ = 1; the log-log fit is
	// exactly slope 2, intercept 1.
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{10, 40, 90, 160, 250}
	c, err := Correlate("m", x, y)
	if err != nil {
		t.Fatal(err)
	}
	if c.Spearman != 1 || c.Kendall != 1 || c.SpearmanCI != (Interval{1, 1}) {
		t.Errorf("ρ=%v τ=%v ci=%v", c.Spearman, c.Kendall, c.SpearmanCI)
	}
	if math.Abs(c.LogFit.Slope-2) > 1e-12 || math.Abs(c.LogFit.Intercept-1) > 1e-12 || c.LogFit.N != 5 {
		t.Errorf("fit %+v", c.LogFit)
	}
	// Ties: x = [1,1,2,3], y = [1,2,2,3]. Pairs: (0,1) tie in x, (1,2) tie
	// in y, the other 4 concordant: τ-b = 4/√((6-1)(6-1)) = 0.8.
	if got := KendallTauB([]float64{1, 1, 2, 3}, []float64{1, 2, 2, 3}); math.Abs(got-0.8) > 1e-15 {
		t.Errorf("τ-b = %v, want 0.8", got)
	}
	if got := AverageRanks([]float64{10, 20, 10, 5}); !reflect.DeepEqual(got, []float64{2.5, 4, 2.5, 1}) {
		t.Errorf("average ranks %v", got)
	}
	// NaN pairs are dropped; a constant variable gives NaN, not a panic.
	c, _ = Correlate("m", []float64{1, 2, math.NaN(), 4}, []float64{3, 3, 1, 3})
	if c.N != 3 || !math.IsNaN(c.Kendall) || !math.IsNaN(c.PearsonCI.Lo) {
		t.Errorf("degenerate: %+v", c)
	}
	if _, err := Correlate("m", []float64{1}, nil); err == nil {
		t.Error("length mismatch accepted")
	}
}
