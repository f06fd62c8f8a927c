package scoring

import (
	"fmt"
	"math"
)

// cubic is MATLAB imresize's bicubic kernel (Keys, a = −0.5).
func cubic(x float64) float64 {
	ax := math.Abs(x)
	ax2, ax3 := ax*ax, ax*ax*ax
	switch {
	case ax <= 1:
		return float64(1.5*ax3) - float64(2.5*ax2) + 1
	case ax <= 2:
		return float64(-0.5*ax3) + float64(2.5*ax2) - float64(4*ax) + 2
	}
	return 0
}

// contributions returns, for each output index, the input indices and
// weights of MATLAB imresize's bicubic kernel with antialiasing
// (imresize.m contributions()): the kernel is stretched by 1/scale when
// downscaling, weights are normalised to sum 1, and out-of-range indices are
// mirrored (symmetric padding).
func contributions(inLen, outLen int, scale float64) (idx [][]int, wts [][]float64) {
	kernelWidth := 4.0
	kernel := cubic
	if scale < 1 {
		kernelWidth /= scale
		kernel = func(x float64) float64 { return scale * cubic(scale*x) }
	}
	p := int(math.Ceil(kernelWidth)) + 2
	idx = make([][]int, outLen)
	wts = make([][]float64, outLen)
	for o := 0; o < outLen; o++ {
		x := float64(o + 1) // MATLAB is 1-based
		u := x/scale + float64(0.5*(1-1/scale))
		left := math.Floor(u - float64(kernelWidth/2))
		ii := make([]int, 0, p)
		ww := make([]float64, 0, p)
		var sum float64
		for j := 0; j < p; j++ {
			in := left + float64(j)
			w := kernel(u - in)
			if w == 0 {
				continue // imresize drops all-zero columns; a zero weight adds nothing anyway
			}
			ii = append(ii, mirror(int(in)-1, inLen))
			ww = append(ww, w)
			sum += w
		}
		for j := range ww {
			ww[j] /= sum
		}
		idx[o], wts[o] = ii, ww
	}
	return idx, wts
}

// mirror maps a 0-based index into [0, n) by symmetric reflection
// (…, 1, 0, 0, 1, …, n−1, n−1, n−2, …), MATLAB's [1:n, n:-1:1] padding.
func mirror(i, n int) int {
	period := 2 * n
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - 1 - i
	}
	return i
}

// roundMATLAB converts a double to uint8 as MATLAB does: round half away from
// zero, saturate to [0, 255].
func roundMATLAB(v float64) uint8 {
	r := math.Round(v)
	switch {
	case r < 0 || math.IsNaN(r):
		return 0
	case r > 255:
		return 255
	}
	return uint8(r)
}

// ResizeBicubic resizes img by 1/factor in each dimension (factor 4 gives the
// ×4 LR image) with MATLAB imresize(img, 1/factor, 'bicubic'), antialiasing
// on, as DIV2K's LR images were made. The height is resized first (MATLAB
// sorts dimensions by scale, stably). For uint8 input MATLAB's imresizemex
// returns uint8 from each one-dimensional pass, so the intermediate image is
// rounded (half away from zero) too; this is what reproduces the shipped
// Set5 LR_bicubic_X4 PNGs bit for bit. img should be mod-cropped (ModCrop)
// so the output size is exact.
func ResizeBicubic(img *Image, factor int) (*Image, error) {
	if err := img.check(); err != nil {
		return nil, err
	}
	if factor < 1 {
		return nil, fmt.Errorf("%w: factor %d", ErrInvalid, factor)
	}
	ow := (img.W + factor - 1) / factor // MATLAB: ceil(in * scale)
	oh := (img.H + factor - 1) / factor
	if ow == 0 || oh == 0 {
		return nil, fmt.Errorf("%w: cannot resize a %dx%d image", ErrEmpty, img.W, img.H)
	}
	scale := 1 / float64(factor)
	// Pass 1: along the height, W×H → W×oh.
	yi, yw := contributions(img.H, oh, scale)
	mid := NewImage(img.W, oh)
	for oy := 0; oy < oh; oy++ {
		dst := mid.Pix[3*oy*img.W : 3*(oy+1)*img.W]
		for i := range dst {
			var s float64
			for k, iy := range yi[oy] {
				s += float64(yw[oy][k] * float64(img.Pix[3*iy*img.W+i]))
			}
			dst[i] = roundMATLAB(s)
		}
	}
	// Pass 2: along the width, W×oh → ow×oh.
	xi, xw := contributions(img.W, ow, scale)
	out := NewImage(ow, oh)
	for oy := 0; oy < oh; oy++ {
		row := mid.Pix[3*oy*img.W : 3*(oy+1)*img.W]
		for ox := 0; ox < ow; ox++ {
			for c := 0; c < 3; c++ {
				var s float64
				for k, ix := range xi[ox] {
					s += float64(xw[ox][k] * float64(row[3*ix+c]))
				}
				out.Pix[3*(oy*ow+ox)+c] = roundMATLAB(s)
			}
		}
	}
	return out, nil
}
