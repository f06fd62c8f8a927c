package scoring

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metric keys used by Entry.Metrics, Rules and the results CSV. Units are the
// ones the official tables print: runtime in ms, params and activations in M
// (10^6), FLOPs in G (10^9), memory in MiB (/1024²), PSNR in dB.
const (
	MetricPSNRVal     = "psnr_val"
	MetricPSNRTest    = "psnr_test"
	MetricRuntime     = "runtime_ms" // mean of the val and test per-image means
	MetricRuntimeVal  = "runtime_val_ms"
	MetricRuntimeTest = "runtime_test_ms"
	MetricParams      = "params"
	MetricFLOPs       = "flops"
	MetricActivations = "activations"
	MetricMemory      = "memory"
	MetricConv        = "conv_layers"
	// MetricRuntimeRatio is the runtime relative to the baseline, measured
	// directly (the baseline timed next to the submission, run by run):
	// what an exp-score runtime term uses instead of runtime/base when an
	// entry has it (Term.Ratio).
	MetricRuntimeRatio = "runtime_ratio"
)

// Track methods.
const (
	// MethodValue ranks by the value of the track's single term, ascending.
	MethodValue = "value"
	// MethodRankSum ranks each term's metric ascending over the eligible
	// entries, sums weight·rank, and ranks the sums ascending (NTIRE 2022/23).
	MethodRankSum = "rank_sum"
	// MethodExpScore computes Σ weight·exp(2·x/x_baseline) over the terms and
	// ranks the scores ascending (NTIRE 2024–2026).
	MethodExpScore = "exp_score"
)

// TieBreakSubmitted is the tie-break key meaning "earlier submission first".
// Other keys are a metric key (lower first) or "track:NAME" (lower value of
// that track's sum or score first).
const TieBreakSubmitted = "submitted_at"

// Rules is a ranking rule set: data a challenge stores (JSON), not code. The
// first track is the main one and gives Ranked.Rank.
type Rules struct {
	Name   string `json:"name"`
	Source string `json:"source,omitempty"` // where the rule comes from
	// Gates must all pass for an entry to be ranked.
	Gates []Gate `json:"gates,omitempty"`
	// Baseline holds the reference model's metrics: thresholds of gates with
	// FromBaseline and the denominators of exp scores. Values passed to Rank
	// override these per key.
	Baseline map[string]float64 `json:"baseline,omitempty"`
	// MetricTieBreak orders entries whose values tie in a per-metric rank
	// (rank_sum terms); without it they share the rank.
	MetricTieBreak []string `json:"metric_tie_break,omitempty"`
	Tracks         []Track  `json:"tracks"`
}

// Gate requires Metric ≥ Min, or ≥ baseline[Metric] + Min when FromBaseline.
// A missing or NaN value fails the gate.
type Gate struct {
	Metric       string  `json:"metric"`
	Min          float64 `json:"min"`
	FromBaseline bool    `json:"from_baseline,omitempty"`
}

// Track is one leaderboard (main track or sub-track).
type Track struct {
	Name   string `json:"name"`
	Method string `json:"method"` // MethodValue, MethodRankSum or MethodExpScore
	Terms  []Term `json:"terms"`
	// TieBreak keys are compared in order when two track values are equal;
	// entries still equal share the rank (standard competition: 1,1,3).
	TieBreak []string `json:"tie_break,omitempty"`
}

// Term is one metric of a track; Weight 0 means 1.
type Term struct {
	Metric string  `json:"metric"`
	Weight float64 `json:"weight,omitempty"`
	// Ratio, in an exp-score term, names a metric that already is Metric
	// relative to the baseline (MetricRuntimeRatio): an entry that has it
	// scores exp(2·ratio) instead of exp(2·x/x_baseline), so a runtime
	// measured next to the baseline on a busy machine is not divided by a
	// baseline runtime measured at another moment.
	Ratio string `json:"ratio,omitempty"`
}

func (t Term) weight() float64 {
	if t.Weight == 0 {
		return 1
	}
	return t.Weight
}

// Entry is one submission's measured metrics.
type Entry struct {
	ID          string             `json:"id"`
	SubmittedAt time.Time          `json:"submitted_at,omitzero"`
	Metrics     map[string]float64 `json:"metrics"`
	// Baseline marks the reference model's row: shown, never ranked.
	Baseline bool `json:"baseline,omitempty"`
}

// TrackResult is an entry's standing in one track.
type TrackResult struct {
	Name  string  `json:"name"`
	Rank  int     `json:"rank"`  // 1-based; 0 when the entry is unranked
	Value float64 `json:"value"` // metric value, rank sum or score; NaN if missing
}

// Ranked is the outcome for one entry.
type Ranked struct {
	Entry Entry `json:"entry"`
	// Index is the entry's position in the slice given to Rank.
	Index int `json:"index"`
	// Rank is the main (first) track's rank; 0 for an unranked entry.
	Rank int `json:"rank"`
	// Tracks has one result per rule track, in rule order.
	Tracks []TrackResult `json:"tracks"`
	// MetricRanks holds the per-metric ranks used by rank_sum tracks.
	MetricRanks map[string]int `json:"metric_ranks,omitempty"`
	// Unranked says why the entry is not ranked ("" when it is).
	Unranked string `json:"unranked,omitempty"`
}

// Validate checks a rule set for unknown methods, empty tracks and dangling
// tie-break references.
func (r Rules) Validate() error {
	if len(r.Tracks) == 0 {
		return fmt.Errorf("%w: rules %q have no tracks", ErrInvalid, r.Name)
	}
	names := map[string]bool{}
	for _, t := range r.Tracks {
		if t.Name == "" || names[t.Name] {
			return fmt.Errorf("%w: rules %q: empty or duplicate track name %q", ErrInvalid, r.Name, t.Name)
		}
		names[t.Name] = true
	}
	for _, t := range r.Tracks {
		switch t.Method {
		case MethodValue:
			if len(t.Terms) != 1 {
				return fmt.Errorf("%w: track %q: method value needs exactly one term", ErrInvalid, t.Name)
			}
		case MethodRankSum, MethodExpScore:
			if len(t.Terms) == 0 {
				return fmt.Errorf("%w: track %q has no terms", ErrInvalid, t.Name)
			}
		default:
			return fmt.Errorf("%w: track %q: unknown method %q", ErrInvalid, t.Name, t.Method)
		}
		for _, term := range t.Terms {
			if term.Metric == "" || math.IsNaN(term.Weight) || math.IsInf(term.Weight, 0) {
				return fmt.Errorf("%w: track %q: bad term %+v", ErrInvalid, t.Name, term)
			}
		}
		for _, k := range t.TieBreak {
			if tn, ok := strings.CutPrefix(k, "track:"); ok && (!names[tn] || tn == t.Name) {
				return fmt.Errorf("%w: track %q: tie-break %q names no other track", ErrInvalid, t.Name, k)
			}
		}
	}
	for _, k := range r.MetricTieBreak {
		if strings.HasPrefix(k, "track:") {
			return fmt.Errorf("%w: metric_tie_break %q: per-metric ranks come before tracks", ErrInvalid, k)
		}
	}
	for _, g := range r.Gates {
		if g.Metric == "" {
			return fmt.Errorf("%w: gate without metric", ErrInvalid)
		}
	}
	return nil
}

// Rank applies rules to entries. baseline overrides r.Baseline per key (nil
// keeps the rule's values). The result lists ranked entries by main-track
// rank (input order among equals), then unranked ones in input order.
//
// Missing or NaN metric values rank last (sharing the last rank); an exp
// score with a missing term is NaN and ranks last. A gate failure, a
// baseline row, or an exp-score track whose baseline value is missing makes
// the entry unranked with the reason in Ranked.Unranked (the latter is an
// error, since no entry could be scored).
func Rank(r Rules, baseline map[string]float64, entries []Entry) ([]Ranked, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	base := make(map[string]float64, len(r.Baseline)+len(baseline))
	for k, v := range r.Baseline {
		base[k] = v
	}
	for k, v := range baseline {
		base[k] = v
	}
	for _, t := range r.Tracks {
		if t.Method != MethodExpScore {
			continue
		}
		for _, term := range t.Terms {
			if b, ok := base[term.Metric]; !ok || !(b > 0) || math.IsInf(b, 0) {
				return nil, fmt.Errorf("%w: track %q needs a positive baseline %s", ErrInvalid, t.Name, term.Metric)
			}
		}
	}

	out := make([]Ranked, len(entries))
	var elig []int // indices into out of the entries that are ranked
	for i, e := range entries {
		out[i] = Ranked{Entry: e, Index: i, Tracks: make([]TrackResult, len(r.Tracks))}
		for ti, t := range r.Tracks {
			out[i].Tracks[ti] = TrackResult{Name: t.Name, Value: math.NaN()}
		}
		if reason := gateReason(r.Gates, base, e); reason != "" {
			out[i].Unranked = reason
			continue
		}
		elig = append(elig, i)
	}

	// Per-metric ranks for rank_sum terms, over eligible entries only.
	metricRank := map[string]map[int]int{}
	for _, t := range r.Tracks {
		if t.Method != MethodRankSum {
			continue
		}
		for _, term := range t.Terms {
			if _, done := metricRank[term.Metric]; done {
				continue
			}
			m := term.Metric
			ranks := competitionRanks(elig, func(i int) float64 { return metricValue(entries[i], m) },
				func(a, b int) int { return tieBreak(r.MetricTieBreak, entries, out, r.Tracks, a, b) })
			metricRank[m] = ranks
		}
	}
	for _, i := range elig {
		for m, ranks := range metricRank {
			if out[i].MetricRanks == nil {
				out[i].MetricRanks = map[string]int{}
			}
			out[i].MetricRanks[m] = ranks[i]
		}
	}

	// Track values first (tie-breaks may refer to other tracks' values),
	// then track ranks.
	for ti, t := range r.Tracks {
		for _, i := range elig {
			out[i].Tracks[ti].Value = trackValue(t, entries[i], metricRank, base, i)
		}
	}
	for ti, t := range r.Tracks {
		ranks := competitionRanks(elig, func(i int) float64 { return out[i].Tracks[ti].Value },
			func(a, b int) int { return tieBreak(t.TieBreak, entries, out, r.Tracks, a, b) })
		for _, i := range elig {
			out[i].Tracks[ti].Rank = ranks[i]
		}
	}
	for _, i := range elig {
		out[i].Rank = out[i].Tracks[0].Rank
	}

	slices.SortStableFunc(out, func(a, b Ranked) int {
		switch {
		case a.Rank > 0 && b.Rank > 0:
			return cmp.Compare(a.Rank, b.Rank)
		case a.Rank > 0:
			return -1
		case b.Rank > 0:
			return 1
		}
		return 0
	})
	return out, nil
}

func metricValue(e Entry, m string) float64 {
	v, ok := e.Metrics[m]
	if !ok {
		return math.NaN()
	}
	return v
}

// gateReason says in words why an entry fails its gates ("" when it
// passes): "PSNR 4.72 dB is below the baseline's 37.33 dB".
func gateReason(gates []Gate, base map[string]float64, e Entry) string {
	if e.Baseline {
		return "baseline"
	}
	var reasons []string
	for _, g := range gates {
		min := g.Min
		if g.FromBaseline {
			b, ok := base[g.Metric]
			if !ok || math.IsNaN(b) {
				reasons = append(reasons, fmt.Sprintf("no baseline %s to compare with yet", MetricWords(g.Metric)))
				continue
			}
			min += b
		}
		v := metricValue(e, g.Metric)
		switch {
		case math.IsNaN(v):
			reasons = append(reasons, fmt.Sprintf("no %s was measured", MetricWords(g.Metric)))
		case v < min:
			reasons = append(reasons, belowGate(g, v, min, base[g.Metric]))
		}
	}
	return strings.Join(reasons, "; ")
}

// MetricWords names a metric for people: "PSNR" (validation, the usual
// case), "test PSNR", "runtime".
func MetricWords(m string) string {
	switch m {
	case MetricPSNRVal:
		return "PSNR"
	case MetricPSNRTest:
		return "test PSNR"
	case MetricRuntime, MetricRuntimeVal:
		return "runtime"
	case MetricRuntimeTest:
		return "test runtime"
	case MetricParams:
		return "parameters (M)"
	case MetricFLOPs:
		return "FLOPs (G)"
	case MetricActivations:
		return "activations (M)"
	case MetricMemory:
		return "memory (MiB)"
	case MetricConv:
		return "conv layers"
	}
	return m
}

func isPSNR(m string) bool { return m == MetricPSNRVal || m == MetricPSNRTest }

// belowGate words a failed gate; two decimals, more when two different
// values would print alike.
func belowGate(g Gate, v, min, base float64) string {
	prec := 2
	for prec < 6 && strconv.FormatFloat(v, 'f', prec, 64) == strconv.FormatFloat(min, 'f', prec, 64) {
		prec++
	}
	num := func(x float64) string {
		s := strconv.FormatFloat(x, 'f', prec, 64)
		if isPSNR(g.Metric) {
			s += " dB"
		}
		return s
	}
	what := MetricWords(g.Metric) + " " + num(v) + " is below "
	switch {
	case g.FromBaseline && g.Min == 0:
		return what + "the baseline's " + num(base)
	case g.FromBaseline:
		sign := "+"
		if g.Min < 0 {
			sign = "−"
		}
		return what + "the baseline's " + num(base) + " " + sign + " " + strings.TrimPrefix(num(math.Abs(g.Min)), "-") + " = " + num(min)
	}
	return what + "the required " + num(min)
}

func trackValue(t Track, e Entry, metricRank map[string]map[int]int, base map[string]float64, i int) float64 {
	switch t.Method {
	case MethodValue:
		return metricValue(e, t.Terms[0].Metric)
	case MethodRankSum:
		var s float64
		for _, term := range t.Terms {
			s += float64(term.weight() * float64(metricRank[term.Metric][i]))
		}
		return s
	default: // MethodExpScore
		var s float64
		for _, term := range t.Terms {
			if r, ok := e.Metrics[term.Ratio]; ok && term.Ratio != "" {
				s += float64(term.weight() * math.Exp(2*r))
				continue
			}
			s += float64(term.weight() * math.Exp(2*metricValue(e, term.Metric)/base[term.Metric]))
		}
		return s // NaN when a term is missing
	}
}

// tieBreak compares entries a and b by the keys in order; 0 means still tied.
func tieBreak(keys []string, entries []Entry, out []Ranked, tracks []Track, a, b int) int {
	for _, k := range keys {
		var c int
		switch {
		case k == TieBreakSubmitted:
			ta, tb := entries[a].SubmittedAt, entries[b].SubmittedAt
			if !ta.IsZero() && !tb.IsZero() {
				c = ta.Compare(tb)
			}
		case strings.HasPrefix(k, "track:"):
			name := strings.TrimPrefix(k, "track:")
			for ti, t := range tracks {
				if t.Name == name {
					c = cmpNaNLast(out[a].Tracks[ti].Value, out[b].Tracks[ti].Value)
				}
			}
		default:
			c = cmpNaNLast(metricValue(entries[a], k), metricValue(entries[b], k))
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// cmpNaNLast orders ascending with NaN after every number.
func cmpNaNLast(x, y float64) int {
	xn, yn := math.IsNaN(x), math.IsNaN(y)
	switch {
	case xn && yn:
		return 0
	case xn:
		return 1
	case yn:
		return -1
	}
	return cmp.Compare(x, y)
}

// competitionRanks ranks the indices by value ascending (NaN last), using
// tie to order equal values; entries equal under both share the rank and
// the next rank skips (standard competition ranking, 1,1,3).
func competitionRanks(idx []int, value func(int) float64, tie func(a, b int) int) map[int]int {
	order := slices.Clone(idx)
	full := func(a, b int) int {
		if c := cmpNaNLast(value(a), value(b)); c != 0 {
			return c
		}
		return tie(a, b)
	}
	slices.SortStableFunc(order, full)
	ranks := make(map[int]int, len(order))
	for pos, i := range order {
		if pos > 0 && full(order[pos-1], i) == 0 {
			ranks[i] = ranks[order[pos-1]]
		} else {
			ranks[i] = pos + 1
		}
	}
	return ranks
}

// MarshalJSON writes a NaN value (unranked or missing) as null.
func (t TrackResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Name  string    `json:"name"`
		Rank  int       `json:"rank"`
		Value JSONFloat `json:"value"`
	}{t.Name, t.Rank, JSONFloat(t.Value)})
}
