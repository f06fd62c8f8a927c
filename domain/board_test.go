package domain

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/srarena/srarena/scoring"
)

// TestMeasuredGates: a board evaluates one split, so that split's PSNR gate
// applies and a gate on the other split is dropped; but when the rules gate
// only the other split, the gate moves onto this split's PSNR, relative to
// the baseline, so no board ranks without a PSNR gate. The preset passed in
// is never modified.
func TestMeasuredGates(t *testing.T) {
	t.Parallel()
	type moved struct {
		metric, inPlaceOf string
		min               float64
	}
	tests := []struct {
		preset, split string
		applied       []moved
		skipped       []string
	}{
		{"ntire2023", "validation", []moved{{scoring.MetricPSNRVal, "", 28.91}}, []string{scoring.MetricPSNRTest}},
		{"ntire2023", "test", []moved{{scoring.MetricPSNRTest, "", 26.95}}, []string{scoring.MetricPSNRVal}},
		{"ntire2024", "validation", []moved{{scoring.MetricPSNRVal, "", 26.90}}, []string{scoring.MetricPSNRTest}},
		{"aim2020", "validation", []moved{{scoring.MetricPSNRVal, "", 0}}, nil},
		{"aim2020", "test", []moved{{scoring.MetricPSNRTest, scoring.MetricPSNRVal, 0}}, nil},
	}
	for _, tc := range tests {
		r, _ := scoring.Preset(tc.preset)
		before := slices.Clone(r.Gates)
		got, applied, skipped := measuredGates(r, tc.split)
		var gotApplied []moved
		for _, g := range applied {
			gotApplied = append(gotApplied, moved{g.Metric, g.InPlaceOf, g.Min})
		}
		var gotSkipped []string
		for _, g := range skipped {
			gotSkipped = append(gotSkipped, g.Metric)
		}
		if !slices.Equal(gotApplied, tc.applied) || !slices.Equal(gotSkipped, tc.skipped) {
			t.Errorf("%s on %s: applied %v skipped %v, want %v %v", tc.preset, tc.split, gotApplied, gotSkipped, tc.applied, tc.skipped)
		}
		if len(got.Gates) != len(applied) || len(got.Gates) == 0 {
			t.Errorf("%s on %s: rules gates %v; want the %d applied, never none", tc.preset, tc.split, got.Gates, len(applied))
		}
		for i, g := range applied {
			if i < len(got.Gates) && got.Gates[i] != g.Gate {
				t.Errorf("%s on %s: rules gate %d = %+v, applied %+v", tc.preset, tc.split, i, got.Gates[i], g.Gate)
			}
		}
		if !slices.Equal(before, r.Gates) {
			t.Errorf("%s: preset's gates modified: %+v, was %+v", tc.preset, r.Gates, before)
		}
	}
	// An absolute gate on the other split keeps its margin over the rules'
	// baseline; without a published baseline it becomes "≥ the baseline's".
	abs := scoring.Rules{Gates: []scoring.Gate{{Metric: scoring.MetricPSNRVal, Min: 28.5}},
		Baseline: map[string]float64{scoring.MetricPSNRVal: 29.0}}
	if _, applied, _ := measuredGates(abs, "test"); len(applied) != 1 ||
		applied[0].Gate != (scoring.Gate{Metric: scoring.MetricPSNRTest, Min: -0.5, FromBaseline: true}) ||
		!strings.Contains(applied[0].describe(), "gate applied to test PSNR in place of validation PSNR") {
		t.Errorf("absolute gate on test: %+v", applied)
	}
	abs.Baseline = nil
	if _, applied, _ := measuredGates(abs, "test"); len(applied) != 1 ||
		applied[0].Gate != (scoring.Gate{Metric: scoring.MetricPSNRTest, FromBaseline: true}) {
		t.Errorf("absolute gate, no baseline: %+v", applied)
	}
}

// TestLeaderRowJSON: non-finite metrics become null instead of failing the
// whole encoding.
func TestLeaderRowJSON(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		row  LeaderRow
		want string
	}{
		{"inf psnr", LeaderRow{Name: "a", PSNR: inf, RuntimeMS: 3}, `"psnr":null`},
		{"nan runtime", LeaderRow{Name: "a", PSNR: 30, RuntimeMS: nan}, `"runtime_ms":null`},
		{"nan ssim", LeaderRow{Name: "a", SSIM: &nan}, `"ssim":null`},
		{"finite", LeaderRow{Name: "a", PSNR: 30.5}, `"psnr":30.5`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(Board{Rows: []LeaderRow{tc.row}})
		if err != nil || !strings.Contains(string(b), tc.want) || strings.Count(string(b), `"psnr"`) != 1 {
			t.Errorf("%s: %s, %v; want %s once", tc.name, b, err, tc.want)
		}
	}
}

// TestRedactScores: before a hidden phase's reveal, log lines keep their
// progress and lose every measurement.
func TestRedactScores(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"image 3/5 0803.png: PSNR 30.1234 dB, SSIM 0.9000, 12.00 ms", "image 3/5"},
		{"image 2/100: 3.10 ms", "image 2/100"},
		{"evaluation finished: PSNR 29.0000 dB, SSIM 0.8, runtime 12.00 ms (± 0.1, 3 repeats after 1 warm-up)",
			"evaluation finished (scores hidden until the organizers reveal them)"},
		{"evaluation started (attempt 1): 5 images, ×4", "evaluation started (attempt 1): 5 images, ×4"},
		{"warm-up took 40 ms", "(line hidden until the organizers reveal the scores)"},
	} {
		if got := redactScores(tc.in); got != tc.want {
			t.Errorf("redactScores(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
