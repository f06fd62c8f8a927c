package scoring

import (
	"math"
	"testing"
)

// The implementations before the fast ones (float64 Y planes; an 11-tap
// window without the symmetry): references for equality tests and A/B
// benchmarks.

func psnrYPlanes(sr, hr *Image, border int, round bool) (float64, error) {
	w, h, err := cropPair(sr, hr, border)
	if err != nil {
		return 0, err
	}
	ys, yh := Y(sr, round), Y(hr, round)
	var sum float64
	for y := border; y < border+h; y++ {
		o := y*sr.W + border
		for i := o; i < o+w; i++ {
			d := ys[i] - yh[i]
			sum += d * d
		}
	}
	return psnrFromMSE(sum / float64(w*h)), nil
}

// ssimPlaneRef computes the mean SSIM of one plane over a w×h region: sample
// (x, y) of the region is a[off+y*rowStride+x*step] (same for b). A horizontal pass filters x, y, x², y², xy over each row
// of the region into five (w-10)-wide rows; a vertical pass over 11 of those
// rows, kept in a ring, yields one output row of the map at a time.
func ssimPlaneRef[T uint8 | float64](a, b []T, off, step, rowStride, w, h int) float64 {
	const k = 2*ssimRadius + 1
	ow, oh := w-2*ssimRadius, h-2*ssimRadius
	g := gaussian11
	// ring[r] holds the horizontal results for region row r mod k:
	// five planes of ow values each.
	ring := make([]float64, k*5*ow)
	xs := make([]float64, w)
	ys := make([]float64, w)
	hpass := func(row int) {
		base := off + row*rowStride
		for i := 0; i < w; i++ {
			xs[i] = float64(a[base+step*i])
			ys[i] = float64(b[base+step*i])
		}
		dst := ring[(row%k)*5*ow : (row%k+1)*5*ow]
		mx, my, mxx, myy, mxy := dst[:ow], dst[ow:2*ow], dst[2*ow:3*ow], dst[3*ow:4*ow], dst[4*ow:5*ow]
		for i := 0; i < ow; i++ {
			var sx, sy, sxx, syy, sxy float64
			xw, yw := xs[i:i+k], ys[i:i+k]
			for j, gj := range g {
				xv, yv := xw[j], yw[j]
				sx += gj * xv
				sy += gj * yv
				sxx += gj * (xv * xv)
				syy += gj * (yv * yv)
				sxy += gj * (xv * yv)
			}
			mx[i], my[i], mxx[i], myy[i], mxy[i] = sx, sy, sxx, syy, sxy
		}
	}
	for r := 0; r < k-1; r++ {
		hpass(r)
	}
	acc := make([]float64, 5*ow)
	var total float64
	for oy := 0; oy < oh; oy++ {
		hpass(oy + k - 1)
		clear(acc)
		for j := 0; j < k; j++ {
			src := ring[((oy+j)%k)*5*ow : ((oy+j)%k+1)*5*ow]
			gj := g[j]
			for i, v := range src {
				acc[i] += gj * v
			}
		}
		mx, my, mxx, myy, mxy := acc[:ow], acc[ow:2*ow], acc[2*ow:3*ow], acc[3*ow:4*ow], acc[4*ow:5*ow]
		var rowSum float64
		for i := 0; i < ow; i++ {
			mu1, mu2 := mx[i], my[i]
			mu1sq, mu2sq, mu12 := mu1*mu1, mu2*mu2, mu1*mu2
			s1 := mxx[i] - mu1sq
			s2 := myy[i] - mu2sq
			s12 := mxy[i] - mu12
			rowSum += ((2*mu12 + ssimC1) * (2*s12 + ssimC2)) / ((mu1sq + mu2sq + ssimC1) * (s1 + s2 + ssimC2))
		}
		total += rowSum
	}
	return total / float64(ow*oh)
}

// TestFastMetricsMatchReference: the fused PSNR-Y is bit-identical to the
// plane-based one; the symmetric SSIM window differs by float64 rounding
// only.
func TestFastMetricsMatchReference(t *testing.T) {
	x, y := div2kPair()
	x, y = Crop(x, 0, 0, 517, 389), Crop(y, 0, 0, 517, 389)
	for _, round := range []bool{true, false} {
		got, err := psnrY(x, y, 4, round)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := psnrYPlanes(x, y, 4, round)
		if got != want {
			t.Errorf("PSNR-Y round=%v: %.17g, reference %.17g", round, got, want)
		}
	}
	for c := 0; c < 3; c++ {
		off := 3*(4*x.W+4) + c
		got := ssimPlane(x.Pix, y.Pix, off, 3, 3*x.W, x.W-8, x.H-8)
		want := ssimPlaneRef(x.Pix, y.Pix, off, 3, 3*x.W, x.W-8, x.H-8)
		if math.Abs(got-want) > 1e-13 {
			t.Errorf("SSIM channel %d: %.17g, reference %.17g", c, got, want)
		}
	}
}

// BenchmarkMetricsAB times each fast metric and its reference, interleaved
// in one run (b.Run order alternates per iteration block).
func BenchmarkMetricsAB(b *testing.B) {
	x, y := div2kPair()
	off := 3*(4*x.W+4) + 1
	b.Run("psnrY/fast", func(b *testing.B) {
		for b.Loop() {
			psnrY(x, y, 4, true)
		}
	})
	b.Run("psnrY/planes", func(b *testing.B) {
		for b.Loop() {
			psnrYPlanes(x, y, 4, true)
		}
	})
	b.Run("ssimPlane/symmetric", func(b *testing.B) {
		for b.Loop() {
			ssimPlane(x.Pix, y.Pix, off, 3, 3*x.W, x.W-8, x.H-8)
		}
	})
	b.Run("ssimPlane/reference", func(b *testing.B) {
		for b.Loop() {
			ssimPlaneRef(x.Pix, y.Pix, off, 3, 3*x.W, x.W-8, x.H-8)
		}
	})
}
