package scoring

import (
	"math"
	"testing"
)

// The row-band SSIM as main had it before the fused SIMD kernels (each
// map row summed left to right in one running sum, the formula in scalar
// Go, the vertical pass into a buffer): the "old" side of
// BenchmarkScoringAB, and the reference that the new lane-wise sum order
// stays within rounding of (TestSumOrderCloseToMain).

func ssimMain(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	per := ssimPlanesMain(sr.Pix, hr.Pix, 3*(border*sr.W+border), 3, 3, 3*sr.W, w, h)
	return (per[0] + per[1] + per[2]) / 3
}

const (
	ssimBandMain = 128
	ssimTileMain = 256
)

func ssimPlanesMain[T uint8 | float64](a, b []T, off, planes, step, rowStride, w, h int) []float64 {
	ow, oh := w-2*ssimRadius, h-2*ssimRadius
	bands := (oh + ssimBandMain - 1) / ssimBandMain
	rowSums := make([]float64, planes*oh)
	scratch := make([]*ssimScratchMain, numWorkers())
	parallelFor(planes*bands, func(wk, t int) {
		s := scratch[wk]
		if s == nil {
			s = newSSIMScratchMain()
			scratch[wk] = s
		}
		p, band := t/bands, t%bands
		oy0, oy1 := band*ssimBandMain, min((band+1)*ssimBandMain, oh)
		ssimRowsMain(a, b, off+p, step, rowStride, w, oy0, oy1, s, rowSums[p*oh:(p+1)*oh])
	})
	out := make([]float64, planes)
	for p := range out {
		var total float64
		for _, v := range rowSums[p*oh : (p+1)*oh] {
			total += v
		}
		out[p] = total / float64(ow*oh)
	}
	return out
}

type ssimScratchMain struct {
	ring, xs, ys, xx, yy, xy, acc []float64
}

func newSSIMScratchMain() *ssimScratchMain {
	const k = 2*ssimRadius + 1
	tw := ssimTileMain + k - 1
	return &ssimScratchMain{ring: make([]float64, k*5*ssimTileMain), xs: make([]float64, tw), ys: make([]float64, tw),
		xx: make([]float64, tw), yy: make([]float64, tw), xy: make([]float64, tw), acc: make([]float64, 5*ssimTileMain)}
}

func ssimRowsMain[T uint8 | float64](a, b []T, off, step, rowStride, w, oy0, oy1 int, s *ssimScratchMain, rowSums []float64) {
	const k = 2*ssimRadius + 1
	ow := w - 2*ssimRadius
	g := gaussian11
	g6 := [6]float64{g[0], g[1], g[2], g[3], g[4], g[5]}
	for ox0 := 0; ox0 < ow; ox0 += ssimTileMain {
		tw := min(ssimTileMain, ow-ox0)
		iw := tw + k - 1
		ring := s.ring[:k*5*tw]
		xs, ys, xx, yy, xy := s.xs[:iw], s.ys[:iw], s.xx[:iw], s.yy[:iw], s.xy[:iw]
		hpass := func(row int) {
			base := off + row*rowStride + step*ox0
			for i := 0; i < iw; i++ {
				xv, yv := float64(a[base+step*i]), float64(b[base+step*i])
				xs[i], ys[i] = xv, yv
				xx[i], yy[i], xy[i] = xv*xv, yv*yv, xv*yv
			}
			dst := ring[(row%k)*5*tw : (row%k+1)*5*tw]
			for p, src := range [5][]float64{xs, ys, xx, yy, xy} {
				var shifted [k][]float64
				for j := range shifted {
					shifted[j] = src[j:]
				}
				fir11(dst[p*tw:(p+1)*tw], &shifted, &g6)
			}
		}
		for r := oy0; r < oy0+k-1; r++ {
			hpass(r)
		}
		acc := s.acc[:5*tw]
		for oy := oy0; oy < oy1; oy++ {
			hpass(oy + k - 1)
			var rows [k][]float64
			for j := range rows {
				rows[j] = ring[((oy+j)%k)*5*tw : ((oy+j)%k+1)*5*tw]
			}
			fir11(acc, &rows, &g6)
			mx, my, mxx, myy, mxy := acc[:tw], acc[tw:2*tw], acc[2*tw:3*tw], acc[3*tw:4*tw], acc[4*tw:5*tw]
			rowSum := rowSums[oy]
			for i := 0; i < tw; i++ {
				mu1, mu2 := mx[i], my[i]
				mu1sq, mu2sq, mu12 := mu1*mu1, mu2*mu2, mu1*mu2
				s1 := mxx[i] - mu1sq
				s2 := myy[i] - mu2sq
				s12 := mxy[i] - mu12
				rowSum += ((2*mu12 + ssimC1) * (2*s12 + ssimC2)) / ((mu1sq + mu2sq + ssimC1) * (s1 + s2 + ssimC2))
			}
			rowSums[oy] = rowSum
		}
	}
}

// psnrMain and psnrYMain are PSNR and PSNR-Y (rounded Y) as main had them.
func psnrMain(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	sum := sumRows(border, h, func(y int) uint64 {
		o := 3 * (y*sr.W + border)
		a := sr.Pix[o : o+3*w]
		b := hr.Pix[o : o+3*w]
		b = b[:len(a)]
		var rs uint64
		for i, av := range a {
			d := int32(av) - int32(b[i])
			rs += uint64(d * d)
		}
		return rs
	})
	return psnrFromMSE(float64(sum) / float64(3*w*h))
}

func psnrYMain(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	isum := sumRows(border, h, func(y int) uint64 {
		o := 3 * (y*sr.W + border)
		a := sr.Pix[o : o+3*w]
		b := hr.Pix[o : o+3*w]
		var rs uint64
		for i := 0; i+2 < len(a); i += 3 {
			d := int64(yRounded(a[i], a[i+1], a[i+2])) - int64(yRounded(b[i], b[i+1], b[i+2]))
			rs += uint64(d * d)
		}
		return rs
	})
	return psnrFromMSE(float64(isum) / float64(w*h))
}

// TestSumOrderCloseToMain: SSIM with the lane-wise row sums differs from
// main's running row sums by float64 rounding only, on real images, and
// PSNR / PSNR-Y are bit-identical to main's.
func TestSumOrderCloseToMain(t *testing.T) {
	names, srs, hrs := realPairs(t)
	var worst float64
	for i, name := range names {
		sr, hr := srs[i], hrs[i]
		got, _ := SSIM(sr, hr, 4)
		want := ssimMain(sr, hr, 4)
		rel := math.Abs(got-want) / want
		worst = max(worst, rel)
		if rel > 1e-14 {
			t.Errorf("%s: SSIM %.17g, main %.17g (relative %.2g)", name, got, want, rel)
		}
		if p, _ := PSNR(sr, hr, 4); p != psnrMain(sr, hr, 4) {
			t.Errorf("%s: PSNR %.17g, main %.17g", name, p, psnrMain(sr, hr, 4))
		}
		if p, _ := PSNRY(sr, hr, 4); p != psnrYMain(sr, hr, 4) {
			t.Errorf("%s: PSNR-Y %.17g, main %.17g", name, p, psnrYMain(sr, hr, 4))
		}
	}
	t.Logf("largest relative SSIM difference from main: %.2g", worst)
}
