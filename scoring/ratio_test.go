package scoring

import (
	"math"
	"testing"
)

// TestExpScoreRatio: an NTIRE 2024+ runtime term takes an entry's measured
// runtime ratio directly (exp(2·ratio)) instead of runtime/baseline, and
// falls back on runtime/baseline for an entry without one.
func TestExpScoreRatio(t *testing.T) {
	r, _ := Preset("ntire2024")
	base := map[string]float64{MetricRuntime: 10, MetricFLOPs: 20, MetricParams: 0.3, MetricPSNRVal: 20, MetricPSNRTest: 20}
	m := func(runtime float64, ratio *float64) map[string]float64 {
		x := map[string]float64{MetricRuntime: runtime, MetricFLOPs: 20, MetricParams: 0.3, MetricPSNRVal: 30, MetricPSNRTest: 30}
		if ratio != nil {
			x[MetricRuntimeRatio] = *ratio
		}
		return x
	}
	half := 0.5
	// A measured 12 ms that the ratio says is half the baseline's: the
	// ratio wins; B has no ratio: 8/10.
	rk, err := Rank(r, base, []Entry{{ID: "A", Metrics: m(12, &half)}, {ID: "B", Metrics: m(8, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"A": 0.7*math.Exp(2*0.5) + 0.15*math.Exp(2) + 0.15*math.Exp(2),
		"B": 0.7*math.Exp(2*0.8) + 0.15*math.Exp(2) + 0.15*math.Exp(2)}
	for _, x := range rk {
		if got := x.Tracks[0].Value; math.Abs(got-want[x.Entry.ID]) > 1e-12 {
			t.Errorf("%s: score %v, want %v", x.Entry.ID, got, want[x.Entry.ID])
		}
		if x.Entry.ID == "A" && x.Rank != 1 {
			t.Errorf("A (ratio 0.5) ranks %d", x.Rank)
		}
	}
	// A value track (NTIRE 2022 runtime) is not affected by the ratio.
	v, _ := Preset("aim2020")
	for _, tr := range v.Tracks {
		for _, term := range tr.Terms {
			if term.Ratio != "" {
				t.Errorf("aim2020 %s uses a ratio", tr.Name)
			}
		}
	}
}
