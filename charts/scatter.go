package charts

import (
	"math"
	"slices"
	"strings"
)

// Point is one mark of a scatter chart.
type Point struct {
	X, Y  float64
	Label string // the team's name: in the point's <title>, shown on hover
	// Highlight marks the reference point (the baseline): drawn as a
	// diamond in another colour, and named in the legend.
	Highlight bool
}

// Line is y = Intercept + Slope·x, in log10 units on a log axis.
type Line struct{ Slope, Intercept float64 }

// Scatter is a scatter chart.
type Scatter struct {
	ID             string // unique on the page: the ids of <title> and <desc> derive from it
	Title, Desc    string
	XLabel, YLabel string
	LogX, LogY     bool
	Points         []Point
	// Fit, when set, is drawn across the plot: the least-squares line
	// (fitted on log10 of both axes for a log-log chart).
	Fit *Line
	// FitLabel names the line in the legend.
	FitLabel string
	// Front draws the Pareto front of the points: lowest X and highest Y
	// (runtime against PSNR: faster and better).
	Front bool
	// HighlightLabel names the highlighted point in the legend ("baseline").
	HighlightLabel string
	// XFmt and YFmt format values in the points' titles; nil: Num.
	XFmt, YFmt func(float64) string
}

// SVG renders the chart. Points that cannot be placed (NaN, or ≤ 0 on a log
// axis) are left out; the description should say how many were plotted.
func (s Scatter) SVG() []byte {
	f := frame{W: 640, H: 400, Left: 64, Right: 16, Top: 34, Bottom: 46}
	var xs, ys []float64
	var pts []Point
	for _, p := range s.Points {
		if usable(p.X, s.LogX) && usable(p.Y, s.LogY) {
			pts = append(pts, p)
			xs, ys = append(xs, p.X), append(ys, p.Y)
		}
	}
	ax := newAxis(xs, s.LogX, f.x0(), f.x1(), s.XLabel)
	ay := newAxis(ys, s.LogY, f.y0(), f.y1(), s.YLabel)
	xf, yf := s.XFmt, s.YFmt
	if xf == nil {
		xf = Num
	}
	if yf == nil {
		yf = Num
	}

	var b svg
	b.open(s.ID, f, s.Title, s.Desc)
	b.yAxis(f, ay)
	b.xAxis(f, ax)
	legendX := f.x0() + 4
	if s.Fit != nil && isFinite(s.Fit.Slope) && isFinite(s.Fit.Intercept) {
		if seg, ok := clipLine(*s.Fit, ax, ay); ok {
			b.printf(`<line class="fit" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="6 4"><title>%s</title></line>`,
				f1(ax.pos(seg[0])), f1(ay.pos(seg[1])), f1(ax.pos(seg[2])), f1(ay.pos(seg[3])), colFit, esc(s.FitLabel))
			legendX = b.legendLine(legendX, colFit, "6 4", s.FitLabel)
		}
	}
	if s.Front && len(pts) > 0 {
		front := ParetoFront(pts)
		var d strings.Builder
		for i, k := range front {
			x, y := ax.pos(pts[k].X), ay.pos(pts[k].Y)
			if i == 0 {
				d.WriteString("M" + f1(x) + " " + f1(y))
				continue
			}
			// A step: a faster point on the front is better in time, the
			// next one better in quality; the region in between is dominated.
			d.WriteString("H" + f1(x) + "V" + f1(y))
		}
		b.printf(`<path class="front" d="%s" fill="none" stroke="%s" stroke-width="2"><title>Pareto front: %d entries no other entry beats in both runtime and PSNR</title></path>`,
			d.String(), colFront, len(front))
		legendX = b.legendLine(legendX, colFront, "", "Pareto front")
	}
	b.WriteString(`<g class="points">`)
	var hi []Point // drawn last, on top
	for _, p := range pts {
		if p.Highlight {
			hi = append(hi, p)
			continue
		}
		b.marker(ax.pos(p.X), ay.pos(p.Y), false, p.Label+": "+s.XLabel+" "+xf(p.X)+", "+s.YLabel+" "+yf(p.Y))
	}
	for _, p := range hi {
		b.marker(ax.pos(p.X), ay.pos(p.Y), true, p.Label+": "+s.XLabel+" "+xf(p.X)+", "+s.YLabel+" "+yf(p.Y))
	}
	b.WriteString(`</g>`)
	if len(hi) > 0 && s.HighlightLabel != "" {
		b.printf(`<g aria-hidden="true"><path d="M%s 8l6 6l-6 6l-6-6z" fill="%s" stroke="%s"/><text x="%s" y="18" fill="%s">%s</text></g>`,
			f1(legendX+6), colHi, colFG, f1(legendX+16), colFG, esc(s.HighlightLabel))
	}
	if len(pts) == 0 {
		b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s">No data to plot.</text>`, f1((f.x0()+f.x1())/2), f1((f.y0()+f.y1())/2), colMuted)
	}
	b.close()
	return b.Bytes()
}

// legendLine draws a legend entry at the top and returns the next entry's x.
func (b *svg) legendLine(x float64, colour, dash, label string) float64 {
	b.printf(`<g aria-hidden="true"><line x1="%s" y1="14" x2="%s" y2="14" stroke="%s" stroke-width="2"`, f1(x), f1(x+24), colour)
	if dash != "" {
		b.printf(` stroke-dasharray="%s"`, dash)
	}
	b.printf(`/><text x="%s" y="18" fill="%s">%s</text></g>`, f1(x+30), colFG, esc(label))
	return x + 30 + 7*float64(len([]rune(label))) + 16
}

// clipLine returns the segment of the fitted line inside the plot's data
// range, as x0, y0, x1, y1 in data units.
func clipLine(l Line, ax, ay axis) ([4]float64, bool) {
	// Work in axis units (log10 on log axes), where the line is straight.
	y := func(x float64) float64 { return l.Intercept + l.Slope*x }
	x0, x1 := ax.lo, ax.hi
	y0, y1 := y(x0), y(x1)
	// Clip to the y range, moving x along the line.
	clip := func(xa, ya float64) (float64, float64) {
		switch {
		case ya < ay.lo && l.Slope != 0:
			return (ay.lo - l.Intercept) / l.Slope, ay.lo
		case ya > ay.hi && l.Slope != 0:
			return (ay.hi - l.Intercept) / l.Slope, ay.hi
		}
		return xa, ya
	}
	x0, y0 = clip(x0, y0)
	x1, y1 = clip(x1, y1)
	if y0 < ay.lo-1e-9 || y0 > ay.hi+1e-9 || x1 <= x0 {
		return [4]float64{}, false
	}
	un := func(v float64, log bool) float64 {
		if log {
			return math.Pow(10, v)
		}
		return v
	}
	return [4]float64{un(x0, ax.log), un(y0, ay.log), un(x1, ax.log), un(y1, ay.log)}, true
}

// ParetoFront returns the indices of the points no other point beats in
// both lower X and higher Y, ordered by X. Of equal points the first counts.
func ParetoFront(pts []Point) []int {
	idx := make([]int, 0, len(pts))
	for i, p := range pts {
		if !math.IsNaN(p.X) && !math.IsNaN(p.Y) {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case pts[a].X < pts[b].X:
			return -1
		case pts[a].X > pts[b].X:
			return 1
		case pts[a].Y > pts[b].Y: // equal X: the better Y first
			return -1
		case pts[a].Y < pts[b].Y:
			return 1
		}
		return 0
	})
	var out []int
	best := math.Inf(-1)
	for _, i := range idx {
		if pts[i].Y > best {
			out = append(out, i)
			best = pts[i].Y
		}
	}
	return out
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
