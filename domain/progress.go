package domain

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/srarena/srarena/store"
)

// ProgressPoint is one evaluated submission of a team in a phase.
type ProgressPoint struct {
	ID        int64
	Label     string // the label, else the method name
	At        time.Time
	PSNR      float64
	RuntimeMS float64
	Current   bool // stands for the team on the phase's board now
}

// TeamProgress is a team's own results over time in one phase, for the
// chart on its submissions page.
type TeamProgress struct {
	Phase, PhaseTitle string
	// Hidden: the team may not see this phase's scores yet (a hidden phase
	// before its reveal, an organizers-only phase); Points is then empty.
	Hidden bool
	// Visibility is the phase's (store.VisibilityHidden: until revealed;
	// or organizers only), to say why scores are hidden.
	Visibility string
	Points     []ProgressPoint // oldest first
	// Gate is the PSNR a result needs to be ranked on the board (NaN:
	// none); GateText says it in words.
	Gate     float64
	GateText string
	// BaselineRuntime is the board's baseline runtime in ms (NaN: none).
	BaselineRuntime float64
	// Entry is the submission that stands for the team on the board, by
	// the phase's entry rule, ranked or not (0: none, e.g. measured on
	// another device than the board's).
	Entry int64
}

// TeamProgress returns the viewer's team's progress per phase it has
// evaluated submissions in, in phase order; nil without a team. Scores
// follow the same visibility as everywhere (ScoresVisible): for a hidden
// phase before its reveal the team gets Hidden and no numbers, not even
// the gate measured from the hidden baseline.
func (s *Service) TeamProgress(ctx context.Context, v Viewer, slug string) ([]TeamProgress, error) {
	ci, err := s.Challenge(ctx, v, slug)
	if err != nil {
		return nil, err
	}
	if err := s.requireUser(v); err != nil {
		return nil, err
	}
	if ci.Team == nil {
		return nil, nil
	}
	subs, err := s.st.SubmissionsOfTeam(ctx, ci.Team.ID, 0)
	if err != nil {
		return nil, err
	}
	var out []TeamProgress
	for _, p := range ci.Phases {
		var mine []store.Scored
		for _, sub := range subs {
			if sub.PhaseID == p.ID && sub.Status == store.StatusFinished && sub.Result != nil && sub.HiddenReason == "" {
				mine = append(mine, sub)
			}
		}
		if len(mine) == 0 {
			continue
		}
		tp := TeamProgress{Phase: p.Name, PhaseTitle: cmpOr(p.Title, p.Name), Visibility: p.Visibility, Gate: math.NaN(), BaselineRuntime: math.NaN()}
		if !p.ScoresVisible {
			tp.Hidden = true
			out = append(out, tp)
			continue
		}
		b, err := s.board(ctx, ci, p)
		if err != nil {
			return nil, err
		}
		ids := map[int64]bool{}
		for _, sub := range mine {
			ids[sub.ID] = true
		}
		basePSNR := math.NaN()
		for _, r := range b.Rows {
			switch {
			case r.Baseline:
				basePSNR, tp.BaselineRuntime = r.PSNR, r.RuntimeMS // the newest baseline comes last
			case ids[r.submission]:
				tp.Entry = r.submission
			}
		}
		tp.Gate, tp.GateText = psnrGate(b, basePSNR)
		slices.SortFunc(mine, func(a, b store.Scored) int { return a.CreatedAt.Compare(b.CreatedAt) })
		for _, sub := range mine {
			tp.Points = append(tp.Points, ProgressPoint{ID: sub.ID, Label: cmpOr(sub.Label, sub.MethodName), At: sub.CreatedAt,
				PSNR: sub.Result.PSNR, RuntimeMS: sub.Result.RuntimeMS, Current: sub.ID == tp.Entry})
		}
		out = append(out, tp)
	}
	return out, nil
}

// psnrGate is the PSNR the board requires on its split, as applied (see
// measuredGates), with a baseline-relative gate resolved against the
// board's baseline (else the rule set's published one); NaN when the board
// has no such gate or its baseline is unknown.
func psnrGate(b Board, basePSNR float64) (float64, string) {
	key := psnrKey(b.Split)
	for _, g := range b.rules.Gates {
		if g.Metric != key {
			continue
		}
		if !g.FromBaseline {
			return g.Min, fmt.Sprintf("gate %.2f dB", g.Min)
		}
		base, from := basePSNR, "the baseline's"
		if math.IsNaN(base) {
			pub, ok := b.rules.Baseline[key]
			if !ok {
				return math.NaN(), ""
			}
			base, from = pub, "the published baseline's"
		}
		txt := fmt.Sprintf("gate %.2f dB (%s", base+g.Min, from)
		if g.Min != 0 {
			txt += fmt.Sprintf(" %+.2f", g.Min)
		}
		return base + g.Min, txt + ")"
	}
	return math.NaN(), ""
}
