package analysis

import (
	"fmt"

	"github.com/srarena/srarena/charts"
)

// Chart is the measure's log-log scatter: one point per ranked row, the
// baselines highlighted, the least-squares line of the ranked rows. id must
// be unique on the page.
func (r Result) Chart(id string) []byte {
	label := r.Name
	if r.Unit != "" {
		label += " (" + r.Unit + ")"
	}
	s := charts.Scatter{ID: id, Title: "Runtime against " + r.Name,
		XLabel: label, YLabel: "runtime (ms)", LogX: true, LogY: true, Points: r.Points,
		HighlightLabel: "baseline (not in the statistics)"}
	s.Desc = fmt.Sprintf("Log-log scatter of runtime against %s, one point per ranked entry (n = %d). "+
		"Pearson r = %s, Spearman ρ = %s, Kendall τ-b = %s.", r.Name, r.N, Fixed4(r.Pearson), Fixed4(r.Spearman), Fixed4(r.Kendall))
	if isFinite(r.Fit.Slope) {
		s.Fit = &charts.Line{Slope: r.Fit.Slope, Intercept: r.Fit.Intercept}
		s.FitLabel = fmt.Sprintf("least squares: runtime ∝ %s^%.2f", r.Name, r.Fit.Slope)
		s.Desc += " The dashed line is the least-squares fit of log runtime on log " + r.Name + fmt.Sprintf(", slope %.3f.", r.Fit.Slope)
	}
	return s.SVG()
}

// Summary is the chart comparing the three coefficients with their 95 %
// intervals across the measures.
func (rep *Report) Summary(id string) []byte {
	c := charts.Coefficients{ID: id, Title: "How well each measure predicts runtime",
		Series: []string{"Pearson r", "Spearman ρ", "Kendall τ-b"}, Interval: "95 % CI",
		Desc: "Dot chart of the Pearson, Spearman and Kendall coefficients between runtime and each measure, " +
			"with 95 % confidence intervals as whiskers; further right means the measure tracks runtime more closely. " + rep.Verdict}
	for _, r := range rep.Results {
		c.Rows = append(c.Rows, charts.CoefRow{Label: r.Name, Estimates: []charts.Estimate{
			{V: r.Pearson, Lo: r.PearsonCI.Lo, Hi: r.PearsonCI.Hi},
			{V: r.Spearman, Lo: r.SpearmanCI.Lo, Hi: r.SpearmanCI.Hi},
			{V: r.Kendall, Lo: r.KendallCI.Lo, Hi: r.KendallCI.Hi},
		}})
	}
	return c.SVG()
}

func isFinite(v float64) bool { return v == v && v-v == 0 }
