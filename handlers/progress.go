package handlers

import (
	"context"
	"fmt"
	"math"

	"github.com/srarena/srarena/charts"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/templates"
)

// progress draws the team's progress charts, one per phase it has
// evaluated submissions in; only the team's members reach this page, and
// the domain leaves out the scores of phases they may not see yet.
func (h *SubmissionPages) progress(ctx context.Context, vw domain.Viewer, slug string) ([]templates.ProgressChart, error) {
	tps, err := h.Domain.TeamProgress(ctx, vw, slug)
	if err != nil {
		return nil, err
	}
	var out []templates.ProgressChart
	for i, tp := range tps {
		pc := templates.ProgressChart{Phase: tp.PhaseTitle}
		if tp.Hidden {
			pc.Hidden = "The scores of this phase are hidden until the organizers reveal them, so your progress here is not shown yet."
			if tp.Visibility != store.VisibilityHidden {
				pc.Hidden = "The scores of this phase are shown to its organizers only, so your progress here is not shown."
			}
			out = append(out, pc)
			continue
		}
		c := charts.Progress{ID: fmt.Sprintf("progress-%d", i), Title: "Your team's submissions in " + tp.PhaseTitle,
			Gate: tp.Gate, GateText: tp.GateText, BaselineRuntime: tp.BaselineRuntime}
		var entry *domain.ProgressPoint
		for j, p := range tp.Points {
			c.Points = append(c.Points, charts.ProgressPoint{ID: p.ID, Label: p.Label, At: p.At, PSNR: p.PSNR, RuntimeMS: p.RuntimeMS, Current: p.Current})
			if p.Current {
				entry = &tp.Points[j]
			}
		}
		c.Desc = progressDesc(tp, entry)
		pc.SVG, pc.Caption = string(c.SVG()), c.Desc
		out = append(out, pc)
	}
	return out, nil
}

// progressDesc says the chart in a sentence: the chart's <desc> and the
// caption under its heading.
func progressDesc(tp domain.TeamProgress, entry *domain.ProgressPoint) string {
	s := fmt.Sprintf("PSNR (top) and runtime (bottom) of your team's %d evaluated submission(s), oldest first.", len(tp.Points))
	if !math.IsNaN(tp.Gate) {
		below := 0
		for _, p := range tp.Points {
			if !(p.PSNR >= tp.Gate) {
				below++
			}
		}
		s += fmt.Sprintf(" Dashed: the %s that ranking requires (%d below it, drawn hollow)", tp.GateText, below)
		if !math.IsNaN(tp.BaselineRuntime) {
			s += fmt.Sprintf(" and the baseline's runtime, %s ms", charts.Num(tp.BaselineRuntime))
		}
		s += "."
	} else if !math.IsNaN(tp.BaselineRuntime) {
		s += fmt.Sprintf(" Dashed: the baseline's runtime, %s ms.", charts.Num(tp.BaselineRuntime))
	}
	if entry != nil {
		s += fmt.Sprintf(" Diamond: your current entry on the leaderboard, #%d (PSNR %.2f dB, %s ms).", entry.ID, entry.PSNR, charts.Num(entry.RuntimeMS))
	} else {
		s += " None of them stands for your team on the leaderboard yet."
	}
	return s
}
