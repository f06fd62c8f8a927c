// Package analysis answers the question the AIM 2020 and NTIRE efficient-SR
// reports keep asking — which complexity measure predicts runtime? — for one
// results table: the Pearson, Spearman and Kendall coefficients of runtime
// against each measure with their 95 % intervals (scoring's code, the very
// numbers `srarena correlate` prints), a log-log chart per measure, a summary
// chart and a sentence saying which measure predicts best and how sure that
// is. The same report serves a challenge's leaderboard, a reference table
// shipped with srarena and a table a visitor uploads.
package analysis

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/srarena/srarena/charts"
	"github.com/srarena/srarena/scoring"
)

// Measure is a complexity measure the analysis relates to runtime.
type Measure struct {
	Column string // results CSV column
	Name   string // in words, for headings and sentences
	Unit   string // of the column's values, for axis labels
}

// Measures are the columns the page analyses, in page order. flops_g is the
// FLOPs column of srarena rank's CSV (counted by the rule set's own rule);
// a table that has both flops_kair_g and flops_fvcore_g (a challenge's
// leaderboard.csv) is analysed with those two instead.
var Measures = []Measure{
	{"params_m", "parameters", "M"},
	{"flops_g", "FLOPs", "G"},
	{"flops_kair_g", "FLOPs (KAIR rule)", "G"},
	{"flops_fvcore_g", "FLOPs (fvcore rule)", "G"},
	{"acts_m", "activations", "M"},
	{"mem_mb", "memory", "MB"},
	{"conv", "conv layers", ""},
}

// runtimeColumn is the runtime every measure is related to.
const runtimeColumn = "ave_time_ms"

// Result is one measure's analysis.
type Result struct {
	Measure
	scoring.Correlation
	// Points are the ranked rows (in the statistics) and the baselines
	// (highlighted, not in the statistics): X the measure, Y the runtime.
	Points []charts.Point
	// Fit is log10(runtime) = Intercept + Slope·log10(measure) over the
	// ranked rows (the Correlation's LogFit is the other way round, as the
	// JSON of srarena correlate has it).
	Fit scoring.Fit
}

// Report is the analysis of one table.
type Report struct {
	Title string
	// Correlations is scoring.CorrelateResults of the table: exactly what
	// `srarena correlate --json` prints and POST /api/v1/analysis returns.
	Correlations []scoring.Correlation
	Results      []Result // the Measures the table has, in Measures order
	Ranked       int      // rows in the statistics
	Baselines    int      // rows drawn highlighted, outside the statistics
	Excluded     int      // other rows: unranked or not competing
	Verdict      string   // which measure predicts runtime best, and how sure
}

// Analyze analyses a results table (the columns srarena rank reads). The
// statistics use the rows whose "ranked" cell is 1 (all rows when the column
// is absent), as `srarena correlate` does; rows the table marks as
// baselines (see scoring.Results.Entries) are drawn highlighted.
func Analyze(title string, t *scoring.Results) (*Report, error) {
	cs, err := scoring.CorrelateResults(t)
	if err != nil {
		return nil, err
	}
	entries, err := t.Entries()
	if err != nil {
		return nil, err
	}
	rep := &Report{Title: title, Correlations: cs}
	rc, tc, xc := t.Col("ranked"), t.Col("team"), t.Col(runtimeColumn)
	in := make([]bool, len(t.Rows))
	for i, row := range t.Rows {
		switch {
		case rc < 0 || strings.TrimSpace(row[rc]) == "1":
			in[i] = true
			rep.Ranked++
		case entries[i].Baseline:
			rep.Baselines++
		default:
			rep.Excluded++
		}
	}
	byMetric := map[string]scoring.Correlation{}
	for _, c := range cs {
		byMetric[c.Metric] = c
	}
	both := t.Col("flops_kair_g") >= 0 && t.Col("flops_fvcore_g") >= 0
	for _, m := range Measures {
		mc := t.Col(m.Column)
		if mc < 0 || (both && m.Column == "flops_g") {
			continue
		}
		c, ok := byMetric[metricKey(m.Column)]
		if !ok { // a column CorrelateResults found non-numeric
			continue
		}
		res := Result{Measure: m, Correlation: c}
		var fx, fy []float64
		for i, row := range t.Rows {
			if !in[i] && !entries[i].Baseline {
				continue
			}
			x, y := num(row[mc]), num(row[xc])
			res.Points = append(res.Points, charts.Point{X: x, Y: y, Label: row[tc], Highlight: entries[i].Baseline && !in[i]})
			if in[i] {
				fx, fy = append(fx, x), append(fy, y)
			}
		}
		res.Fit = scoring.LogFit(fx, fy)
		rep.Results = append(rep.Results, res)
	}
	rep.Verdict = verdict(rep.Results)
	return rep, nil
}

// metricKey is the metric name CorrelateResults gives a column.
func metricKey(col string) string {
	if k, ok := scoring.ResultsMetric(col); ok {
		return k
	}
	return col
}

func num(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// verdict names the measure with the highest Spearman ρ (runtime and a
// complexity measure need not be linear, but should rise together; a
// negative ρ predicts nothing useful) and says how sure that is from the
// 95 % intervals: separated from every other measure's, overlapping some
// (named), or too few rows for intervals at all.
func verdict(rs []Result) string {
	var ok []Result
	for _, r := range rs {
		if !math.IsNaN(r.Spearman) {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return "Too few ranked entries with runtimes to say which measure predicts runtime."
	}
	slices.SortStableFunc(ok, func(a, b Result) int {
		switch {
		case a.Spearman > b.Spearman:
			return -1
		case a.Spearman < b.Spearman:
			return 1
		}
		return 0
	})
	best := ok[0]
	s := fmt.Sprintf("Of the measures here, %s predicts runtime best: Spearman ρ = %s", best.Name, Fixed4(best.Spearman))
	if math.IsNaN(best.SpearmanCI.Lo) {
		return s + fmt.Sprintf(" over n = %d entries, too few for a 95 %% interval, so how sure this is cannot be said.", best.N)
	}
	s += fmt.Sprintf(" (95 %% CI %s to %s, n = %d)", Fixed4(best.SpearmanCI.Lo), Fixed4(best.SpearmanCI.Hi), best.N)
	if best.Spearman <= 0 {
		return s + ", yet no measure rises with runtime in this table, so none predicts it."
	}
	var overlap, below []string
	for _, r := range rs { // page order
		if r.Column == best.Column || math.IsNaN(r.Spearman) {
			continue
		}
		if math.IsNaN(r.SpearmanCI.Hi) || r.SpearmanCI.Hi >= best.SpearmanCI.Lo {
			overlap = append(overlap, fmt.Sprintf("%s (ρ = %s)", r.Name, Fixed4(r.Spearman)))
		} else {
			below = append(below, r.Name)
		}
	}
	switch {
	case len(overlap) == 0 && len(below) > 0:
		s += fmt.Sprintf(". Its interval lies above every other measure's (%s), so at this sample size it is clearly the best predictor.", strings.Join(below, ", "))
	case len(overlap) > 0:
		s += fmt.Sprintf(". Its interval overlaps that of %s, so at this sample size it is not clearly better than %s",
			strings.Join(overlap, " and "), plural(len(overlap), "that measure", "those measures"))
		if len(below) > 0 {
			s += fmt.Sprintf("; it is clearly better than %s, whose intervals lie entirely below", strings.Join(below, ", "))
		}
		s += "."
	default:
		s += "."
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Fixed4 writes a coefficient to 4 decimals with a real minus sign; NaN is
// a dash.
func Fixed4(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(v, 'f', 4, 64)
	if strings.HasPrefix(s, "-") {
		s = "−" + s[1:]
	}
	return s
}
