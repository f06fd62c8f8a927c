package charts

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// ProgressPoint is one evaluated submission of a team.
type ProgressPoint struct {
	ID        int64
	Label     string // the submission's label or method, may be ""
	At        time.Time
	PSNR      float64
	RuntimeMS float64
	// Current marks the submission that stands for the team on the board.
	Current bool
}

// Progress is a team's own progress in one phase: the PSNR (top panel) and
// runtime (bottom panel) of each evaluated submission, oldest first, with
// the phase's gate on the PSNR and the baseline's runtime as dashed lines
// and the team's current entry drawn as a diamond. Submissions below the
// gate are hollow, so the chart reads in greyscale too.
type Progress struct {
	ID, Title, Desc string
	Points          []ProgressPoint // oldest first
	// Gate is the PSNR a result needs to be ranked (NaN: no gate); GateText
	// names it on the chart, e.g. "gate 37.33 dB (the baseline's)".
	Gate     float64
	GateText string
	// BaselineRuntime is the baseline's runtime in ms (NaN: none).
	BaselineRuntime float64
}

// SVG renders the chart.
func (p Progress) SVG() []byte {
	const W, H = 640.0, 440.0
	top := frame{W: W, H: H, Left: 64, Right: 24, Top: 40, Bottom: H - 200}
	bot := frame{W: W, H: H, Left: 64, Right: 24, Top: 236, Bottom: 46}
	var psnr, rt []float64
	for _, pt := range p.Points {
		psnr, rt = append(psnr, pt.PSNR), append(rt, pt.RuntimeMS)
	}
	if isFinite(p.Gate) {
		psnr = append(psnr, p.Gate)
	}
	if isFinite(p.BaselineRuntime) {
		rt = append(rt, p.BaselineRuntime)
	}
	ay := newAxis(psnr, false, top.y0(), top.y1(), "PSNR (dB)")
	ar := newAxis(rt, false, bot.y0(), bot.y1(), "runtime (ms)")
	n := max(len(p.Points), 1)
	slot := (top.x1() - top.x0()) / float64(n)
	xAt := func(i int) float64 { return top.x0() + slot*(float64(i)+0.5) }

	var b svg
	b.open(p.ID, frame{W: W, H: H}, p.Title, p.Desc)
	// Legend, in words and shapes.
	b.WriteString(`<g class="legend" aria-hidden="true">`)
	b.printf(`<circle cx="72" cy="16" r="4" fill="%s" stroke="%s"/><text x="80" y="20" fill="%s">submission</text>`, colAccent, colFG, colFG)
	b.printf(`<circle cx="166" cy="16" r="4" fill="#ffffff" stroke="%s" stroke-width="1.5"/><text x="174" y="20" fill="%s">below the gate</text>`, colAccent, colFG)
	b.printf(`<path d="M282 9l7 7l-7 7l-7-7z" fill="%s" stroke="%s"/><text x="293" y="20" fill="%s">current entry</text>`, colHi, colFG, colFG)
	b.printf(`<line x1="388" y1="16" x2="412" y2="16" stroke="%s" stroke-width="2" stroke-dasharray="6 4"/><text x="418" y="20" fill="%s">gate / baseline</text>`, colFit, colFG)
	b.WriteString(`</g>`)
	yAxisPanel(&b, top, ay)
	yAxisPanel(&b, bot, ar)
	// Bottom axis: submission ids, labelled sparsely.
	b.WriteString(`<g class="axis x" aria-hidden="true">`)
	every := max(1, int(math.Ceil(float64(n)/10)))
	for i, pt := range p.Points {
		if i%every != 0 && i != n-1 {
			continue
		}
		b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s">#%d</text>`, f1(xAt(i)), f1(bot.y0()+18), colFG, pt.ID)
	}
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, f1(top.x0()), f1(top.y0()), f1(top.x1()), f1(top.y0()), colFG)
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s"/>`, f1(bot.x0()), f1(bot.y0()), f1(bot.x1()), f1(bot.y0()), colFG)
	b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s" font-weight="600">submission, oldest first</text>`, f1((bot.x0()+bot.x1())/2), f1(H-8), colFG)
	b.WriteString(`</g>`)
	// Reference lines.
	if isFinite(p.Gate) {
		y := ay.pos(p.Gate)
		b.printf(`<line class="gate" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"><title>%s</title></line>`,
			f1(top.x0()), f1(y), f1(top.x1()), f1(y), colFit, esc(p.GateText))
		b.printf(`<text x="%s" y="%s" text-anchor="end" fill="%s" aria-hidden="true">%s</text>`, f1(top.x1()-4), f1(y-5), colFit, esc(p.GateText))
	}
	if isFinite(p.BaselineRuntime) {
		y := ar.pos(p.BaselineRuntime)
		txt := "baseline " + Num(p.BaselineRuntime) + " ms"
		b.printf(`<line class="baseline" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"><title>%s</title></line>`,
			f1(bot.x0()), f1(y), f1(bot.x1()), f1(y), colFit, esc(txt))
		b.printf(`<text x="%s" y="%s" text-anchor="end" fill="%s" aria-hidden="true">%s</text>`, f1(bot.x1()-4), f1(y-5), colFit, esc(txt))
	}
	// The two series, joined in order, then their points.
	series := func(val func(ProgressPoint) float64, a axis) {
		var path string
		for i, pt := range p.Points {
			v := val(pt)
			if !isFinite(v) {
				continue
			}
			cmd := "L"
			if path == "" {
				cmd = "M"
			}
			path += cmd + f1(xAt(i)) + " " + f1(a.pos(v))
		}
		if path != "" {
			b.printf(`<path d="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-opacity="0.6" aria-hidden="true"/>`, path, colAccent)
		}
		for i, pt := range p.Points {
			v := val(pt)
			if !isFinite(v) {
				continue
			}
			x, y := xAt(i), a.pos(v)
			title := p.pointTitle(pt)
			switch {
			case pt.Current:
				b.marker(x, y, true, title)
			case isFinite(p.Gate) && !(pt.PSNR >= p.Gate):
				b.printf(`<circle class="pt below" cx="%s" cy="%s" r="4" fill="#ffffff" stroke="%s" stroke-width="1.5"><title>%s</title></circle>`,
					f1(x), f1(y), colAccent, esc(title))
			default:
				b.marker(x, y, false, title)
			}
		}
	}
	series(func(pt ProgressPoint) float64 { return pt.PSNR }, ay)
	series(func(pt ProgressPoint) float64 { return pt.RuntimeMS }, ar)
	if len(p.Points) == 0 {
		b.printf(`<text x="%s" y="%s" text-anchor="middle" fill="%s">No evaluated submissions yet.</text>`, f1(W/2), f1(H/2), colMuted)
	}
	b.close()
	return b.Bytes()
}

// pointTitle says one submission in words, for its <title>.
func (p Progress) pointTitle(pt ProgressPoint) string {
	s := "#" + strconv.FormatInt(pt.ID, 10)
	if pt.Label != "" {
		s += " " + pt.Label
	}
	s += fmt.Sprintf(", %s: PSNR %s dB, runtime %s ms", pt.At.UTC().Format("2006-01-02 15:04 UTC"), formatFixed(pt.PSNR, 2), Num(pt.RuntimeMS))
	if isFinite(p.Gate) && !(pt.PSNR >= p.Gate) {
		s += ", below the gate"
	}
	if pt.Current {
		s += " (current entry)"
	}
	return s
}

// yAxisPanel is yAxis for one panel of a chart with several: grid, ticks
// and the title beside the panel.
func yAxisPanel(b *svg, f frame, a axis) {
	b.WriteString(`<g class="axis y" aria-hidden="true">`)
	for _, t := range a.ticks {
		y := a.pos(t)
		b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(f.x0()), f1(y), f1(f.x1()), f1(y), colLine)
		b.printf(`<text x="%s" y="%s" text-anchor="end" fill="%s">%s</text>`, f1(f.x0()-8), f1(y+4), colFG, esc(a.tickText(t)))
	}
	b.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, f1(f.x0()), f1(f.y1()), f1(f.x0()), f1(f.y0()), colFG)
	cy := (f.y0() + f.y1()) / 2
	b.printf(`<text x="14" y="%s" text-anchor="middle" fill="%s" font-weight="600" transform="rotate(-90 14 %s)">%s</text>`,
		f1(cy), colFG, f1(cy), esc(a.label))
	b.WriteString(`</g>`)
}
