package charts

import (
	"math"
)

// Estimate is a coefficient with its confidence interval; NaN bounds draw
// no whisker, a NaN value no mark.
type Estimate struct{ V, Lo, Hi float64 }

// CoefRow is one metric of a coefficient chart: one estimate per series.
type CoefRow struct {
	Label     string
	Estimates []Estimate // in the order of Coefficients.Series
}

// Coefficients is a dot chart of correlation coefficients on [−1, 1]: one
// row per metric, one mark per coefficient (series) with its interval as a
// whisker.
type Coefficients struct {
	ID, Title, Desc string
	Series          []string // e.g. Pearson r, Spearman ρ, Kendall τ-b
	Rows            []CoefRow
	Interval        string // e.g. "95 % CI", for the marks' titles
}

// series colours and shapes: distinct in hue and in shape.
var seriesStyle = []struct{ colour, shape string }{
	{"#2456c8", "circle"}, {"#b45309", "square"}, {"#18794e", "triangle"}, {"#7c3aed", "circle"},
}

// SVG renders the chart.
func (c Coefficients) SVG() []byte {
	rowH := 18.0 * float64(max(len(c.Series), 1))
	f := frame{W: 640, Left: 150, Right: 20, Top: 40, Bottom: 46}
	f.H = f.Top + f.Bottom + rowH*float64(max(len(c.Rows), 1)) + 8*float64(len(c.Rows))
	ax := axis{lo: -1, hi: 1, p0: f.x0(), p1: f.x1(), label: "coefficient (runtime vs the metric)", tickText: fmtTick}
	for t := -1.0; t <= 1.0001; t += 0.25 {
		ax.ticks = append(ax.ticks, math.Round(t*100)/100)
	}
	var b svg
	b.open(c.ID, f, c.Title, c.Desc)
	b.xAxis(f, ax)
	zx := ax.pos(0)
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5" aria-hidden="true"/>`, f1(zx), f1(f.y1()), f1(zx), f1(f.y0()), colMuted)
	// Legend.
	lx := f.x0()
	for si, name := range c.Series {
		st := seriesStyle[si%len(seriesStyle)]
		b.WriteString(`<g aria-hidden="true">`)
		shape(&b, lx+6, 16, st.shape, st.colour)
		b.printf(`<text x="%s" y="20" fill="%s">%s</text></g>`, f1(lx+16), colFG, esc(name))
		lx += 16 + 7.5*float64(len([]rune(name))) + 20
	}
	y := f.y1() + 4
	for _, row := range c.Rows {
		b.printf(`<text x="%s" y="%s" text-anchor="end" fill="%s">%s</text>`, f1(f.x0()-8), f1(y+rowH/2+4), colFG, esc(row.Label))
		for si, e := range row.Estimates {
			if si >= len(c.Series) {
				break
			}
			st := seriesStyle[si%len(seriesStyle)]
			cy := y + 9 + 18*float64(si)
			if isFinite(e.Lo) && isFinite(e.Hi) {
				b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" aria-hidden="true"/>`,
					f1(ax.pos(clamp1(e.Lo))), f1(cy), f1(ax.pos(clamp1(e.Hi))), f1(cy), st.colour)
			}
			if !isFinite(e.V) {
				continue
			}
			title := row.Label + ", " + c.Series[si] + " = " + fixed4(e.V)
			if isFinite(e.Lo) && isFinite(e.Hi) {
				title += ", " + c.Interval + " [" + fixed4(e.Lo) + ", " + fixed4(e.Hi) + "]"
			}
			b.printf(`<g class="coef">`)
			shape(&b, ax.pos(clamp1(e.V)), cy, st.shape, st.colour)
			b.printf(`<title>%s</title></g>`, esc(title))
		}
		y += rowH + 8
	}
	b.close()
	return b.Bytes()
}

func clamp1(v float64) float64 { return math.Max(-1, math.Min(1, v)) }

// fixed4 writes a coefficient to 4 decimals with a real minus sign.
func fixed4(v float64) string {
	if !isFinite(v) {
		return "–"
	}
	s := formatFixed(v, 4)
	if s[0] == '-' {
		s = "−" + s[1:]
	}
	return s
}

func shape(b *svg, x, y float64, kind, colour string) {
	switch kind {
	case "square":
		b.printf(`<rect x="%s" y="%s" width="9" height="9" fill="%s" stroke="%s"/>`, f1(x-4.5), f1(y-4.5), colour, colFG)
	case "triangle":
		b.printf(`<path d="M%s %sl5.5 9.5h-11z" fill="%s" stroke="%s"/>`, f1(x), f1(y-5.5), colour, colFG)
	default:
		b.printf(`<circle cx="%s" cy="%s" r="5" fill="%s" stroke="%s"/>`, f1(x), f1(y), colour, colFG)
	}
}
