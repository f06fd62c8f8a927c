package charts

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden SVG files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./charts -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./charts -update, then review the diff)", name)
	}
}

// wellFormed parses the SVG as XML and returns its element names with the
// texts of its <title> elements.
func wellFormed(t *testing.T, b []byte) (elems []string, titles []string) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	var inTitle bool
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			elems = append(elems, x.Name.Local)
			inTitle = x.Name.Local == "title"
		case xml.CharData:
			if inTitle {
				titles = append(titles, string(x))
			}
		case xml.EndElement:
			inTitle = false
		}
	}
}

func accessible(t *testing.T, b []byte, id string) {
	t.Helper()
	s := string(b)
	for _, want := range []string{`role="img"`, `aria-labelledby="` + id + `-title ` + id + `-desc"`, `<title id="` + id + `-title">`, `<desc id="` + id + `-desc">`} {
		if !strings.Contains(s, want) {
			t.Errorf("chart %s lacks %s", id, want)
		}
	}
	if strings.Contains(s, "style=") {
		t.Errorf("chart %s uses inline style, which the site's CSP forbids", id)
	}
}

func TestScatterLogLog(t *testing.T) {
	s := Scatter{ID: "rt-params", Title: "Runtime vs parameters", Desc: "4 teams & a baseline <plotted>",
		XLabel: "parameters (M)", YLabel: "runtime (ms)", LogX: true, LogY: true,
		Points: []Point{{X: 0.2, Y: 20, Label: "A&B"}, {X: 0.3, Y: 35, Label: "C"}, {X: 1.1, Y: 80, Label: "D"},
			{X: 0.43, Y: 35.5, Label: "RFDN baseline", Highlight: true}, {X: 0, Y: 10, Label: "not on a log axis"},
			{X: math.NaN(), Y: 1, Label: "nan"}},
		Fit: &Line{Slope: 1, Intercept: 2}, FitLabel: "least squares (log-log)", HighlightLabel: "baseline"}
	b := s.SVG()
	accessible(t, b, "rt-params")
	_, titles := wellFormed(t, b)
	var pts []string
	for _, ti := range titles {
		if strings.Contains(ti, "runtime (ms)") {
			pts = append(pts, ti)
		}
	}
	// Four placeable points; the zero and NaN are left out.
	if len(pts) != 4 || !slices.Contains(pts, "A&B: parameters (M) 0.2, runtime (ms) 20") {
		t.Errorf("point titles %q", pts)
	}
	if !strings.Contains(string(b), `class="pt hi"`) || strings.Count(string(b), `class="pt hi"`) != 1 {
		t.Error("the baseline is not highlighted once")
	}
	if !strings.Contains(string(b), `class="fit"`) {
		t.Error("no least-squares line")
	}
	golden(t, "scatter_loglog.svg", b)
}

func TestScatterParetoFront(t *testing.T) {
	pts := []Point{{X: 10, Y: 29}, {X: 5, Y: 28.5}, {X: 20, Y: 29.5}, {X: 12, Y: 28.9}, {X: 5, Y: 28.7}, {X: 30, Y: 29.2}}
	got := ParetoFront(pts)
	if want := []int{4, 0, 2}; !slices.Equal(got, want) {
		t.Errorf("ParetoFront = %v, want %v", got, want)
	}
	s := Scatter{ID: "pareto", Title: "Runtime vs PSNR", Desc: "d", XLabel: "runtime (ms)", YLabel: "PSNR (dB)", LogX: true, Points: pts, Front: true}
	b := s.SVG()
	accessible(t, b, "pareto")
	wellFormed(t, b)
	if !strings.Contains(string(b), "Pareto front: 3 entries") {
		t.Error("front path missing or wrong size")
	}
	golden(t, "scatter_pareto.svg", b)
}

func TestScatterEmpty(t *testing.T) {
	b := Scatter{ID: "e", Title: "t", Desc: "d", LogX: true, LogY: true}.SVG()
	wellFormed(t, b)
	if !strings.Contains(string(b), "No data to plot.") {
		t.Error("empty chart says nothing")
	}
}

func TestCoefficients(t *testing.T) {
	c := Coefficients{ID: "coef", Title: "Correlation with runtime", Desc: "d", Interval: "95 % CI",
		Series: []string{"Pearson r", "Spearman ρ", "Kendall τ-b"},
		Rows: []CoefRow{
			{Label: "#Acts", Estimates: []Estimate{{0.8861, 0.776, 0.944}, {0.915, 0.82, 0.96}, {0.7702, 0.6, 0.88}}},
			{Label: "#Params", Estimates: []Estimate{{0.0033, -0.35, 0.35}, {-0.3896, -0.65, -0.04}, {math.NaN(), math.NaN(), math.NaN()}}},
		}}
	b := c.SVG()
	accessible(t, b, "coef")
	_, titles := wellFormed(t, b)
	if !slices.Contains(titles, "#Params, Spearman ρ = −0.3896, 95 % CI [−0.6500, −0.0400]") {
		t.Errorf("titles %q", titles)
	}
	golden(t, "coefficients.svg", b)
}

func TestHistory(t *testing.T) {
	d0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var days []Day
	best := math.NaN()
	for i, c := range []int{0, 3, 1, 0, 5, 2} {
		if i == 1 {
			best = 28.1
		}
		if i == 4 {
			best = 28.9
		}
		days = append(days, Day{Day: d0.AddDate(0, 0, i), Count: c, Best: best})
	}
	b := History{ID: "hist", Title: "History", Desc: "d", ScoreLabel: "best PSNR (dB)", Days: days}.SVG()
	accessible(t, b, "hist")
	_, titles := wellFormed(t, b)
	if !slices.Contains(titles, "2026-03-05: 5 submission(s)") || !slices.Contains(titles, "2026-03-05: best 28.9") {
		t.Errorf("titles %q", titles)
	}
	golden(t, "history.svg", b)
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []float64
	}{
		{-1, 1.9, []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50}},
		{-1, 2, []float64{0.1, 1, 10, 100}},
		{0, 4, []float64{1, 10, 100, 1000, 10000}},
		{1.4, 1.5, []float64{math.Pow(10, 1.4), math.Pow(10, 1.5)}},
	} {
		if got := logTicks(tc.lo, tc.hi); !slices.Equal(got, tc.want) {
			t.Errorf("logTicks(%v, %v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
	for v, want := range map[float64]string{0.001: "0.001", 20: "20", 15000: "15k", 3e7: "30M", 2e9: "2G", 0.5: "0.5"} {
		if got := fmtTick(v); got != want {
			t.Errorf("fmtTick(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestProgress(t *testing.T) {
	d0 := time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)
	var pts []ProgressPoint
	for i, v := range [][2]float64{{36.9, 14}, {37.4, 11.5}, {37.6, 9.8}, {37.2, 8.1}, {37.8, 9.2}} {
		pts = append(pts, ProgressPoint{ID: int64(40 + i), Label: "try " + strconv.Itoa(i+1), At: d0.Add(time.Duration(i) * 26 * time.Hour),
			PSNR: v[0], RuntimeMS: v[1], Current: i == 4})
	}
	b := Progress{ID: "prog", Title: "Progress", Desc: "d", Points: pts, Gate: 37.33, GateText: "gate 37.33 dB", BaselineRuntime: 9.1}.SVG()
	accessible(t, b, "prog")
	_, titles := wellFormed(t, b)
	for _, want := range []string{
		"#44 try 5, 2026-03-05 17:30 UTC: PSNR 37.80 dB, runtime 9.2 ms (current entry)",
		"#40 try 1, 2026-03-01 09:30 UTC: PSNR 36.90 dB, runtime 14 ms, below the gate",
		"gate 37.33 dB", "baseline 9.1 ms",
	} {
		if !slices.Contains(titles, want) {
			t.Errorf("no title %q in %q", want, titles)
		}
	}
	s := string(b)
	if strings.Count(s, `class="pt hi"`) != 2 { // the current entry in both panels
		t.Errorf("current entry drawn %d times, want 2", strings.Count(s, `class="pt hi"`))
	}
	if strings.Count(s, `class="pt below"`) != 4 { // #40 and #43, in both panels
		t.Errorf("%d points below the gate, want 4", strings.Count(s, `class="pt below"`))
	}
	golden(t, "progress.svg", b)
	// No gate, no baseline, no points: still a valid, accessible chart.
	e := Progress{ID: "e", Title: "Empty", Desc: "none", Gate: math.NaN(), BaselineRuntime: math.NaN()}.SVG()
	accessible(t, e, "e")
	wellFormed(t, e)
	if !strings.Contains(string(e), "No evaluated submissions yet.") || strings.Contains(string(e), `class="gate"`) {
		t.Error("empty progress chart")
	}
}
