package handlers

import (
	"math"
	"strconv"
	"time"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/scoring"
)

// boardColumns are leaderboard.csv's input columns: those of the results CSV
// that `srarena rank` reads, then srarena's extras (carried through by rank
// and correlate, used by the analysis: both FLOP rules). RankResults adds the
// rank, rank-sum and score columns of the rule set's tracks.
var boardColumns = []string{"team", "ranked", "ave_time_ms", "val_time_ms", "test_time_ms", "psnr_val", "psnr_test",
	"params_m", "flops_g", "acts_m", "mem_mb", "conv",
	"ssim", "runtime_std_ms", "flops_kair_g", "flops_fvcore_g", "baseline", "synthetic", "device", "submitted_at", "unranked_reason",
	// override: "overridden by organizers: …" where organizers set a value
	// by hand (domain admin_content.go); empty for measured values.
	"override"}

// boardTrack is one track's columns in leaderboard.csv.
type boardTrack struct {
	Name      string
	RankCol   int
	ValueCol  int    // -1: the track has only a rank
	ValueName string // "sum" or "score"
}

// boardTable is a board as a results table, row i of Rows standing for
// Lines[i].
type boardTable struct {
	CSV    *scoring.Results
	Lines  []domain.LeaderRow
	Tracks []boardTrack
	// Base are the newest baseline's metrics, which stand in for the
	// rules' published baseline values.
	Base map[string]float64
}

// num writes a value exactly (shortest round-trip form), so that rank
// reading the CSV back ranks exactly as the board did.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func numPtr(v *float64, div float64) string {
	if v == nil {
		return ""
	}
	return num(*v / div)
}

func boolCell(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// csvRow is a board row in boardColumns order, in the units scoring uses.
func csvRow(r domain.LeaderRow, split string) []string {
	ranked := boolCell(r.Rank > 0)
	val, test := "", ""
	pv, pt := "", ""
	switch {
	case r.PSNRVal != nil || r.PSNRTest != nil:
		// Each split's own figures (a phase evaluated on several datasets).
		val, test, pv, pt = numPtr(r.RuntimeValMS, 1), numPtr(r.RuntimeTestMS, 1), numPtr(r.PSNRVal, 1), numPtr(r.PSNRTest, 1)
	case split == "test":
		test, pt = num(r.RuntimeMS), num(r.PSNR)
	default:
		val, pv = num(r.RuntimeMS), num(r.PSNR)
	}
	reason := r.Unranked
	if r.Rank > 0 || r.Baseline {
		reason = "" // RankResults says "baseline" itself
	}
	return []string{r.Name, ranked, num(r.RuntimeMS), val, test, pv, pt,
		numPtr(r.Params, 1e6), numPtr(r.FLOPs, 1e9), numPtr(r.Activations, 1e6), numPtr(r.MemoryMB, 1), numPtr(r.ConvLayers, 1),
		numPtr(r.SSIM, 1), numPtr(r.RuntimeStdMS, 1), numPtr(r.FLOPsKAIR, 1e9), numPtr(r.FLOPsFvcore, 1e9),
		boolCell(r.Baseline), boolCell(r.Synthetic), r.Device, r.SubmittedAt.UTC().Format(time.RFC3339Nano), reason, r.Override}
}

// tableOf turns a board into the results table of leaderboard.csv: the
// ranked rows and the baselines go through scoring.RankResults with the
// rules the board applied (so every track's rank and sum or score is
// filled in exactly as `srarena rank` would), the other rows follow,
// unranked with the board's reason.
func tableOf(b domain.Board) boardTable {
	in := &scoring.Results{Header: append([]string(nil), boardColumns...)}
	var inLines, rest []domain.LeaderRow
	var base map[string]float64
	for _, r := range b.Rows {
		if r.Rank > 0 || r.Baseline {
			in.Rows = append(in.Rows, csvRow(r, b.Split))
			inLines = append(inLines, r)
		} else {
			rest = append(rest, r)
		}
	}
	out := boardTable{CSV: in, Lines: inLines}
	if len(b.AppliedRules().Tracks) > 0 {
		// The newest baseline's metrics stand in for the rules' published
		// ones, as on the board (domain.rankSameDevice).
		if entries, err := in.Entries(); err == nil {
			for _, e := range entries {
				if e.Baseline {
					base = e.Metrics
				}
			}
		}
		out.Base = base
		if ranked, rks, err := scoring.RankResults(in, b.AppliedRules(), base); err == nil {
			out.CSV = ranked
			out.Lines = make([]domain.LeaderRow, len(rks))
			for k, rk := range rks {
				out.Lines[k] = inLines[rk.Index]
			}
		}
	}
	t := out.CSV
	for _, r := range rest {
		cells := csvRow(r, b.Split)
		row := make([]string, len(t.Header))
		for i, h := range boardColumns {
			row[t.Col(h)] = cells[i]
		}
		t.Rows = append(t.Rows, row)
		out.Lines = append(out.Lines, r)
	}
	for _, tr := range b.AppliedRules().Tracks {
		bt := boardTrack{Name: tr.Name, RankCol: t.Col(tr.Name + "_rank"), ValueCol: -1}
		for _, suffix := range []string{"sum", "score"} {
			if c := t.Col(tr.Name + "_" + suffix); c >= 0 {
				bt.ValueCol, bt.ValueName = c, suffix
			}
		}
		if bt.RankCol >= 0 {
			out.Tracks = append(out.Tracks, bt)
		}
	}
	return out
}
