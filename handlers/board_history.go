package handlers

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/srarena/srarena/charts"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// HistoryStore is what the history chart reads.
type HistoryStore interface {
	FinishedWithResults(ctx context.Context, phaseID, datasetID int64) ([]store.Scored, error)
	PhaseSubmissionsPerDay(ctx context.Context, phaseID int64) ([]store.DayCount, error)
}

// maxHistoryDays bounds the chart: the last this many days are shown.
const maxHistoryDays = 120

// history is the phase's history chart, CodaLab style: submissions per day
// and the best main-track value reached by the end of each day, among the
// results the board would rank (same device, past the gates). A main track
// whose value depends on the field (a rank sum) has no per-day value; the
// chart then follows the best PSNR past the gates. It returns the SVG and a
// caption; "" when the phase is unknown or hidden.
func history(ctx context.Context, st HistoryStore, c domain.ChallengeInfo, b domain.Board, base map[string]float64, now time.Time) (string, string, error) {
	if st == nil || b.Hidden {
		return "", "", nil
	}
	var ph *domain.PhaseInfo
	for i := range c.Phases {
		if c.Phases[i].Name == b.Phase {
			ph = &c.Phases[i]
		}
	}
	if ph == nil {
		return "", "", nil
	}
	ds, ok := ph.Primary()
	if !ok {
		return "", "", nil
	}
	counts, err := st.PhaseSubmissionsPerDay(ctx, ph.ID)
	if err != nil {
		return "", "", err
	}
	scored, err := st.FinishedWithResults(ctx, ph.ID, ds.ID)
	if err != nil {
		return "", "", err
	}
	scored, _, _ = domain.ApplyRuntimeBasis(ph.Phase, scored) // the board's runtimes
	rules := b.AppliedRules()
	label, lowerBetter, byTrack := "best PSNR so far (dB)", false, false
	if len(rules.Tracks) > 0 {
		switch main := rules.Tracks[0]; {
		case main.Method == scoring.MethodValue && main.Terms[0].Metric == scoring.MetricRuntime:
			label, lowerBetter, byTrack = "fastest runtime so far (ms)", true, true
		case main.Method != scoring.MethodRankSum:
			label, lowerBetter, byTrack = "best "+main.Name+" so far (lower is better)", true, true
		}
	}
	day := func(t time.Time) time.Time {
		t = t.UTC()
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	bestOn := map[time.Time]float64{}
	for _, s := range scored {
		if s.IsBaseline || s.Result == nil || s.Result.Device != b.Device {
			continue
		}
		e := domain.RankingEntry(s, b.Split, b.Rules)
		v := s.Result.PSNR
		if len(rules.Tracks) > 0 {
			rk, err := scoring.Rank(rules, base, []scoring.Entry{e})
			if err != nil || rk[0].Rank == 0 {
				continue // gated, or unrankable
			}
			if byTrack {
				v = rk[0].Tracks[0].Value
			}
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		d := day(s.CreatedAt)
		if cur, ok := bestOn[d]; !ok || (lowerBetter && v < cur) || (!lowerBetter && v > cur) {
			bestOn[d] = v
		}
	}
	if len(counts) == 0 {
		return "", "", nil
	}
	first, last := counts[0].Day, day(now)
	if l := counts[len(counts)-1].Day; l.After(last) {
		last = l
	}
	if ph.ClosesAt != nil && ph.ClosesAt.Before(last) {
		last = day(*ph.ClosesAt)
	}
	if last.Sub(first) > maxHistoryDays*24*time.Hour {
		first = last.AddDate(0, 0, -maxHistoryDays+1)
	}
	n := map[time.Time]int{}
	for _, dc := range counts {
		n[dc.Day] = dc.Count
	}
	best := math.NaN()
	for d := range bestOn { // results before the window still set the level
		if d.Before(first) {
			v := bestOn[d]
			if math.IsNaN(best) || (lowerBetter && v < best) || (!lowerBetter && v > best) {
				best = v
			}
		}
	}
	var days []charts.Day
	total := 0
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if v, ok := bestOn[d]; ok && (math.IsNaN(best) || (lowerBetter && v < best) || (!lowerBetter && v > best)) {
			best = v
		}
		days = append(days, charts.Day{Day: d, Count: n[d], Best: best})
		total += n[d]
	}
	h := charts.History{ID: "history", Title: "Submissions per day and the best result so far", ScoreLabel: label, Days: days,
		Desc: fmt.Sprintf("Bars: submissions per UTC day (%d in %d days). Line: the %s among results the board ranks.", total, len(days), label)}
	return string(h.SVG()), fmt.Sprintf("Bars: submissions per day (%d in all); line: the %s, among results past the gates on the board's device.", total, label), nil
}
