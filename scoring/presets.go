package scoring

import (
	"encoding/json"
	"maps"
	"slices"
)

// Preset returns a copy of the named rule set: aim2020, ntire2022,
// ntire2023, ntire2024, ntire2025 or ntire2026. They are plain Rules values;
// a challenge may store one as is or edit it.
func Preset(name string) (Rules, bool) {
	r, ok := presets[name]
	if !ok {
		return Rules{}, false
	}
	// Deep copy through JSON so callers cannot mutate the table.
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	var c Rules
	if err := json.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return c, true
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	return slices.Sorted(maps.Keys(presets))
}

// rankSumTracks are the NTIRE 2022/2023 three tracks (protocol.md §4.2, §4.3):
// main by runtime, "Model Comp." = rank(params)+rank(FLOPs), "Overall" =
// rank(runtime)+rank(params)+rank(FLOPs)+rank(acts)+rank(memory). Track names
// match the results CSV columns (time_rank, modelcomp_sum, overall_rank…).
func rankSumTracks(compTie, overallTie []string) []Track {
	return []Track{
		{Name: "time", Method: MethodValue, Terms: []Term{{Metric: MetricRuntime}}},
		{Name: "modelcomp", Method: MethodRankSum, TieBreak: compTie,
			Terms: []Term{{Metric: MetricParams}, {Metric: MetricFLOPs}}},
		{Name: "overall", Method: MethodRankSum, TieBreak: overallTie,
			Terms: []Term{{Metric: MetricRuntime}, {Metric: MetricParams}, {Metric: MetricFLOPs},
				{Metric: MetricActivations}, {Metric: MetricMemory}}},
	}
}

// expScoreTracks are the NTIRE 2024–2026 tracks (protocol.md §4.4–4.6): main
// = wr·exp(2·runtime/base) + wf·exp(2·FLOPs/base) + wp·exp(2·params/base),
// and one sub-track per score. runtime/base is the measured runtime ratio
// to the baseline where an entry has one (a phase ranking by the ratio).
func expScoreTracks(wr, wf, wp float64) []Track {
	return []Track{
		{Name: "main", Method: MethodExpScore, Terms: []Term{
			{Metric: MetricRuntime, Weight: wr, Ratio: MetricRuntimeRatio}, {Metric: MetricFLOPs, Weight: wf}, {Metric: MetricParams, Weight: wp}}},
		{Name: "runtime", Method: MethodExpScore, Terms: []Term{{Metric: MetricRuntime, Ratio: MetricRuntimeRatio}}},
		{Name: "flops", Method: MethodExpScore, Terms: []Term{{Metric: MetricFLOPs}}},
		{Name: "params", Method: MethodExpScore, Terms: []Term{{Metric: MetricParams}}},
	}
}

var ntire24Gates = []Gate{{Metric: MetricPSNRVal, Min: 26.90}, {Metric: MetricPSNRTest, Min: 26.99}}

var presets = map[string]Rules{
	"aim2020": {
		Name: "aim2020",
		Source: "AIM 2020 efficient SR (arXiv 2009.06943 abstract): maintain MSRResNet's PSNR " +
			"(29.00 dB DIV2K val, znsc/MSRResNet README); ranking by runtime is UNCONFIRMED " +
			"(report not read, protocol.md §4.1). Add a psnr_test gate (MSRResNet 28.70) if wanted.",
		Gates:    []Gate{{Metric: MetricPSNRVal, FromBaseline: true}},
		Baseline: map[string]float64{MetricPSNRVal: 29.00, MetricPSNRTest: 28.70},
		Tracks:   []Track{{Name: "time", Method: MethodValue, Terms: []Term{{Metric: MetricRuntime}}}},
	},
	"ntire2022": {
		Name: "ntire2022",
		Source: "NTIRE 2022 ESR (ofsoundof/NTIRE2022_ESR README and figs/results.png, protocol.md §4.2): " +
			"runtime main track; rank sums with shared ties. Gates are the lowest ranked PSNRs of the " +
			"table (28.95 val, 28.65 test): the official thresholds are UNCONFIRMED.",
		Gates:    []Gate{{Metric: MetricPSNRVal, Min: 28.95}, {Metric: MetricPSNRTest, Min: 28.65}},
		Baseline: map[string]float64{MetricPSNRVal: 29.13, MetricPSNRTest: 28.78, MetricRuntime: 50.86, MetricParams: 0.894, MetricFLOPs: 58.53, MetricActivations: 154.14, MetricMemory: 471.76, MetricConv: 43},
		Tracks:   rankSumTracks(nil, nil),
	},
	"ntire2023": {
		Name: "ntire2023",
		Source: "NTIRE 2023 ESR (ofsoundof/NTIRE2023_ESR test_demo.py; official table in HeaseoChung/LMRLFN " +
			"examples/ranking.png, protocol.md §4.3). Tie-breaks are those the published table shows: equal " +
			"printed params ranked by runtime, equal Model-Comp sums by runtime, equal Overall sums by the " +
			"Model-Comp sum. Gates are the lowest ranked PSNRs (28.91 val, 26.95 hybrid test): UNCONFIRMED.",
		Gates:          []Gate{{Metric: MetricPSNRVal, Min: 28.91}, {Metric: MetricPSNRTest, Min: 26.95}},
		Baseline:       map[string]float64{MetricPSNRVal: 29.04, MetricPSNRTest: 27.11, MetricRuntime: 35.54, MetricParams: 0.433, MetricFLOPs: 27.10, MetricActivations: 112.03, MetricMemory: 788.13, MetricConv: 64},
		MetricTieBreak: []string{MetricRuntime},
		Tracks:         rankSumTracks([]string{MetricRuntime}, []string{"track:modelcomp"}),
	},
	"ntire2024": {
		Name: "ntire2024",
		Source: "NTIRE 2024 ESR (Amazingren/NTIRE2024_ESR README, protocol.md §4.4): PSNR ≥ 26.90 valid and " +
			"≥ 26.99 test; Score = 0.7·exp(2·t/t_RLFN) + 0.15·exp(2·F/F_RLFN) + 0.15·exp(2·P/P_RLFN), lower is better.",
		Gates:    ntire24Gates,
		Baseline: map[string]float64{MetricPSNRVal: 26.96, MetricPSNRTest: 27.07, MetricRuntime: 13.54, MetricParams: 0.317, MetricFLOPs: 19.67},
		Tracks:   expScoreTracks(0.7, 0.15, 0.15),
	},
	"ntire2025": {
		Name: "ntire2025",
		Source: "NTIRE 2025 ESR (Amazingren/NTIRE2025_ESR README, protocol.md §4.5): as 2024 with baseline EFDN " +
			"(16.69 ms, 0.276 M, 16.70 G); weights 0.7/0.15/0.15.",
		Gates:    ntire24Gates,
		Baseline: map[string]float64{MetricPSNRVal: 26.93, MetricPSNRTest: 27.01, MetricRuntime: 16.69, MetricParams: 0.276, MetricFLOPs: 16.70},
		Tracks:   expScoreTracks(0.7, 0.15, 0.15),
	},
	"ntire2026": {
		Name: "ntire2026",
		Source: "NTIRE 2026 ESR (Amazingren/NTIRE2026_ESR README, protocol.md §4.6): baseline SPAN (7.74 ms, " +
			"0.151 M, 9.83 G); Score = 0.8·runtime + 0.1·FLOPs + 0.1·params exp scores.",
		Gates:    ntire24Gates,
		Baseline: map[string]float64{MetricPSNRVal: 26.94, MetricPSNRTest: 27.01, MetricRuntime: 7.74, MetricParams: 0.151, MetricFLOPs: 9.83},
		Tracks:   expScoreTracks(0.8, 0.1, 0.1),
	},
}
