package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"
)

// z975 is the 97.5 % standard normal quantile, for 95 % intervals.
const z975 = 1.959963984540054

// Interval is a confidence interval.
type Interval struct {
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
}

// Fit is a least-squares line y = Intercept + Slope·x fitted on log10 of both
// variables (points with a non-positive value are left out; N says how many
// were used), for the runtime-vs-metric charts.
type Fit struct {
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	N         int     `json:"n"`
}

// Correlation relates runtime (x) to one other metric (y).
//
// Intervals are 95 %, from the Fisher z transform z = atanh(r) ± 1.96·se,
// mapped back with tanh, with the usual standard errors: Pearson
// se = 1/√(n−3); Spearman se = √(1.06/(n−3)) and Kendall se = √(0.437/(n−4))
// (Fieller, Hartley & Pearson 1957). They are NaN when n is too small (n ≤ 3,
// Kendall n ≤ 4) or the coefficient is NaN; a coefficient of ±1 gives [r, r].
type Correlation struct {
	Metric     string   `json:"metric"`
	N          int      `json:"n"`
	Pearson    float64  `json:"pearson"`
	PearsonCI  Interval `json:"pearson_ci"`
	Spearman   float64  `json:"spearman"`
	SpearmanCI Interval `json:"spearman_ci"`
	Kendall    float64  `json:"kendall"` // τ-b
	KendallCI  Interval `json:"kendall_ci"`
	LogFit     Fit      `json:"log_fit"`
}

// Correlate computes the statistics of y against x over the pairs where both
// are finite. A coefficient is NaN when it is undefined (fewer than 2 pairs,
// or a constant variable).
func Correlate(metric string, x, y []float64) (Correlation, error) {
	if len(x) != len(y) {
		return Correlation{}, fmt.Errorf("%w: %d x values, %d y values", ErrInvalid, len(x), len(y))
	}
	var xs, ys []float64
	for i := range x {
		if isFinite(x[i]) && isFinite(y[i]) {
			xs, ys = append(xs, x[i]), append(ys, y[i])
		}
	}
	n := len(xs)
	c := Correlation{Metric: metric, N: n}
	c.Pearson = pearson(xs, ys)
	c.Spearman = pearson(AverageRanks(xs), AverageRanks(ys))
	c.Kendall = KendallTauB(xs, ys)
	c.PearsonCI = fisherCI(c.Pearson, 1/math.Sqrt(float64(n-3)), n > 3)
	c.SpearmanCI = fisherCI(c.Spearman, math.Sqrt(1.06/float64(n-3)), n > 3)
	c.KendallCI = fisherCI(c.Kendall, math.Sqrt(0.437/float64(n-4)), n > 4)
	c.LogFit = LogFit(xs, ys)
	return c, nil
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func pearson(x, y []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	r := stat.Correlation(x, y, nil)
	// Rounding can push |r| a hair past 1 for perfectly linear data.
	return math.Max(-1, math.Min(1, r))
}

func fisherCI(r, se float64, ok bool) Interval {
	if !ok || math.IsNaN(r) {
		return Interval{math.NaN(), math.NaN()}
	}
	if math.Abs(r) >= 1 {
		return Interval{r, r}
	}
	z := math.Atanh(r)
	return Interval{math.Tanh(z - z975*se), math.Tanh(z + z975*se)}
}

// AverageRanks returns 1-based ranks with ties given the mean of the ranks
// they span (scipy.stats.rankdata "average"), as Spearman's ρ needs.
func AverageRanks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpNaNLast(v[a], v[b]) })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// KendallTauB is Kendall's τ-b, (C − D)/√((n0 − n1)(n0 − n2)) with n1, n2
// the pairs tied in x and in y, as scipy.stats.kendalltau computes by
// default. gonum's stat.Kendall is τ-a and counts ties as concordant, so it
// is not used. O(n²), fine for leaderboard sizes.
func KendallTauB(x, y []float64) float64 {
	n := len(x)
	var conc, disc, tx, ty float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
				tx++
				ty++
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case (dx > 0) == (dy > 0):
				conc++
			default:
				disc++
			}
		}
	}
	n0 := float64(n) * float64(n-1) / 2
	den := math.Sqrt((n0 - tx) * (n0 - ty))
	if den == 0 {
		return math.NaN()
	}
	return (conc - disc) / den
}

// LogFit fits log10(y) = Intercept + Slope·log10(x) by least squares over
// the pairs where both are positive: the line of a log-log chart.
func LogFit(x, y []float64) Fit {
	var lx, ly []float64
	for i := range x {
		if x[i] > 0 && y[i] > 0 {
			lx, ly = append(lx, math.Log10(x[i])), append(ly, math.Log10(y[i]))
		}
	}
	f := Fit{N: len(lx), Slope: math.NaN(), Intercept: math.NaN()}
	if len(lx) < 2 || stat.Variance(lx, nil) == 0 {
		return f
	}
	f.Intercept, f.Slope = stat.LinearRegression(lx, ly, nil, false)
	return f
}

// runtimeColumns are the runtime columns of the results CSV; the first is
// the runtime all others are correlated against.
var runtimeColumns = []string{"ave_time_ms", "val_time_ms", "test_time_ms"}

// CorrelateResults correlates runtime (ave_time_ms) with every other numeric
// metric column of the table (ranks, sums, scores and the other runtime
// columns are not metrics), over the rows whose "ranked" column is 1 (all
// rows when there is no such column). Columns come in header order.
func CorrelateResults(t *Results) ([]Correlation, error) {
	xc := t.Col(runtimeColumns[0])
	if xc < 0 {
		return nil, fmt.Errorf("%w: results csv has no %s column", ErrInvalid, runtimeColumns[0])
	}
	rc := t.Col("ranked")
	var rows [][]string
	for _, row := range t.Rows {
		if rc < 0 || strings.TrimSpace(row[rc]) == "1" {
			rows = append(rows, row)
		}
	}
	num := func(s string) (float64, bool) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		return v, err == nil
	}
	x := make([]float64, len(rows))
	for i, row := range rows {
		v, ok := num(row[xc])
		if !ok {
			v = math.NaN()
		}
		x[i] = v
	}
	var out []Correlation
	for ci, h := range t.Header {
		if ci == xc || h == "ranked" || h == "team" || slices.Contains(runtimeColumns, h) ||
			strings.HasSuffix(h, "_rank") || strings.HasSuffix(h, "_sum") || strings.HasSuffix(h, "_score") {
			continue
		}
		y := make([]float64, len(rows))
		numeric := len(rows) > 0
		for i, row := range rows {
			v, ok := num(row[ci])
			if !ok {
				if strings.TrimSpace(row[ci]) != "" {
					numeric = false
					break
				}
				v = math.NaN()
			}
			y[i] = v
		}
		if !numeric {
			continue
		}
		name, ok := csvMetricColumns[h]
		if !ok {
			name = h
		}
		c, err := Correlate(name, x, y)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// MarshalJSON writes undefined (NaN) values as null, which encoding/json
// cannot do for a plain float64.
func (c Correlation) MarshalJSON() ([]byte, error) {
	type iv struct {
		Lo JSONFloat `json:"lo"`
		Hi JSONFloat `json:"hi"`
	}
	type fit struct {
		Slope     JSONFloat `json:"slope"`
		Intercept JSONFloat `json:"intercept"`
		N         int       `json:"n"`
	}
	return json.Marshal(struct {
		Metric     string    `json:"metric"`
		N          int       `json:"n"`
		Pearson    JSONFloat `json:"pearson"`
		PearsonCI  iv        `json:"pearson_ci"`
		Spearman   JSONFloat `json:"spearman"`
		SpearmanCI iv        `json:"spearman_ci"`
		Kendall    JSONFloat `json:"kendall"`
		KendallCI  iv        `json:"kendall_ci"`
		LogFit     fit       `json:"log_fit"`
	}{
		c.Metric, c.N,
		JSONFloat(c.Pearson), iv{JSONFloat(c.PearsonCI.Lo), JSONFloat(c.PearsonCI.Hi)},
		JSONFloat(c.Spearman), iv{JSONFloat(c.SpearmanCI.Lo), JSONFloat(c.SpearmanCI.Hi)},
		JSONFloat(c.Kendall), iv{JSONFloat(c.KendallCI.Lo), JSONFloat(c.KendallCI.Hi)},
		fit{JSONFloat(c.LogFit.Slope), JSONFloat(c.LogFit.Intercept), c.LogFit.N},
	})
}
