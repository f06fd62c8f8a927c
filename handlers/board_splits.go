package handlers

import (
	"slices"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// bothSplits reports whether a board's phase is evaluated on validation and
// test datasets (NTIRE's final phase): it then shows a PSNR column per
// split, and its runtime is their mean.
func bothSplits(b domain.Board) bool {
	return slices.Contains(b.Splits, "validation") && slices.Contains(b.Splits, "test")
}

// splitPSNRColumns replaces the PSNR column with one per split.
func splitPSNRColumns(cols []column) []column {
	i := slices.IndexFunc(cols, func(c column) bool { return c.key == "psnr" })
	if i < 0 {
		return cols
	}
	split := []column{
		{key: "psnr_val", label: "PSNR val (dB)", title: "PSNR on the validation set(s), dB", higherBetter: true,
			cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
				return ptrCell(r.PSNRVal, func(v float64) string { return fmtFloat(v, 2) })
			}},
		{key: "psnr_test", label: "PSNR test (dB)", title: "PSNR on the test set(s), dB", higherBetter: true,
			cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
				return ptrCell(r.PSNRTest, func(v float64) string { return fmtFloat(v, 2) })
			}},
	}
	return slices.Concat(cols[:i], split, cols[i+1:])
}

// splitRuntimeNote is added to the runtime note of a board on both splits.
const splitRuntimeNote = " The runtime is the mean of the validation and the test runtime ((val + test) / 2, as NTIRE ranks it); the CSV and JSON give each."

// splitKVs are a result's per-split figures for the submission page, where
// it was evaluated on both a validation and a test split.
func splitKVs(r store.Result) []templates.KV {
	if r.PSNRVal == nil || r.PSNRTest == nil {
		return nil
	}
	kv := []templates.KV{
		{Key: "PSNR (validation)", Value: fmtFloat(*r.PSNRVal, 3) + " dB"},
		{Key: "PSNR (test)", Value: fmtFloat(*r.PSNRTest, 3) + " dB"},
	}
	if r.RuntimeValMS != nil && r.RuntimeTestMS != nil {
		kv = append(kv, templates.KV{Key: "Runtime validation / test (the runtime above is their mean)",
			Value: fmtFloat(*r.RuntimeValMS, 2) + " / " + fmtFloat(*r.RuntimeTestMS, 2) + " ms"})
	}
	return kv
}
