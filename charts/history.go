package charts

import (
	"math"
	"strconv"
	"time"
)

// Day is one day of a history chart.
type Day struct {
	Day   time.Time // the day (UTC midnight)
	Count int       // submissions that day
	// Best is the best score reached by the end of the day (NaN: none yet).
	Best float64
}

// History is a history chart: submissions per day as bars (right axis) and
// the best score so far as a stepped line (left axis), like CodaLab's.
type History struct {
	ID, Title, Desc string
	ScoreLabel      string // the left axis: e.g. "best PSNR (dB)"
	Days            []Day  // consecutive days, oldest first
	ScoreFmt        func(float64) string
}

// SVG renders the chart.
func (h History) SVG() []byte {
	f := frame{W: 640, H: 320, Left: 64, Right: 56, Top: 34, Bottom: 46}
	sf := h.ScoreFmt
	if sf == nil {
		sf = Num
	}
	var best []float64
	maxCount := 1
	for _, d := range h.Days {
		best = append(best, d.Best)
		maxCount = max(maxCount, d.Count)
	}
	ay := newAxis(best, false, f.y0(), f.y1(), h.ScoreLabel)
	n := max(len(h.Days), 1)
	slot := (f.x1() - f.x0()) / float64(n)
	xAt := func(i int) float64 { return f.x0() + slot*(float64(i)+0.5) }

	var b svg
	b.open(h.ID, f, h.Title, h.Desc)
	b.yAxis(f, ay)
	// Bottom axis: days, labelled sparsely.
	b.WriteString(`<g class="axis x" aria-hidden="true">`)
	every := max(1, int(math.Ceil(float64(n)/8)))
	for i, d := range h.Days {
		if i%every != 0 && i != n-1 {
			continue
		}
		b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s">%s</text>`, f1(xAt(i)), f1(f.y0()+18), colFG, d.Day.UTC().Format("Jan 2"))
	}
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, f1(f.x0()), f1(f.y0()), f1(f.x1()), f1(f.y0()), colFG)
	b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s" font-weight="600">day (UTC)</text>`, f1((f.x0()+f.x1())/2), f1(f.H-8), colFG)
	b.WriteString(`</g>`)
	// Right axis: submissions per day.
	cStep := niceStep(float64(maxCount) / 4)
	cMax := math.Ceil(float64(maxCount)/cStep) * cStep
	cy := func(c float64) float64 { return f.y0() - c/cMax*(f.y0()-f.y1()) }
	b.WriteString(`<g class="axis y2" aria-hidden="true">`)
	for t := 0.0; t <= cMax+cStep/2; t += cStep {
		b.printf(`<text x="%s" y="%s" fill="%s">%s</text>`, f1(f.x1()+8), f1(cy(t)+4), colMuted, strconv.FormatFloat(t, 'f', -1, 64))
	}
	cyMid := (f.y0() + f.y1()) / 2
	b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s" transform="rotate(90 %s %s)">submissions per day</text>`,
		f1(f.W-12), f1(cyMid), colMuted, f1(f.W-12), f1(cyMid))
	b.WriteString(`</g>`)
	// Bars.
	bw := math.Max(1, slot*0.6)
	for i, d := range h.Days {
		if d.Count == 0 {
			continue
		}
		top := cy(float64(d.Count))
		b.printf(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="#c7d2e8"><title>%s: %d submission(s)</title></rect>`,
			f1(xAt(i)-bw/2), f1(top), f1(bw), f1(f.y0()-top), d.Day.UTC().Format("2006-01-02"), d.Count)
	}
	// Best-so-far line, stepped, with a mark on each day that improved it.
	var path string
	prev := math.NaN()
	for i, d := range h.Days {
		if !isFinite(d.Best) {
			continue
		}
		x, y := xAt(i), ay.pos(d.Best)
		if path == "" {
			path = "M" + f1(x-slot/2) + " " + f1(y) + "H" + f1(x)
		} else {
			path += "H" + f1(x) + "V" + f1(y)
		}
		if d.Best != prev {
			b.printf(`<circle class="pt" cx="%s" cy="%s" r="3.5" fill="%s" stroke="%s"><title>%s: best %s</title></circle>`,
				f1(x), f1(y), colAccent, colFG, d.Day.UTC().Format("2006-01-02"), esc(sf(d.Best)))
		}
		prev = d.Best
	}
	if path != "" {
		path += "H" + f1(f.x1())
		b.printf(`<path class="best" d="%s" fill="none" stroke="%s" stroke-width="2" aria-hidden="true"/>`, path, colAccent)
	}
	if len(h.Days) == 0 {
		b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s">No submissions yet.</text>`, f1((f.x0()+f.x1())/2), f1((f.y0()+f.y1())/2), colMuted)
	}
	b.close()
	return b.Bytes()
}
