package domain

import (
	"math"
	"strconv"

	"github.com/srarena/srarena/store"
)

// Runtime basis of a board (issue #10 §4): a phase ranks either the
// measured runtime (raw) or the runtime ratio to the baseline timed next
// to each submission, times the baseline's reference runtime (ratio). On
// a busy machine the ratio is what stays put: both models are slowed
// alike. With the ratio basis each result's runtime becomes
// ratio × reference before ranking (so value tracks, rank sums and the
// leaderboard.csv read by `srarena rank` all see it), and exp-score terms
// that can take the ratio directly (scoring.Term.Ratio) get it as the
// runtime_ratio metric.

// RuntimeBasisInfo is what a board says about its runtime column.
type RuntimeBasisInfo struct {
	Basis string // store.RuntimeRaw or store.RuntimeRatio
	// ReferenceMS is the reference runtime the ratios multiply (NaN on a
	// raw board, and on a ratio board with no reference yet); FromBaseline
	// says it is the newest baseline's measured runtime, not a set value.
	ReferenceMS  float64
	FromBaseline bool
	// raw holds each submission's measured runtime and ratio, for the rows.
	raw map[int64]rawRuntime
}

type rawRuntime struct {
	runtimeMS float64
	ratio     *float64
	cv        *float64
}

// Note is the basis in words: "runtime = ratio to baseline × 12.3 ms
// reference".
func (b RuntimeBasisInfo) Note() string {
	return RuntimeBasisNote(b.Basis, b.ReferenceMS, b.FromBaseline)
}

// ApplyRuntimeBasis returns scored as the phase's board ranks it: on a
// ratio basis each result (a copy; the input is not changed) has RuntimeMS
// = RuntimeRatio × the reference, a baseline's ratio being 1; results
// without a ratio (measured before the phase had a baseline) come back in
// noRatio, to be listed unranked. On a raw basis results keep their
// runtime and drop the ratio, so that no score uses it.
func ApplyRuntimeBasis(p store.Phase, scored []store.Scored) (out, noRatio []store.Scored, info RuntimeBasisInfo) {
	info = RuntimeBasisInfo{Basis: store.RuntimeRaw, ReferenceMS: math.NaN(), raw: map[int64]rawRuntime{}}
	for _, s := range scored {
		if s.Result != nil {
			info.raw[s.ID] = rawRuntime{s.Result.RuntimeMS, s.Result.RuntimeRatio, s.Result.RuntimeRatioCV}
		}
	}
	if p.RuntimeBasis != store.RuntimeRatio {
		out = make([]store.Scored, len(scored))
		for i, s := range scored {
			out[i] = s
			if s.Result != nil && s.Result.RuntimeRatio != nil {
				r := *s.Result
				r.RuntimeRatio = nil
				out[i].Result = &r
			}
		}
		return out, nil, info
	}
	info.Basis = store.RuntimeRatio
	if p.RuntimeReferenceMS != nil {
		info.ReferenceMS = *p.RuntimeReferenceMS
	} else {
		for i := len(scored) - 1; i >= 0; i-- { // oldest first: the newest baseline
			if scored[i].IsBaseline && scored[i].Result != nil && scored[i].Result.RuntimeMS > 0 {
				info.ReferenceMS, info.FromBaseline = scored[i].Result.RuntimeMS, true
				break
			}
		}
	}
	for _, s := range scored {
		if s.Result == nil {
			continue
		}
		r := *s.Result
		switch {
		case r.RuntimeSet:
			// The organizers set this runtime (a manual override or a
			// final re-timing): it is the ranked runtime on every basis,
			// and its ratio follows from it.
			r.RuntimeRatio = nil
			if info.ReferenceMS > 0 {
				q := r.RuntimeMS / info.ReferenceMS
				r.RuntimeRatio = &q
			}
			s.Result = &r
			out = append(out, s)
			continue
		case s.IsBaseline:
			one := 1.0
			r.RuntimeRatio = &one
		case r.RuntimeRatio == nil || !(*r.RuntimeRatio > 0) || math.IsNaN(info.ReferenceMS):
			noRatio = append(noRatio, s)
			continue
		}
		r.RuntimeMS = *r.RuntimeRatio * info.ReferenceMS
		if math.IsNaN(info.ReferenceMS) {
			r.RuntimeMS = math.NaN()
		}
		// The per-split runtimes (a phase with validation and test sets)
		// go on the same basis: the ratio is measured over the whole
		// evaluation, so each is scaled by the same factor.
		if raw := s.Result.RuntimeMS; raw > 0 {
			f := r.RuntimeMS / raw
			r.RuntimeValMS, r.RuntimeTestMS = scaled(r.RuntimeValMS, f), scaled(r.RuntimeTestMS, f)
		}
		s.Result = &r
		out = append(out, s)
	}
	return out, noRatio, info
}

// annotate fills each row's measured runtime and ratio (shown next to the
// ranked runtime on every basis).
func (b RuntimeBasisInfo) annotate(rows []LeaderRow) {
	for i := range rows {
		raw, ok := b.raw[rows[i].submission]
		if !ok {
			continue
		}
		rt := raw.runtimeMS
		rows[i].RawRuntimeMS = &rt
		rows[i].RuntimeRatio, rows[i].RuntimeRatioCV = raw.ratio, raw.cv
	}
}

// NoRatioReason is why a result is unranked on a ratio board.
const NoRatioReason = "no runtime ratio: measured without the baseline beside it (re-run it to rank it)"

// setRuntimeBasis records the phase's runtime basis and protocol on b.
func (b *Board) setRuntimeBasis(p store.Phase, info RuntimeBasisInfo) {
	b.RuntimeBasis, b.TimingProtocol, b.RuntimeBasisNote, b.Threads = info.Basis, p.TimingProtocol, info.Note(), p.Threads
	if !math.IsNaN(info.ReferenceMS) {
		ref := info.ReferenceMS
		b.RuntimeReferenceMS = &ref
	}
}

// rawCell is a submission's measured runtime as a CSV cell.
func (b RuntimeBasisInfo) rawCell(id int64) string {
	raw, ok := b.raw[id]
	if !ok || math.IsNaN(raw.runtimeMS) || math.IsInf(raw.runtimeMS, 0) {
		return ""
	}
	return strconv.FormatFloat(raw.runtimeMS, 'f', -1, 64)
}

func scaled(v *float64, f float64) *float64 {
	if v == nil {
		return nil
	}
	x := *v * f
	return &x
}
