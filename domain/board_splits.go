package domain

import (
	"slices"

	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// perSplit reports whether a result carries per-split figures: the worker
// evaluated the submission on every dataset of its phase (or migration
// 0060 filled them in from its one dataset's split).
func perSplit(res *store.Result) bool {
	return res.PSNRVal != nil || res.PSNRTest != nil
}

// phaseSplits are the splits a phase's datasets cover, validation first.
func phaseSplits(p PhaseInfo) []string {
	var out []string
	for _, split := range []string{"validation", "test"} {
		if slices.ContainsFunc(p.Datasets, func(d store.Dataset) bool { return d.Split == split }) {
			out = append(out, split)
		}
	}
	return out
}

// measuredGatesFor is measuredGates for a board whose phase covers splits:
// when it measures both the validation and the test split (NTIRE's final
// phase), every gate applies as the rules write it, each to the split it
// names; otherwise gates are adapted to the one split as before.
func measuredGatesFor(r scoring.Rules, split string, splits []string) (scoring.Rules, []boardGate, []scoring.Gate) {
	if !slices.Contains(splits, "validation") || !slices.Contains(splits, "test") {
		return measuredGates(r, split)
	}
	applied := make([]boardGate, len(r.Gates))
	for i, g := range r.Gates {
		applied[i] = boardGate{Gate: g}
	}
	r.Gates = slices.Clone(r.Gates)
	return r, applied, nil
}
