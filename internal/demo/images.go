// Package demo seeds the demo challenge of `srarena up`: a synthetic image
// set that srarena draws itself (so its licence is ours: CC0) and a bicubic
// baseline model that srarena builds itself.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/srarena/srarena/scoring"
)

// HRSize is the side of the demo HR images: small enough that the CPU worker
// evaluates a submission in seconds, a multiple of every scale up to 8.
const HRSize = 192

type painter func(x, y float64, rng *rand.Rand) (r, g, b float64)

// Images draws the demo HR images. Each tests something a ×4 model must do:
// smooth gradients, fine periodic detail (aliasing), texture, sharp edges.
func Images() map[string]*scoring.Image { return draw(2020, false) }

// TestImages draws the demo's hidden test set: the same kinds of pattern
// with another seed, transposed, so no test image equals a validation one.
func TestImages() map[string]*scoring.Image { return draw(2026, true) }

func draw(seed uint64, transpose bool) map[string]*scoring.Image {
	out := map[string]*scoring.Image{}
	for i, p := range []struct {
		name string
		f    func(rng *rand.Rand) painter
	}{
		{"gradients", gradients},
		{"zoneplate", zonePlate},
		{"clouds", clouds},
		{"blocks", blocks},
		{"rings", rings},
	} {
		rng := rand.New(rand.NewPCG(uint64(i+1), seed))
		paint := p.f(rng)
		img := scoring.NewImage(HRSize, HRSize)
		for y := 0; y < HRSize; y++ {
			for x := 0; x < HRSize; x++ {
				px, py := float64(x)/HRSize, float64(y)/HRSize
				if transpose {
					px, py = py, px
				}
				r, g, b := paint(px, py, rng)
				o := 3 * (y*HRSize + x)
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = u8(r), u8(g), u8(b)
			}
		}
		out[fmt.Sprintf("%02d_%s", i+1, p.name)] = img
	}
	return out
}

func u8(v float64) uint8 {
	return uint8(math.Round(math.Max(0, math.Min(255, v*255))))
}

func gradients(*rand.Rand) painter {
	return func(x, y float64, _ *rand.Rand) (float64, float64, float64) {
		return x, y, 0.5 + 0.5*math.Sin(3*(x+y))
	}
}

func zonePlate(*rand.Rand) painter {
	return func(x, y float64, _ *rand.Rand) (float64, float64, float64) {
		dx, dy := x-0.5, y-0.5
		v := 0.5 + 0.5*math.Cos(120*(dx*dx+dy*dy))
		return v, v, 0.8*v + 0.1
	}
}

func clouds(rng *rand.Rand) painter {
	// Value noise, four octaves, on a lattice drawn once.
	const n = 33
	var lat [3][n][n]float64
	for c := range lat {
		for i := range lat[c] {
			for j := range lat[c][i] {
				lat[c][i][j] = rng.Float64()
			}
		}
	}
	sample := func(c int, x, y float64) float64 {
		x, y = math.Mod(x, n-1), math.Mod(y, n-1)
		i, j := int(x), int(y)
		fx, fy := x-float64(i), y-float64(j)
		fx, fy = fx*fx*(3-2*fx), fy*fy*(3-2*fy)
		a := lat[c][j][i]*(1-fx) + lat[c][j][i+1]*fx
		b := lat[c][j+1][i]*(1-fx) + lat[c][j+1][i+1]*fx
		return a*(1-fy) + b*fy
	}
	return func(x, y float64, _ *rand.Rand) (float64, float64, float64) {
		var v [3]float64
		for c := range v {
			amp, freq := 0.5, 4.0
			for o := 0; o < 4; o++ {
				v[c] += amp * sample(c, x*freq, y*freq)
				amp, freq = amp/2, freq*2
			}
		}
		return v[0], 0.6*v[1] + 0.3, v[2]
	}
}

func blocks(rng *rand.Rand) painter {
	type rect struct{ x0, y0, x1, y1, r, g, b float64 }
	rects := make([]rect, 24)
	for i := range rects {
		x, y := rng.Float64(), rng.Float64()
		rects[i] = rect{x, y, x + 0.05 + 0.3*rng.Float64(), y + 0.02 + 0.1*rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64()}
	}
	return func(x, y float64, _ *rand.Rand) (float64, float64, float64) {
		r, g, b := 0.95, 0.95, 0.9
		for _, q := range rects {
			if x >= q.x0 && x < q.x1 && y >= q.y0 && y < q.y1 {
				r, g, b = q.r, q.g, q.b
			}
		}
		return r, g, b
	}
}

func rings(*rand.Rand) painter {
	return func(x, y float64, rng *rand.Rand) (float64, float64, float64) {
		d := math.Hypot(x-0.3, y-0.6)
		e := math.Hypot(x-0.7, y-0.3)
		v := 0.5 + 0.5*math.Sin(40*d)*math.Exp(-2*d)
		w := 0.5 + 0.5*math.Sin(25*e)
		noise := 0.04 * (rng.Float64() - 0.5)
		return v + noise, w + noise, 0.5*(v+w) + noise
	}
}
