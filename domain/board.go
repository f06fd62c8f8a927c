package domain

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// LeaderRow is one row of the ranking, as leaderboard.json serves it.
type LeaderRow struct {
	Rank         int       `json:"rank"`            // 0 when unranked
	Name         string    `json:"name"`            // the team's name; a baseline's label
	Entry        string    `json:"entry,omitempty"` // which of the team's submissions this is, by the phase's rule
	Baseline     bool      `json:"baseline,omitempty"`
	Unranked     string    `json:"unranked,omitempty"` // why not ranked
	PSNR         float64   `json:"psnr"`
	SSIM         *float64  `json:"ssim"`
	RuntimeMS    float64   `json:"runtime_ms"`
	RuntimeStdMS *float64  `json:"runtime_std_ms"`
	RuntimeMinMS *float64  `json:"runtime_min_ms"`
	RuntimeMaxMS *float64  `json:"runtime_max_ms"`
	Repeats      int       `json:"repeats"`
	Warmup       int       `json:"warmup"` // untimed runs per image before the timed ones
	Device       string    `json:"device"`
	Params       *float64  `json:"params"`
	FLOPs        *float64  `json:"flops"` // by the rule set's counting rule
	FLOPsKAIR    *float64  `json:"flops_kair"`
	FLOPsFvcore  *float64  `json:"flops_fvcore"`
	Activations  *float64  `json:"activations"`
	ConvLayers   *float64  `json:"conv_layers"`
	MemoryMB     *float64  `json:"memory_mb"`
	SubmittedAt  time.Time `json:"submitted_at"`
	// The per-split figures, named as the results CSV names them (nil:
	// the phase has no dataset of that split, or the result predates it).
	// RuntimeMS is their mean where both exist (NTIRE's (val + test) / 2).
	PSNRVal       *float64 `json:"psnr_val"`
	PSNRTest      *float64 `json:"psnr_test"`
	RuntimeValMS  *float64 `json:"val_time_ms"`
	RuntimeTestMS *float64 `json:"test_time_ms"`
	// Synthetic marks a result made up by srarena seed, not measured.
	Synthetic bool `json:"synthetic,omitempty"`
	// RawRuntimeMS is the measured runtime and RuntimeRatio the measured
	// ratio to the baseline, with the runner's own relative spread
	// (RuntimeRatioCV); RuntimeMS is what the board ranks, which on a
	// ratio board is RuntimeRatio × the reference (board_basis.go).
	RawRuntimeMS   *float64 `json:"raw_runtime_ms,omitempty"`
	RuntimeRatio   *float64 `json:"runtime_ratio,omitempty"`
	RuntimeRatioCV *float64 `json:"runtime_ratio_cv,omitempty"`
	// Override says which metrics organizers set by hand and why
	// ("overridden by organizers: …"); empty for measured values.
	Override string `json:"override,omitempty"`

	submission int64 // the submission behind the row
	// CompareID is the submission behind the row when the crop viewer has
	// its SR outputs to show (the phase has a public validation set); 0
	// otherwise. Not in the JSON.
	CompareID int64 `json:"-"`
}

// finite returns nil for NaN and ±Inf, which JSON cannot carry.
func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func finitePtr(f *float64) *float64 {
	if f == nil {
		return nil
	}
	return finite(*f)
}

// MarshalJSON writes every metric that is NaN or infinite (a PSNR of +Inf
// for a bit-exact output, a broken measurement) as null: encoding/json
// refuses such values, and one row must not turn the whole board into a 500.
func (r LeaderRow) MarshalJSON() ([]byte, error) {
	type plain LeaderRow // without this method
	return json.Marshal(struct {
		plain
		PSNR         *float64 `json:"psnr"`
		SSIM         *float64 `json:"ssim"`
		RuntimeMS    *float64 `json:"runtime_ms"`
		RuntimeStdMS *float64 `json:"runtime_std_ms"`
		RuntimeMinMS *float64 `json:"runtime_min_ms"`
		RuntimeMaxMS *float64 `json:"runtime_max_ms"`
		Params       *float64 `json:"params"`
		FLOPs        *float64 `json:"flops"`
		FLOPsKAIR    *float64 `json:"flops_kair"`
		FLOPsFvcore  *float64 `json:"flops_fvcore"`
		Activations  *float64 `json:"activations"`
		ConvLayers   *float64 `json:"conv_layers"`
		MemoryMB     *float64 `json:"memory_mb"`
		PSNRVal      *float64 `json:"psnr_val"`
		PSNRTest     *float64 `json:"psnr_test"`
		RuntimeVal   *float64 `json:"val_time_ms"`
		RuntimeTest  *float64 `json:"test_time_ms"`

		RawRuntimeMS   *float64 `json:"raw_runtime_ms,omitempty"`
		RuntimeRatio   *float64 `json:"runtime_ratio,omitempty"`
		RuntimeRatioCV *float64 `json:"runtime_ratio_cv,omitempty"`
	}{
		plain: plain(r), PSNR: finite(r.PSNR), SSIM: finitePtr(r.SSIM), RuntimeMS: finite(r.RuntimeMS),
		RuntimeStdMS: finitePtr(r.RuntimeStdMS), RuntimeMinMS: finitePtr(r.RuntimeMinMS), RuntimeMaxMS: finitePtr(r.RuntimeMaxMS),
		Params: finitePtr(r.Params), FLOPs: finitePtr(r.FLOPs), FLOPsKAIR: finitePtr(r.FLOPsKAIR), FLOPsFvcore: finitePtr(r.FLOPsFvcore),
		Activations: finitePtr(r.Activations),
		ConvLayers:  finitePtr(r.ConvLayers), MemoryMB: finitePtr(r.MemoryMB),
		RawRuntimeMS: finitePtr(r.RawRuntimeMS), RuntimeRatio: finitePtr(r.RuntimeRatio), RuntimeRatioCV: finitePtr(r.RuntimeRatioCV),
		PSNRVal: finitePtr(r.PSNRVal), PSNRTest: finitePtr(r.PSNRTest), RuntimeVal: finitePtr(r.RuntimeValMS), RuntimeTest: finitePtr(r.RuntimeTestMS),
	})
}

// Board is a computed leaderboard.
type Board struct {
	Challenge string `json:"challenge"`
	Phase     string `json:"phase"`
	// EntryRule is the phase's rule for a team's row: best, last, selected.
	EntryRule string `json:"entry_rule"`
	// Visibility is the phase's: public, hidden (until revealed),
	// organizers. Hidden is true when this viewer may not see the rows
	// (then Rows is empty and Note says why).
	Visibility string `json:"visibility"`
	Hidden     bool   `json:"hidden"`
	Dataset    string `json:"dataset"`
	Split      string `json:"split"` // the evaluated split: "validation" or "test"
	// Splits are the splits the phase's datasets cover, validation first:
	// with both, every gate applies as the rules write it, and the rows
	// carry psnr_val and psnr_test.
	Splits []string `json:"splits"`
	Rules  string   `json:"rules"`
	// GatesApplied and GatesSkipped list the rule set's gates this board
	// did and did not apply: it measures one split, so a gate on the other
	// split's PSNR cannot be checked here. When the rules have no gate on
	// this split's PSNR, such a gate is applied to the PSNR the board
	// measured instead, relative to the baseline (see measuredGates), and
	// its entry in GatesApplied says so.
	GatesApplied []string `json:"gates_applied"`
	GatesSkipped []string `json:"gates_skipped"`
	// Device is where the ranked results were measured: the newest
	// baseline's device (see rankBoard). Results from other devices are
	// listed unranked.
	Device string `json:"device"`
	Note   string `json:"note,omitempty"`
	// RuntimeNote says the runtimes are an organizer's final re-timing
	// ("final runtimes re-measured on HW with R repeats on DATE").
	RuntimeNote string      `json:"runtime_note,omitempty"`
	Rows        []LeaderRow `json:"rows"`
	// RuntimeBasis is what runtime_ms ranks: "raw" (measured) or "ratio"
	// (the ratio to the baseline × RuntimeReferenceMS); RuntimeBasisNote
	// says it in words; TimingProtocol is how the phase's runs are timed,
	// Threads with how many ONNX Runtime threads (omitted: each worker's).
	RuntimeBasis       string   `json:"runtime_basis,omitempty"`
	RuntimeReferenceMS *float64 `json:"runtime_reference_ms,omitempty"`
	RuntimeBasisNote   string   `json:"runtime_basis_note,omitempty"`
	TimingProtocol     string   `json:"timing_protocol,omitempty"`
	Threads            *int     `json:"threads,omitempty"`

	// rules are the rules as this board applied them (gates adapted to
	// its split), for re-ranking its rows as a results CSV.
	rules scoring.Rules
}

// AppliedRules are the rules the board was ranked with, its gates adapted
// to the split it measures; zero when nothing was ranked.
func (b Board) AppliedRules() scoring.Rules { return b.rules }

// fvcoreRules reports the FLOP counting rule a rule set was published with:
// NTIRE 2024 on use fvcore's, earlier challenges the KAIR hooks'.
func fvcoreRules(name string) bool {
	return name == "ntire2024" || name == "ntire2025" || name == "ntire2026"
}

// RankingEntry is a scored submission as the board of rule set rulesName
// ranks it (FLOPs counted by the rule the set was published with).
func RankingEntry(s store.Scored, split, rulesName string) scoring.Entry {
	e, _ := entryFor(s, split, fvcoreRules(rulesName))
	return e
}

// entryFor turns a scored submission into a ranking entry, in the units
// scoring's metrics use (params and activations in M, FLOPs in G, memory
// in MiB, runtime in ms).
func entryFor(s store.Scored, split string, fvcore bool) (scoring.Entry, LeaderRow) {
	res := s.Result
	p := ParseProfile(s.Profile)
	flops := p.FlopsKAIR
	if fvcore && p.FlopsFvcore != nil {
		flops = p.FlopsFvcore
	}
	row := LeaderRow{
		Name: s.TeamName, Baseline: s.IsBaseline, PSNR: res.PSNR, SSIM: res.SSIM,
		RuntimeMS: res.RuntimeMS, RuntimeStdMS: res.RuntimeStdMS, RuntimeMinMS: res.RuntimeMinMS, RuntimeMaxMS: res.RuntimeMaxMS,
		Repeats: res.Repeats, Warmup: res.Warmup, Device: res.Device, Params: p.Params, FLOPs: flops,
		Activations: p.Activations, ConvLayers: p.ConvLayers, MemoryMB: res.PeakMemoryMB, SubmittedAt: s.CreatedAt,
		FLOPsKAIR: p.FlopsKAIR, FLOPsFvcore: p.FlopsFvcore, Synthetic: s.Synthetic,
		submission: s.ID,
	}
	if s.IsBaseline || row.Name == "" {
		row.Name = cmpOr(s.Label, "baseline")
	}
	m := map[string]float64{scoring.MetricRuntime: res.RuntimeMS}
	set := func(k string, v *float64, div float64) {
		if v != nil {
			m[k] = *v / div
		}
	}
	if perSplit(res) {
		// Evaluated on every dataset of the phase: each split's own figures.
		row.PSNRVal, row.PSNRTest, row.RuntimeValMS, row.RuntimeTestMS = res.PSNRVal, res.PSNRTest, res.RuntimeValMS, res.RuntimeTestMS
		set(scoring.MetricPSNRVal, res.PSNRVal, 1)
		set(scoring.MetricPSNRTest, res.PSNRTest, 1)
		set(scoring.MetricRuntimeVal, res.RuntimeValMS, 1)
		set(scoring.MetricRuntimeTest, res.RuntimeTestMS, 1)
	} else if split == "test" {
		m[scoring.MetricPSNRTest], m[scoring.MetricRuntimeTest] = res.PSNR, res.RuntimeMS
		psnr, rt := res.PSNR, res.RuntimeMS
		row.PSNRTest, row.RuntimeTestMS = &psnr, &rt
	} else {
		m[scoring.MetricPSNRVal], m[scoring.MetricRuntimeVal] = res.PSNR, res.RuntimeMS
		psnr, rt := res.PSNR, res.RuntimeMS
		row.PSNRVal, row.RuntimeValMS = &psnr, &rt
	}
	set(scoring.MetricParams, p.Params, 1e6)
	set(scoring.MetricFLOPs, flops, 1e9)
	set(scoring.MetricActivations, p.Activations, 1e6)
	set(scoring.MetricConv, p.ConvLayers, 1)
	set(scoring.MetricMemory, res.PeakMemoryMB, 1)
	// Only a ratio board leaves the ratio on a result (ApplyRuntimeBasis).
	set(scoring.MetricRuntimeRatio, res.RuntimeRatio, 1)
	return scoring.Entry{ID: strconv.FormatInt(s.ID, 10), SubmittedAt: s.CreatedAt, Metrics: m, Baseline: s.IsBaseline}, row
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// rankBoard ranks the finished submissions and keeps one row per team. It
// returns the rows and the device the ranked results were measured on.
//
// Runtimes only compare on one device, so only results measured on the
// reference device are ranked: the newest baseline's device (the baseline
// is re-run wherever the challenge's queue points), or, with no baseline,
// the device most results have (the newest among equals). A user with no
// result on it shows their highest-PSNR result, unranked, with the reason.
//
// Which submission stands for a team: the caller has applied the phase's
// entry rule (pickEntries), so for "last" and "selected" each team has one
// candidate; for "best", its best-ranked one over all its comparable
// submissions, or with none ranked its highest-PSNR one, unranked, with the
// reason. Ranks are then recomputed among the chosen
// rows only, because rank-sum rules depend on the field. The newest finished
// baseline supplies the baseline metrics (the PSNR gate, exp-score
// denominators), overriding the rule set's published values; baselines are
// listed first, marked, and never ranked.
func rankBoard(rules scoring.Rules, split string, scored []store.Scored) ([]LeaderRow, string, error) {
	device := referenceDevice(scored)
	var same []store.Scored
	other := map[string]store.Scored{} // per owner: the highest-PSNR result on another device
	var otherOrder []string
	for _, s := range scored {
		if s.IsBaseline || s.Result.Device == device {
			same = append(same, s)
			continue
		}
		k := ownerKey(s)
		cur, seen := other[k]
		if !seen {
			otherOrder = append(otherOrder, k)
		}
		if !seen || cmpFloat(s.Result.PSNR, cur.Result.PSNR) > 0 {
			other[k] = s
		}
	}
	rows, err := rankSameDevice(rules, split, same)
	if err != nil {
		return nil, device, err
	}
	shown := map[string]bool{}
	for _, s := range same {
		shown[ownerKey(s)] = true
	}
	fv := fvcoreRules(rules.Name)
	for _, k := range otherOrder {
		if shown[k] {
			continue // the user has a comparable result; that one stands
		}
		s := other[k]
		_, row := entryFor(s, split, fv)
		row.Unranked = fmt.Sprintf("measured on a different device (%s), not comparable", cmpOr(s.Result.Device, "unrecorded"))
		rows = append(rows, row)
	}
	return rows, device, nil
}

// referenceDevice is the device ranked results must share: the newest
// baseline's, else the most common one (the newest among equals).
func referenceDevice(scored []store.Scored) string {
	for i := len(scored) - 1; i >= 0; i-- {
		if scored[i].IsBaseline {
			return scored[i].Result.Device
		}
	}
	n := map[string]int{}
	best, bestN := "", 0
	for _, s := range scored { // oldest first: >= lets the newer win ties
		n[s.Result.Device]++
		if c := n[s.Result.Device]; c >= bestN {
			best, bestN = s.Result.Device, c
		}
	}
	return best
}

// ownerKey identifies whose submission s is: a team, or the submission
// itself when it has none (a baseline).
func ownerKey(s store.Scored) string {
	if s.TeamID != nil {
		return "t" + strconv.FormatInt(*s.TeamID, 10)
	}
	return "s" + strconv.FormatInt(s.ID, 10)
}

// rankSameDevice is rankBoard over results of one device.
func rankSameDevice(rules scoring.Rules, split string, scored []store.Scored) ([]LeaderRow, error) {
	fv := fvcoreRules(rules.Name)
	entries := make([]scoring.Entry, len(scored))
	rows := make(map[string]LeaderRow, len(scored))
	var base map[string]float64
	for i, s := range scored {
		e, row := entryFor(s, split, fv)
		entries[i], rows[e.ID] = e, row
		if s.IsBaseline {
			base = e.Metrics // oldest first: the last baseline wins
		}
	}
	first, err := scoring.Rank(rules, base, entries)
	if err != nil {
		return nil, err
	}
	best := map[string]scoring.Ranked{}
	var order []string
	var baselines []int
	for _, rk := range first {
		if rk.Entry.Baseline {
			baselines = append(baselines, rk.Index)
			continue
		}
		k := ownerKey(scored[rk.Index])
		cur, seen := best[k]
		switch {
		case !seen:
			order = append(order, k)
			best[k] = rk
		case cur.Rank == 0 && rk.Rank == 0 && rk.Entry.Metrics[psnrKey(split)] > cur.Entry.Metrics[psnrKey(split)]:
			best[k] = rk
		}
	}
	chosen := make([]scoring.Entry, 0, len(order))
	for _, k := range order {
		chosen = append(chosen, best[k].Entry)
	}
	final, err := scoring.Rank(rules, base, chosen)
	if err != nil {
		return nil, err
	}
	out := make([]LeaderRow, 0, len(baselines)+len(final))
	for _, i := range baselines {
		row := rows[entries[i].ID]
		row.Unranked = "baseline"
		out = append(out, row)
	}
	for _, rk := range final {
		row := rows[rk.Entry.ID]
		row.Rank, row.Unranked = rk.Rank, rk.Unranked
		out = append(out, row)
	}
	return out, nil
}

func psnrKey(split string) string {
	if split == "test" {
		return scoring.MetricPSNRTest
	}
	return scoring.MetricPSNRVal
}

func unrankedRows(scored []store.Scored, split, reason string) []LeaderRow {
	out := make([]LeaderRow, 0, len(scored))
	for _, s := range scored {
		_, row := entryFor(s, split, false)
		row.Unranked = reason
		out = append(out, row)
	}
	slices.SortStableFunc(out, func(a, b LeaderRow) int {
		return -cmpFloat(a.PSNR, b.PSNR)
	})
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b || (math.IsNaN(a) && !math.IsNaN(b)):
		return -1
	case a > b || (!math.IsNaN(a) && math.IsNaN(b)):
		return 1
	}
	return 0
}

// otherSplitMetrics are, per evaluated split, the metrics a board on that
// split never measures: it has one PSNR and one runtime, of its own split.
var otherSplitMetrics = map[string][]string{
	"validation": {scoring.MetricPSNRTest, scoring.MetricRuntimeTest},
	"test":       {scoring.MetricPSNRVal, scoring.MetricRuntimeVal},
}

// boardGate is a gate as a board applies it.
type boardGate struct {
	scoring.Gate
	// InPlaceOf is the rules' metric when the gate was moved onto this
	// board's PSNR; "" for a gate applied as written.
	InPlaceOf string
}

func (g boardGate) describe() string {
	s := DescribeGate(g.Gate)
	if g.InPlaceOf != "" {
		s += fmt.Sprintf(" (gate applied to %s PSNR in place of %s PSNR)", splitOf(g.Metric), splitOf(g.InPlaceOf))
	}
	return s
}

func splitOf(metric string) string {
	if metric == scoring.MetricPSNRTest {
		return "test"
	}
	return "validation"
}

// measuredGates adapts the rules' gates to a board that measures one split.
// The NTIRE presets gate on both the validation and the test PSNR; applying
// both would fail everyone on the missing one ("psnr_test missing") and
// rank nobody, so the gate on the other split is dropped (and returned, so
// the page can say so) while this split's own gate applies.
//
// A rule set may gate only the other split's PSNR (AIM 2020 gates the
// validation PSNR; a test-only board measures the test PSNR). Dropping that
// gate would rank with no quality floor at all, and a model that outputs
// zeros quickly would come first. So such a gate is applied to this board's
// PSNR instead, relative to the baseline measured on the same images:
// a baseline-relative gate keeps its offset; an absolute gate becomes
// "the baseline's PSNR plus the rules' margin over their baseline on the
// other split" (min - baseline[other]), or just "at least the baseline's"
// when the rules publish no baseline for the other split. Without any
// baseline PSNR for this split, scoring leaves everyone unranked ("no
// baseline ... for the gate") rather than ranking ungated.
//
// r's gates are not modified (a new slice is returned).
func measuredGates(r scoring.Rules, split string) (scoring.Rules, []boardGate, []scoring.Gate) {
	own := psnrKey(split)
	hasOwn := slices.ContainsFunc(r.Gates, func(g scoring.Gate) bool { return g.Metric == own })
	var applied []boardGate
	var skipped []scoring.Gate
	for _, g := range r.Gates {
		switch {
		case !slices.Contains(otherSplitMetrics[split], g.Metric):
			applied = append(applied, boardGate{Gate: g})
		case !hasOwn && (g.Metric == scoring.MetricPSNRVal || g.Metric == scoring.MetricPSNRTest):
			moved := scoring.Gate{Metric: own, Min: g.Min, FromBaseline: true}
			if !g.FromBaseline {
				moved.Min = 0
				if b, ok := r.Baseline[g.Metric]; ok {
					moved.Min = g.Min - b
				}
			}
			applied = append(applied, boardGate{Gate: moved, InPlaceOf: g.Metric})
		default:
			skipped = append(skipped, g)
		}
	}
	r.Gates = make([]scoring.Gate, len(applied))
	for i, g := range applied {
		r.Gates[i] = g.Gate
	}
	return r, applied, skipped
}

// DescribeGate says a gate in words, e.g. "PSNR (validation) ≥ 28.91".
func DescribeGate(g scoring.Gate) string {
	if g.FromBaseline {
		s := MetricName(g.Metric) + " ≥ the baseline's"
		if g.Min != 0 {
			s += fmt.Sprintf(" %+.2f", g.Min)
		}
		return s
	}
	return fmt.Sprintf("%s ≥ %.2f", MetricName(g.Metric), g.Min)
}
