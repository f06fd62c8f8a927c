package scoring

import (
	"fmt"
	"math"
)

// Peak is the PSNR peak value: uint8 images, data range 255.
const Peak = 255.0

// cropPair checks that sr and hr can be compared after removing border pixels
// on every side, and returns the size of the remaining region.
func cropPair(sr, hr *Image, border int) (w, h int, err error) {
	if err := sr.check(); err != nil {
		return 0, 0, fmt.Errorf("sr: %w", err)
	}
	if err := hr.check(); err != nil {
		return 0, 0, fmt.Errorf("hr: %w", err)
	}
	if sr.W != hr.W || sr.H != hr.H {
		return 0, 0, fmt.Errorf("%w: sr %dx%d, hr %dx%d", ErrSizeMismatch, sr.W, sr.H, hr.W, hr.H)
	}
	if border < 0 {
		return 0, 0, fmt.Errorf("%w: negative border %d", ErrInvalid, border)
	}
	w, h = sr.W-2*border, sr.H-2*border
	if w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("%w: %dx%d image has no pixels inside a %d-pixel border", ErrEmpty, sr.W, sr.H, border)
	}
	return w, h, nil
}

// PSNR is KAIR/NTIRE calculate_psnr (protocol.md §1.4): crop border pixels
// from every side, MSE over all three RGB channels jointly, peak 255,
// 20·log10(255/√MSE). Identical images give +Inf (the official code returns
// float('inf')). Different sizes give ErrSizeMismatch; nothing left after the
// crop gives ErrEmpty.
//
// The squared differences are integers, so they are summed exactly in uint64;
// numpy's float64 sum of the same values is exact too (every partial sum is
// below 2^53 for any image under MaxPixels), so the MSE is bit-identical.
func PSNR(sr, hr *Image, border int) (float64, error) {
	w, h, err := cropPair(sr, hr, border)
	if err != nil {
		return 0, err
	}
	// Integer row sums, added exactly on every core (sumRows).
	sum := sumRows(border, h, func(y int) uint64 {
		o := 3 * (y*sr.W + border)
		return sqDiffRow(sr.Pix[o:o+3*w], hr.Pix[o:o+3*w])
	})
	return psnrFromMSE(float64(sum) / float64(3*w*h)), nil
}

// sqDiffRow is Σ (a[i] − b[i])²: the bulk by sqDiffBulk (SIMD, where the
// CPU has it), the rest here.
func sqDiffRow(a, b []uint8) uint64 {
	b = b[:len(a)]
	rs, done := sqDiffBulk(a, b)
	for i := done; i < len(a); i++ {
		d := int32(a[i]) - int32(b[i])
		rs += uint64(d * d)
	}
	return rs
}

func psnrFromMSE(mse float64) float64 {
	if mse == 0 {
		return math.Inf(1)
	}
	return 20 * math.Log10(Peak/math.Sqrt(mse))
}

// Y returns the luma plane of img as KAIR rgb2ycbcr(img, only_y=True) computes
// it for a uint8 image: 16 + (65.481R + 128.553G + 24.966B)/255 (MATLAB
// rgb2ycbcr), rounded half to even like numpy .round(), which is also what
// MATLAB returns for uint8 input. With round false the unrounded value is
// returned (MATLAB rgb2ycbcr on double input, as some papers compute it).
func Y(img *Image, round bool) []float64 {
	out := make([]float64, img.W*img.H)
	for i := range out {
		v := yOf(img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2])
		if round {
			v = math.RoundToEven(v)
		}
		out[i] = v
	}
	return out
}

// PSNRY is PSNR on the Y channel (KAIR rgb2ycbcr only_y on uint8 images, see
// Y), with the same border, peak 255 and edge cases as PSNR.
func PSNRY(sr, hr *Image, border int) (float64, error) {
	return psnrY(sr, hr, border, true)
}

// PSNRYUnrounded is PSNRY without rounding Y (MATLAB rgb2ycbcr on double
// images in [0,255]); it is the "psnr_y" of fixtures/MANIFEST.md.
func PSNRYUnrounded(sr, hr *Image, border int) (float64, error) {
	return psnrY(sr, hr, border, false)
}

func psnrY(sr, hr *Image, border int, round bool) (float64, error) {
	w, h, err := cropPair(sr, hr, border)
	if err != nil {
		return 0, err
	}
	// Y of both images pixel by pixel, never as planes: the same float64
	// values as Y, and, rounded, integer differences whose squares sum
	// exactly (below 2^53), so the MSE is bit-identical to summing the
	// planes' squared differences.
	var sum float64
	if round {
		isum := sumRows(border, h, func(y int) uint64 {
			o := 3 * (y*sr.W + border)
			return ySqDiffRow(sr.Pix[o:o+3*w], hr.Pix[o:o+3*w])
		})
		sum = float64(isum)
	} else {
		for y := border; y < border+h; y++ {
			o := 3 * (y*sr.W + border)
			a := sr.Pix[o : o+3*w]
			b := hr.Pix[o : o+3*w]
			for i := 0; i+2 < len(a); i += 3 {
				d := yOf(a[i], a[i+1], a[i+2]) - yOf(b[i], b[i+1], b[i+2])
				sum += float64(d * d)
			}
		}
	}
	return psnrFromMSE(sum / float64(w*h)), nil
}

// yOf is Y's unrounded luma of one pixel. Each product is rounded on its
// own (float64(…)): Go would otherwise fuse them into FMAs on arm64, and Y
// (and its rounding at ties) would depend on the machine.
func yOf(r, g, b uint8) float64 {
	return (float64(float64(r)*65.481)+float64(float64(g)*128.553)+float64(float64(b)*24.966))/255.0 + 16.0
}

// yRoundedInt is yRounded in integer arithmetic: Y is 16 +
// N/255000 with N = 65481R + 128553G + 24966B exactly, so it rounds to
// 16 + (N + 127500) div 255000 unless that division is exact (a tie;
// no branch on the random half of the remainder, which mispredicts). The float64
// formula's error (under 1e-12) is far below the distance of a non-tie
// from .5 (at least 1/255000), so both round alike; on exact ties (the
// remainder is exactly half) the float64 rounding decides, so the result
// is yRounded's on every input (TestYRoundedIntExhaustive).
func yRoundedInt(r, g, b uint8) int32 {
	n := 65481*uint32(r) + 128553*uint32(g) + 24966*uint32(b) + 127500
	q := n / 255000
	if n == q*255000 {
		return yRoundedTie(r, g, b)
	}
	return 16 + int32(q)
}

// ySqDiffRow is Σ (yRounded(a) − yRounded(b))² over the pixels of two RGB
// rows: the bulk by ySqDiffBulk (SIMD, where the CPU has it), the rest
// with yRoundedInt's arithmetic written out for the loop. A row with an
// exact tie (rare) is summed again with yRoundedInt, so that neither the
// kernel nor the loop needs to handle one.
func ySqDiffRow(a, b []uint8) uint64 {
	b = b[:len(a)]
	rs, done, tie := ySqDiffBulk(a, b)
	for i := done; i+2 < len(a) && !tie; i += 3 {
		p, q := a[i:i+3:i+3], b[i:i+3:i+3]
		na := 65481*uint32(p[0]) + 128553*uint32(p[1]) + 24966*uint32(p[2]) + 127500
		nb := 65481*uint32(q[0]) + 128553*uint32(q[1]) + 24966*uint32(q[2]) + 127500
		qa, qb := na/255000, nb/255000
		tie = na == qa*255000 || nb == qb*255000
		d := int64(qa) - int64(qb)
		rs += uint64(d * d)
	}
	if tie {
		rs = 0
		for i := 0; i+2 < len(a); i += 3 {
			d := int64(yRoundedInt(a[i], a[i+1], a[i+2])) - int64(yRoundedInt(b[i], b[i+1], b[i+2]))
			rs += uint64(d * d)
		}
	}
	return rs
}

// yRoundedTie is yRounded out of line: rare, and kept out of the loops.
//
//go:noinline
func yRoundedTie(r, g, b uint8) int32 { return yRounded(r, g, b) }

// yRounded is Y's rounded luma of one pixel (16…235).
func yRounded(r, g, b uint8) int32 {
	return int32(math.RoundToEven(yOf(r, g, b)))
}

// SSIM constants and window (protocol.md §1.5).
const (
	ssimC1     = (0.01 * 255) * (0.01 * 255)
	ssimC2     = (0.03 * 255) * (0.03 * 255)
	ssimRadius = 5 // 11×11 window
)

// gaussian11 is cv2.getGaussianKernel(11, 1.5): exp(-x²/(2σ²)) normalised to
// sum 1, in float64.
var gaussian11 = func() [2*ssimRadius + 1]float64 {
	var k [2*ssimRadius + 1]float64
	var sum float64
	for i := range k {
		x := float64(i - ssimRadius)
		k[i] = math.Exp(-x * x / (2 * 1.5 * 1.5))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	return k
}()

// SSIM is KAIR calculate_ssim (MATLAB ssim_index): crop border pixels, then
// per RGB channel an 11×11 Gaussian window (σ=1.5), "valid" region only,
// C1=(0.01·255)², C2=(0.03·255)², mean of the SSIM map; the result is the mean
// of the three channel values (KAIR averages per-channel SSIM; NTIRE's
// filter2D on the 3-channel array gives the same mean). The window is applied
// separably, which differs from cv2.filter2D only by float64 rounding
// (~1e-12). Identical images give exactly 1. The region left after the border
// crop must be at least 11×11 (ErrEmpty otherwise; numpy would return NaN).
func SSIM(sr, hr *Image, border int) (float64, error) {
	w, h, err := cropPair(sr, hr, border)
	if err != nil {
		return 0, err
	}
	if w < 2*ssimRadius+1 || h < 2*ssimRadius+1 {
		return 0, fmt.Errorf("%w: %dx%d region after the border crop is smaller than the 11x11 SSIM window", ErrEmpty, w, h)
	}
	// Row bands of all three channels on every core; bit-identical to
	// ssimPlane per channel.
	per := ssimPlanes(sr.Pix, hr.Pix, 3*(border*sr.W+border), 3, 3*sr.W, w, h)
	return (per[0] + per[1] + per[2]) / 3, nil
}

// SSIMY is SSIM on the Y channel (rounded as in PSNRY), KAIR calculate_ssim
// on the 2-D rgb2ycbcr(only_y) images, with the same edge cases as SSIM.
func SSIMY(sr, hr *Image, border int) (float64, error) {
	w, h, err := cropPair(sr, hr, border)
	if err != nil {
		return 0, err
	}
	if w < 2*ssimRadius+1 || h < 2*ssimRadius+1 {
		return 0, fmt.Errorf("%w: %dx%d region after the border crop is smaller than the 11x11 SSIM window", ErrEmpty, w, h)
	}
	return ssimPlanes(Y(sr, true), Y(hr, true), border*sr.W+border, 1, sr.W, w, h)[0], nil
}

// Mean is the set score: the arithmetic mean of per-image values
// (sum(psnr)/len(psnr) in test_demo.py). It is NaN for no values and +Inf
// when any value is +Inf (an image reproduced exactly), as in numpy.
func Mean(values []float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range values {
		s += v
	}
	return s / float64(len(values))
}
