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
		d := dst[3*lo : 3*hi]
		a, b, c := p0[lo:hi], p1[lo:hi], p2[lo:hi]
		for i := range a {
			r, g, bl := a[i], b[i], c[i]
			// finite v-v is 0; NaN and ±Inf give NaN
			if r-r != 0 || g-g != 0 || bl-bl != 0 {
				found.Store(true)
				return
			}
			d[3*i], d[3*i+1], d[3*i+2] = quantize(r, dataRange), quantize(g, dataRange), quantize(bl, dataRange)
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
			s = newSSIMScratch(w, ow)
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

type ssimScratch struct {
	ring, xs, ys, xx, yy, xy, acc []float64
}

func newSSIMScratch(w, ow int) *ssimScratch {
	const k = 2*ssimRadius + 1
	return &ssimScratch{ring: make([]float64, k*5*ow), xs: make([]float64, w), ys: make([]float64, w),
		xx: make([]float64, w), yy: make([]float64, w), xy: make([]float64, w), acc: make([]float64, 5*ow)}
}

// ssimRows writes the sums of SSIM-map rows [oy0, oy1) of one plane into
// rowSums[oy]. It is ssimPlane's loop body, unchanged, over part of the
// rows (see ssimPlane for the method).
func ssimRows[T uint8 | float64](a, b []T, off, step, rowStride, w, oy0, oy1 int, s *ssimScratch, rowSums []float64) {
	const k = 2*ssimRadius + 1
	ow := w - 2*ssimRadius
	g := gaussian11
	ring, xs, ys, xx, yy, xy := s.ring, s.xs, s.ys, s.xx, s.yy, s.xy
	hpass := func(row int) {
		base := off + row*rowStride
		for i := 0; i < w; i++ {
			xv, yv := float64(a[base+step*i]), float64(b[base+step*i])
			xs[i], ys[i] = xv, yv
			xx[i], yy[i], xy[i] = xv*xv, yv*yv, xv*yv
		}
		dst := ring[(row%k)*5*ow : (row%k+1)*5*ow]
		for p, src := range [5][]float64{xs, ys, xx, yy, xy} {
			out := dst[p*ow : (p+1)*ow]
			for i := range out {
				v := src[i : i+k : i+k]
				out[i] = g[0]*(v[0]+v[10]) + g[1]*(v[1]+v[9]) + g[2]*(v[2]+v[8]) + g[3]*(v[3]+v[7]) + g[4]*(v[4]+v[6]) + g[5]*v[5]
			}
		}
	}
	for r := oy0; r < oy0+k-1; r++ {
		hpass(r)
	}
	acc := s.acc
	for oy := oy0; oy < oy1; oy++ {
		hpass(oy + k - 1)
		var rows [k][]float64
		for j := range rows {
			rows[j] = ring[((oy+j)%k)*5*ow : ((oy+j)%k+1)*5*ow]
		}
		r0, r1, r2, r3, r4, r5 := rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
		r6, r7, r8, r9, r10 := rows[6], rows[7], rows[8], rows[9], rows[10]
		for i := range acc {
			acc[i] = g[0]*(r0[i]+r10[i]) + g[1]*(r1[i]+r9[i]) + g[2]*(r2[i]+r8[i]) + g[3]*(r3[i]+r7[i]) + g[4]*(r4[i]+r6[i]) + g[5]*r5[i]
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
		rowSums[oy] = rowSum
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
