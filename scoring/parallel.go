package scoring

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// The functions here use every core: the runner scores an output only while
// no timed inference runs, so the whole machine is free then, and every
// millisecond spent is evaluation overhead. Work is split into fixed tasks
// (row bands) whose results are combined in a fixed order: the answer does
// not depend on the number of cores.

// parallelFor runs f(worker, task) for task in [0, n) on up to
// GOMAXPROCS goroutines; worker in [0, workers) lets f reuse scratch space.
func parallelFor(n int, f func(worker, task int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for t := 0; t < n; t++ {
			f(0, t)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t := int(next.Add(1) - 1)
				if t >= n {
					return
				}
				f(wk, t)
			}
		}()
	}
	wg.Wait()
}

// numWorkers is how many scratch slots parallelFor may use at once.
func numWorkers() int { return max(runtime.GOMAXPROCS(0), 1) }

// quantBand is the number of output rows one quantisation task converts.
const quantBand = 64

// QuantizeCHWInto is QuantizeCHWChecked writing into dst, which must hold
// 3·h·w bytes (the Pix of an h×w Image: interleaved RGB), using every core:
// the same quantisation (QuantizeCHW, protocol.md §1.2) in the same single
// pass that looks for non-finite values. bad is the CHW index of the first
// NaN or ±Inf in CHW order, exactly as QuantizeCHWChecked reports it, or
// -1; when bad ≥ 0 the contents of dst are unspecified.
func QuantizeCHWInto(dst []uint8, data []float32, h, w int, dataRange float32) (bad int, err error) {
	if h <= 0 || w <= 0 {
		return -1, fmt.Errorf("%w: output size %dx%d", ErrEmpty, w, h)
	}
	if len(data) != 3*h*w || len(dst) != 3*h*w {
		return -1, fmt.Errorf("%w: output has %d values and %d bytes, want 3*%d*%d", ErrInvalid, len(data), len(dst), h, w)
	}
	if !(dataRange > 0) || math.IsInf(float64(dataRange), 0) {
		return -1, fmt.Errorf("%w: data range %v", ErrInvalid, dataRange)
	}
	plane := h * w
	p0, p1, p2 := data[:plane], data[plane:2*plane], data[2*plane:]
	var found atomic.Bool
	parallelFor((h+quantBand-1)/quantBand, func(_, t int) {
		lo, hi := t*quantBand*w, min((t+1)*quantBand*w, plane)
		if !quantizeBand(dst[3*lo:3*hi], p0[lo:hi], p1[lo:hi], p2[lo:hi], dataRange) {
			found.Store(true)
		}
	})
	if !found.Load() {
		return -1, nil
	}
	// Rare (a broken model): the first one in CHW order, as the message
	// names it.
	for i, v := range data {
		if v-v != 0 {
			return i, nil
		}
	}
	return -1, nil // not reached
}

// quantizeFast is quantize for finite v without branches: the same clamp
// and the same float32 products, then x + 2²³, whose float32 sum lies in
// [2²³, 2²⁴) where the spacing is 1, so the addition itself rounds x to an
// integer, half to even (IEEE's default), exactly as math.RoundToEven; the
// integer is the low bits of the sum (x ≤ 255).
func quantizeFast(v, dataRange float32) uint8 {
	v = min(max(v, 0), dataRange)
	x := float32(v * 255)
	x = float32(x / dataRange)
	return uint8(math.Float32bits(x + 0x1p23))
}

// quantizeFast1 is quantizeFast for data range 1, where x/1 is x.
func quantizeFast1(v, _ float32) uint8 {
	v = min(max(v, 0), 1)
	x := float32(v * 255)
	return uint8(math.Float32bits(x + 0x1p23))
}

// ssimBand is the number of SSIM-map rows one task computes. Each task
// filters the 10 input rows above its band again (the window's height − 1):
// 128 keeps that extra work under 8 %.
const ssimBand = 128

// ssimPlanes is the mean SSIM of each of planes planes over a w×h region,
// computed in row bands on every core: sample (x, y) of plane p is
// a[off+p+y*rowStride+x*step]. It is bit-identical to ssimPlane on each
// plane: every map row is computed with exactly ssimPlane's arithmetic, and
// the row sums are added in ssimPlane's order.
func ssimPlanes[T uint8 | float64](a, b []T, off, planes, step, rowStride, w, h int) []float64 {
	ow, oh := w-2*ssimRadius, h-2*ssimRadius
	bands := (oh + ssimBand - 1) / ssimBand
	rowSums := make([]float64, planes*oh)
	scratch := make([]*ssimScratch, numWorkers())
	parallelFor(planes*bands, func(wk, t int) {
		s := scratch[wk]
		if s == nil {
			s = newSSIMScratch()
			scratch[wk] = s
		}
		p, band := t/bands, t%bands
		oy0, oy1 := band*ssimBand, min((band+1)*ssimBand, oh)
		ssimRows(a, b, off+p, step, rowStride, w, oy0, oy1, s, rowSums[p*oh:(p+1)*oh])
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

// ssimTile is the width, in SSIM-map columns, that ssimRows filters at a
// time: its ring of 11 filtered rows × 5 planes then stays in the core's
// L2 cache (112 KiB) instead of spilling a whole 2040-pixel row's 0.9 MiB.
const ssimTile = 256

type ssimScratch struct {
	ring, xs, ys, xx, yy, xy, acc []float64
}

func newSSIMScratch() *ssimScratch {
	const k = 2*ssimRadius + 1
	tw := ssimTile + k - 1
	return &ssimScratch{ring: make([]float64, k*5*ssimTile), xs: make([]float64, tw), ys: make([]float64, tw),
		xx: make([]float64, tw), yy: make([]float64, tw), xy: make([]float64, tw), acc: make([]float64, 5*ssimTile)}
}

// ssimRows adds the sums of SSIM-map rows [oy0, oy1) of one plane into
// rowSums[oy] (which start at 0). It is ssimPlane's method (see there) over
// part of the rows, tile by tile across the columns, with both window
// passes done by fir11: the same arithmetic in the same order, several
// values at a time. Each row's sum is continued from tile to tile left to
// right, so it is added in exactly ssimPlane's order.
func ssimRows[T uint8 | float64](a, b []T, off, step, rowStride, w, oy0, oy1 int, s *ssimScratch, rowSums []float64) {
	const k = 2*ssimRadius + 1
	ow := w - 2*ssimRadius
	g := gaussian11
	g6 := [6]float64{g[0], g[1], g[2], g[3], g[4], g[5]}
	for ox0 := 0; ox0 < ow; ox0 += ssimTile {
		tw := min(ssimTile, ow-ox0) // map columns of this tile
		iw := tw + k - 1            // input columns it needs
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

// psnrBand is the number of rows one PSNR / PSNR-Y task sums.
const psnrBand = 64

// sumRows returns Σ over rows [border, border+h) of f(row): integer
// partial sums, so the total is exact whatever the split.
func sumRows(border, h int, f func(y int) uint64) uint64 {
	bands := (h + psnrBand - 1) / psnrBand
	part := make([]uint64, bands)
	parallelFor(bands, func(_, t int) {
		var s uint64
		for y := border + t*psnrBand; y < border+min((t+1)*psnrBand, h); y++ {
			s += f(y)
		}
		part[t] = s
	})
	var sum uint64
	for _, s := range part {
		sum += s
	}
	return sum
}
