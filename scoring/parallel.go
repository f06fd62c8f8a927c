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

// QuantizeSIMD reports whether QuantizeCHWInto uses the vector kernel on
// this machine (amd64 with AVX2) rather than the portable loop, which takes
// ≈ 14× the CPU time (2.4 ms per MiB of output on a 2-core amd64 VM). The
// sandbox's parent allows for the child's quantisation by it.
func QuantizeSIMD() bool { return kernelInUse() }

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

// ssimMinBand is the fewest SSIM-map rows one task computes. Each task
// filters the 10 input rows above its band again (the window's height − 1),
// so bands are as tall as four per core allow, and never shorter than
// this: at most 16 % extra work.
const ssimMinBand = 64

// ssimPlanes is the mean SSIM of each of ch interleaved channels over a
// w×h region, computed in row bands on every core: sample (x, y) of
// channel c is a[off+c+y*rowStride+x*ch] (the RGB pixels of an Image with
// ch = 3, a Y plane with ch = 1). All channels are filtered together, as
// one row of ch·w values whose window taps are ch apart. Each channel's
// map row is summed in ssimLanes interleaved partial sums combined by
// laneSum, and the row sums are added top to bottom: a fixed order,
// whatever the bands, tiles, cores and SIMD width (ssimPlane in
// ssim_serial_test.go is the serial reference, channel by channel).
func ssimPlanes[T uint8 | float64](a, b []T, off, ch, rowStride, w, h int) []float64 {
	if ch < 1 || ch > ssimMaxCh {
		panic("scoring: ssimPlanes channels out of range")
	}
	ow, oh := w-2*ssimRadius, h-2*ssimRadius
	band := max(ssimMinBand, (oh+4*numWorkers()-1)/(4*numWorkers()))
	bands := (oh + band - 1) / band
	lp := ssimLanesPool.Get().(*[][ssimMaxCh * ssimLanes]float64)
	defer ssimLanesPool.Put(lp)
	if cap(*lp) < oh {
		*lp = make([][ssimMaxCh * ssimLanes]float64, oh)
	}
	lanes := (*lp)[:oh]
	clear(lanes)
	scratch := make([]*ssimScratch, numWorkers())
	defer func() {
		for _, s := range scratch {
			if s != nil {
				ssimScratchPool.Put(s)
			}
		}
	}()
	parallelFor(bands, func(wk, t int) {
		s := scratch[wk]
		if s == nil {
			s = ssimScratchPool.Get().(*ssimScratch)
			scratch[wk] = s
		}
		oy0, oy1 := t*band, min((t+1)*band, oh)
		ssimRows(a, b, off, ch, rowStride, w, oy0, oy1, s, lanes)
	})
	out := make([]float64, ch)
	for c := range out {
		var total float64
		for oy := range lanes {
			var l [ssimLanes]float64
			for k := range l {
				l[k] = lanes[oy][k*ch+c]
			}
			total += laneSum(&l)
		}
		out[c] = total / float64(ow*oh)
	}
	return out
}

// ssimMaxCh is the most interleaved channels ssimPlanes takes (RGB).
const ssimMaxCh = 3

// ssimTile is the width, in SSIM-map columns, that ssimRows filters at a
// time: its ring of 12 filtered rows × 5 planes × 3 channels then stays in
// the core's L2 cache (360 KiB) instead of spilling whole rows (2.7 MiB
// for 2040 RGB pixels), while the 10 columns each tile filters again
// cost 4 %. A multiple of 8, so that tiles start at partial sum 0.
const ssimTile = 256

// ssimPlaneStride is the distance between the five planes of a ring row,
// which the assembly has as a constant (PLANE in fir_amd64.s: keep them
// equal). One cache line more than 3·ssimTile puts the 60 streams that the
// vertical pass reads (12 rows × 5 planes) in 60 different L1 cache sets;
// at a multiple of 2 KiB they fall in a few sets and evict each other,
// which made that pass twice as slow.
const ssimPlaneStride = ssimMaxCh*ssimTile + 8

var _ = [1]struct{}{}[ssimPlaneStride-776] // fir_amd64.s: PLANE = 776·8

// ssimRingRow is the length of one filtered row in the ring: five planes.
const ssimRingRow = 5 * ssimPlaneStride

// ssimRingRows is the number of filtered rows the ring keeps: the 12 that
// two consecutive map rows need; row r is at r mod 12.
const ssimRingRows = 2*ssimRadius + 2

type ssimScratch struct {
	ring, xs, ys, xx, yy, xy, m []float64
}

// The scratch and the lanes are kept from call to call: a runner scores
// image after image, and fresh memory for them (≈ 1 MiB a call) is a page
// fault per 4 KiB, up to 11 µs each on a VM whose memory the host backs
// lazily. ssimRows writes every scratch value before reading it (a worker
// already reuses its scratch from band to band), so reuse changes no bit.
var (
	ssimScratchPool = sync.Pool{New: func() any { return newSSIMScratch() }}
	ssimLanesPool   = sync.Pool{New: func() any { return new([][ssimMaxCh * ssimLanes]float64) }}
)

func newSSIMScratch() *ssimScratch {
	const k = 2*ssimRadius + 1
	iw := ssimMaxCh*(ssimTile+k-1) + 8 // + slack for fir11Row
	return &ssimScratch{ring: make([]float64, ssimRingRows*ssimRingRow), xs: make([]float64, iw), ys: make([]float64, iw),
		xx: make([]float64, iw), yy: make([]float64, iw), xy: make([]float64, iw), m: make([]float64, 2*ssimMaxCh*ssimTile)}
}

// ssimRows adds SSIM-map rows [oy0, oy1) into lanes[oy] (which start at
// 0): ssimPlane's method (see there) on ch interleaved channels at once,
// over part of the rows, tile by tile across the columns. The horizontal
// pass is fir11Row on each of the five planes x, y, x², y², xy; the vertical
// pass and the formula are one step, ssimMap2 (two map rows at a time) or
// ssimMap. Map value e of a row (column e/ch, channel e mod ch) is added
// to lanes[oy][e mod 8·ch]: partial sum (e/ch) mod 8 of its channel, since
// tiles start at multiples of 8 columns.
func ssimRows[T uint8 | float64](a, b []T, off, ch, rowStride, w, oy0, oy1 int, s *ssimScratch, lanes [][ssimMaxCh * ssimLanes]float64) {
	const k = 2*ssimRadius + 1
	const kr = ssimRingRows
	ow := w - 2*ssimRadius
	nl := ssimLanes * ch
	g := gaussian11
	g6 := [6]float64{g[0], g[1], g[2], g[3], g[4], g[5]}
	for ox0 := 0; ox0 < ow; ox0 += ssimTile {
		tw := min(ssimTile, ow-ox0) // map columns of this tile
		n := ch * tw                // map values per row
		iw := ch * (tw + k - 1)     // input values per row
		xs, ys, xx, yy, xy := s.xs[:iw], s.ys[:iw], s.xx[:iw], s.yy[:iw], s.xy[:iw]
		hpass := func(row int) {
			base := off + row*rowStride + ch*ox0
			ssimPrep(xs, ys, xx, yy, xy, a[base:base+iw], b[base:base+iw])
			r := row % kr
			dst := s.ring[r*ssimRingRow : (r+1)*ssimRingRow]
			for p, src := range [5][]float64{xs, ys, xx, yy, xy} {
				fir11Row(dst[p*ssimPlaneStride:p*ssimPlaneStride+n], src, ch, &g6)
			}
		}
		addRow := func(oy int, m []float64) {
			l := lanes[oy][:nl]
			for e0 := 0; e0 < n; e0 += nl {
				chunk := m[e0:min(e0+nl, n)]
				lc := l[:len(chunk)]
				for j, v := range chunk {
					lc[j] += v
				}
			}
		}
		for r := oy0; r < oy0+k-1; r++ {
			hpass(r)
		}
		m0, m1 := s.m[:n], s.m[ssimMaxCh*ssimTile:][:n]
		ringRow := func(row int) []float64 {
			r := row % kr
			return s.ring[r*ssimRingRow : (r+1)*ssimRingRow]
		}
		oy := oy0
		for ; oy+1 < oy1; oy += 2 {
			hpass(oy + k - 1)
			hpass(oy + k)
			var rows [kr][]float64
			for j := range rows {
				rows[j] = ringRow(oy + j)
			}
			ssimMap2(s.m, &rows, n, &g6)
			addRow(oy, m0)
			addRow(oy+1, m1)
		}
		if oy < oy1 {
			hpass(oy + k - 1)
			var rows [k][]float64
			for j := range rows {
				rows[j] = ringRow(oy + j)
			}
			ssimMap(m0, &rows, &g6)
			addRow(oy, m0)
		}
	}
}

// ssimPrepGeneric converts one row of samples of both images to float64 with
// their squares and products: the five planes the window filters.
// Samples are integers (uint8, or rounded Y), so every value is exact.
func ssimPrepGeneric[T uint8 | float64](xs, ys, xx, yy, xy []float64, a, b []T) {
	n := len(a)
	b, xs, ys, xx, yy, xy = b[:n], xs[:n], ys[:n], xx[:n], yy[:n], xy[:n]
	for i, av := range a {
		x, y := float64(av), float64(b[i])
		xs[i], ys[i] = x, y
		xx[i], yy[i], xy[i] = float64(x*x), float64(y*y), float64(x*y)
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
