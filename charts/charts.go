// Package charts draws srarena's charts as SVG on the server: a log-log
// scatter with a least-squares line, a dot chart of correlation coefficients
// with their intervals, a runtime-versus-PSNR chart with its Pareto front and
// a history chart. No chart library: the output is plain, deterministic SVG
// (golden-tested), sharp at any zoom, printable, and accessible — every chart
// is role="img" with a <title> and a <desc>, every point has its own <title>
// (shown on hover), and colours come with shapes so they survive greyscale.
//
// Styling is by presentation attributes only: the site's Content-Security-
// Policy forbids inline style, and an SVG saved on its own must still look
// right.
package charts

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Colours of the site's palette (static/style.css).
const (
	colFG     = "#1d2430"
	colMuted  = "#5b6575"
	colLine   = "#dde2ea"
	colAccent = "#2456c8"
	colHi     = "#b45309" // highlighted point (baseline): amber, drawn as a diamond
	colFit    = "#b42318"
	colFront  = "#18794e"
	font      = `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"`
)

// Frame is the plot area inside a chart's viewBox.
type frame struct {
	W, H                     float64 // viewBox size
	Left, Right, Top, Bottom float64 // margins
}

func (f frame) x0() float64 { return f.Left }
func (f frame) x1() float64 { return f.W - f.Right }
func (f frame) y0() float64 { return f.H - f.Bottom } // bottom of the plot, in SVG y
func (f frame) y1() float64 { return f.Top }

// axis maps data values to one pixel range, linearly or on log10.
type axis struct {
	lo, hi   float64 // data range (log10 of it when log)
	p0, p1   float64 // pixel range
	log      bool
	ticks    []float64 // in data units
	label    string
	tickText func(float64) string
}

func (a axis) pos(v float64) float64 {
	if a.log {
		v = math.Log10(v)
	}
	if a.hi == a.lo {
		return (a.p0 + a.p1) / 2
	}
	return a.p0 + (v-a.lo)/(a.hi-a.lo)*(a.p1-a.p0)
}

// newAxis fits an axis to vals (finite, and positive when log), with ticks.
func newAxis(vals []float64, log bool, p0, p1 float64, label string) axis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vals {
		if !usable(v, log) {
			continue
		}
		if log {
			v = math.Log10(v)
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if math.IsInf(lo, 0) { // no data: a unit range
		lo, hi = 0, 1
	}
	a := axis{p0: p0, p1: p1, log: log, label: label}
	if log {
		if hi-lo < 1e-9 {
			lo, hi = lo-0.5, hi+0.5
		}
		pad := (hi - lo) * 0.06
		a.lo, a.hi = lo-pad, hi+pad
		a.ticks = logTicks(a.lo, a.hi)
		a.tickText = fmtTick
		return a
	}
	if hi-lo < 1e-12 {
		d := math.Max(math.Abs(lo)*0.05, 1e-3)
		lo, hi = lo-d, hi+d
	}
	step := niceStep((hi - lo) / 5)
	a.lo, a.hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	for t := a.lo; t <= a.hi+step/2; t += step {
		a.ticks = append(a.ticks, roundTo(t, step))
	}
	a.tickText = fmtTick
	return a
}

func usable(v float64, log bool) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && (!log || v > 0)
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func roundTo(v, step float64) float64 {
	digits := math.Max(0, -math.Floor(math.Log10(step))+1)
	p := math.Pow(10, digits)
	return math.Round(v*p) / p
}

// logTicks are the powers of ten within [lo, hi] (log10 units), with 2× and
// 5× between them when the range spans less than three decades, so that a
// narrow axis still has labels.
func logTicks(lo, hi float64) []float64 {
	mults := []float64{1}
	if hi-lo < 3 {
		mults = []float64{1, 2, 5}
	}
	var out []float64
	for e := math.Floor(lo); e <= math.Ceil(hi); e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if l := math.Log10(v); l >= lo-1e-9 && l <= hi+1e-9 {
				out = append(out, v)
			}
		}
	}
	if len(out) < 2 { // less than a factor of 2: label the ends
		out = []float64{math.Pow(10, lo), math.Pow(10, hi)}
	}
	return out
}

// fmtTick writes a tick value short: 0.001, 0.5, 20, 1k, 30M, 2G.
func fmtTick(v float64) string {
	av := math.Abs(v)
	switch {
	case av >= 1e9:
		return trimNum(v/1e9, 3) + "G"
	case av >= 1e6:
		return trimNum(v/1e6, 3) + "M"
	case av >= 1e4:
		return trimNum(v/1e3, 3) + "k"
	}
	return trimNum(v, 3)
}

// trimNum writes v with at most sig significant digits and no trailing zeros.
func trimNum(v float64, sig int) string {
	if v == 0 {
		return "0"
	}
	s := strconv.FormatFloat(v, 'g', sig, 64)
	if strings.ContainsAny(s, "e") { // 'g' switched to exponent form: spell it out
		s = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return s
}

// Num formats a value for text in a chart or beside it: up to 4 significant
// digits.
func Num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return trimNum(v, 4)
}

// f1 writes a pixel coordinate with one decimal: sharp enough, and stable
// for golden files.
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func esc(s string) string { return html.EscapeString(s) }

// svg accumulates a chart.
type svg struct{ bytes.Buffer }

func (b *svg) printf(format string, args ...any) { fmt.Fprintf(&b.Buffer, format, args...) }

// open writes the root element with the accessible name and description.
func (b *svg) open(id string, f frame, title, desc string) {
	b.printf(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 %s %s" role="img" aria-labelledby="%s-title %s-desc" id="%s" %s font-size="12">`,
		f1(f.W), f1(f.H), esc(id), esc(id), esc(id), font)
	b.printf(`<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
	b.printf(`<rect x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`, f1(f.W), f1(f.H))
}

func (b *svg) close() { b.WriteString("</svg>") }

// xAxis draws the bottom axis: grid lines, ticks, labels and the title.
func (b *svg) xAxis(f frame, a axis) {
	b.WriteString(`<g class="axis x" aria-hidden="true">`)
	for _, t := range a.ticks {
		x := a.pos(t)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(x), f1(f.y1()), f1(x), f1(f.y0()), colLine)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(x), f1(f.y0()), f1(x), f1(f.y0()+5), colFG)
		b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, f1(x), f1(f.y0()+18), colFG, esc(a.tickText(t)))
	}
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(f.x0()), f1(f.y0()), f1(f.x1()), f1(f.y0()), colFG)
	b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s" font-weight="600">%s</text>`,
		f1((f.x0()+f.x1())/2), f1(f.H-8), colFG, esc(a.label))
	b.WriteString(`</g>`)
}

// yAxis draws the left axis.
func (b *svg) yAxis(f frame, a axis) {
	b.WriteString(`<g class="axis y" aria-hidden="true">`)
	for _, t := range a.ticks {
		y := a.pos(t)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(f.x0()), f1(y), f1(f.x1()), f1(y), colLine)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(f.x0()-5), f1(y), f1(f.x0()), f1(y), colFG)
		b.printf(`<text x="%s" y="%s" text-anchor="end" fill="%s">%s</text>`, f1(f.x0()-8), f1(y+4), colFG, esc(a.tickText(t)))
	}
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(f.x0()), f1(f.y1()), f1(f.x0()), f1(f.y0()), colFG)
	cy := (f.y0() + f.y1()) / 2
	b.printf(`<text x="14" y="%s" text-anchor="middle" fill="%s" font-weight="600" transform="rotate(-90 14 %s)">%s</text>`,
		f1(cy), colFG, f1(cy), esc(a.label))
	b.WriteString(`</g>`)
}

// marker draws one point: a circle, or a larger diamond when highlighted.
func (b *svg) marker(x, y float64, hi bool, title string) {
	if hi {
		b.printf(`<path class="pt hi" d="M%s %sl7 7l-7 7l-7-7z" fill="%s" stroke="%s" stroke-width="1.5"><title>%s</title></path>`,
			f1(x), f1(y-7), colHi, colFG, esc(title))
		return
	}
	b.printf(`<circle class="pt" cx="%s" cy="%s" r="4" fill="%s" fill-opacity="0.75" stroke="%s" stroke-width="1"><title>%s</title></circle>`,
		f1(x), f1(y), colAccent, colFG, esc(title))
}

func formatFixed(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
