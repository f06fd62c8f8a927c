package scoring

import "fmt"

// UpscaleBicubicCrop returns the w×h window at (x0, y0) of img upscaled
// ×factor with MATLAB imresize's bicubic kernel (the reference "bicubic"
// picture of a crop viewer), computing only that window: rows first, then
// columns, each pass rounded to uint8 as imresizemex does. The window is
// clipped to the upscaled image.
func UpscaleBicubicCrop(img *Image, factor, x0, y0, w, h int) (*Image, error) {
	if err := img.check(); err != nil {
		return nil, err
	}
	if factor < 1 {
		return nil, fmt.Errorf("%w: factor %d", ErrInvalid, factor)
	}
	ow, oh := img.W*factor, img.H*factor
	x0, y0 = min(max(x0, 0), ow-1), min(max(y0, 0), oh-1)
	w, h = min(max(w, 1), ow-x0), min(max(h, 1), oh-y0)
	yi, yw := contributions(img.H, oh, float64(factor))
	mid := NewImage(img.W, h)
	for oy := 0; oy < h; oy++ {
		dst := mid.Pix[3*oy*img.W : 3*(oy+1)*img.W]
		for i := range dst {
			var s float64
			for k, iy := range yi[y0+oy] {
				s += float64(yw[y0+oy][k] * float64(img.Pix[3*iy*img.W+i]))
			}
			dst[i] = roundMATLAB(s)
		}
	}
	xi, xw := contributions(img.W, ow, float64(factor))
	out := NewImage(w, h)
	for oy := 0; oy < h; oy++ {
		row := mid.Pix[3*oy*img.W : 3*(oy+1)*img.W]
		for ox := 0; ox < w; ox++ {
			for c := 0; c < 3; c++ {
				var s float64
				for k, ix := range xi[x0+ox] {
					s += float64(xw[x0+ox][k] * float64(row[3*ix+c]))
				}
				out.Pix[3*(oy*w+ox)+c] = roundMATLAB(s)
			}
		}
	}
	return out, nil
}
