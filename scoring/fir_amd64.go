//go:build amd64 && !purego

package scoring

import "golang.org/x/sys/cpu"

//go:noescape
func fir11AVX(dst *float64, rows *[11]*float64, n int, taps *[6]float64)

//go:noescape
func fir11AVX512(dst *float64, rows *[11]*float64, n int, taps *[6]float64)

//go:noescape
func ssimMapAVX(dst *float64, rows *[11]*float64, n int, taps *[6]float64, c *[2]float64)

//go:noescape
func ssimMapAVX512(dst *float64, rows *[11]*float64, n int, taps *[6]float64, c *[2]float64)

//go:noescape
func ssimMap2AVX512(dst *float64, rows *[12]*float64, n int, taps *[6]float64, c *[2]float64)

//go:noescape
func fir11S3AVX512(dst, src *float64, n int, taps *[6]float64)

//go:noescape
func ySqDiffAVX2(a, b *uint8, n int) (sum float64, tie int)

//go:noescape
func sqDiffAVX2(a, b *uint8, n int) uint64

//go:noescape
func ssimPrepAVX(dst *[5]*float64, a, b *uint8, n int)

// The kernels' paths: haveAVX for the 4-wide kernels, haveAVX512 for the
// 8-wide ones. Variables, so that tests can take every path the CPU has
// and compare them bit for bit.
var (
	haveAVX    = cpu.X86.HasAVX
	haveAVX512 = haveAVX && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL // x/sys/cpu checks that the OS keeps ZMM state
	haveAVX2   = haveAVX && cpu.X86.HasAVX2                           // ySqDiffAVX2
)

// fir11 is fir11Generic with the bulk of dst done eight (AVX-512) or four
// (AVX) values at a time: the same operations in the same order,
// bit-identical.
func fir11(dst []float64, rows *[11][]float64, g *[6]float64) {
	n := len(dst)
	if !haveAVX || n < 4 {
		fir11Generic(dst, rows, g)
		return
	}
	var p [11]*float64
	for j := range p {
		r := rows[j][:n] // bounds: every row covers dst
		p[j] = &r[0]
	}
	done := 0
	if n8 := n &^ 7; haveAVX512 && n8 > 0 {
		fir11AVX512(&dst[0], &p, n8, g)
		done = n8
	}
	if n4 := n &^ 3; n4 > done {
		var q [11]*float64
		for j := range q {
			q[j] = &rows[j][done]
		}
		fir11AVX(&dst[done], &q, n4-done, g)
		done = n4
	}
	if done < n {
		var tail [11][]float64
		for j := range tail {
			tail[j] = rows[j][done:]
		}
		fir11Generic(dst[done:], &tail, g)
	}
}

// fir11Row is fir11 on the rows src[ch·j:], j = 0..10: the horizontal
// pass over ch interleaved channels. For RGB with AVX-512 it is
// fir11S3AVX512, bit-identical. The kernel reads up to 2 values past the
// 30 after dst's end: src's capacity must hold them (newSSIMScratch's
// buffers have slack).
func fir11Row(dst, src []float64, ch int, g *[6]float64) {
	n := len(dst)
	done := 0
	if n8 := n &^ 7; ch == 3 && haveAVX512 && n8 > 0 {
		s := src[:n8+32] // bounds: what the kernel reads, within cap
		fir11S3AVX512(&dst[0], &s[0], n8, g)
		done = n8
	}
	if done < n {
		var rows [11][]float64
		for j := range rows {
			rows[j] = src[done+ch*j:]
		}
		fir11(dst[done:], &rows, g)
	}
}

// ssimMap is ssimMapGeneric with the bulk of dst done by ssimMapAVX512
// or ssimMapAVX: the same operations in the same order, bit-identical.
func ssimMap(dst []float64, rows *[11][]float64, g *[6]float64) {
	n := len(dst)
	done := 0
	if haveAVX && n >= 4 {
		var p [11]*float64
		for j := range p {
			r := rows[j][:4*ssimPlaneStride+n] // bounds: all five planes
			p[j] = &r[0]
		}
		if n8 := n &^ 7; haveAVX512 && n8 > 0 {
			ssimMapAVX512(&dst[0], &p, n8, g, &ssimConsts)
			done = n8
		}
		if n4 := n &^ 3; n4 > done {
			for j := range p {
				p[j] = &rows[j][done]
			}
			ssimMapAVX(&dst[done], &p, n4-done, g, &ssimConsts)
			done = n4
		}
	}
	if done < n {
		var tail [11][]float64
		for j := range tail {
			tail[j] = rows[j][done:]
		}
		ssimMapGeneric(dst[done:], &tail, g)
	}
}

// ssimMap2 is ssimMap for two consecutive map rows, into dst[:n] and
// dst[3·ssimTile:][:n]; rows are the 12 filtered rows they need. With
// AVX-512 one kernel loads each row once for both map rows; elsewhere it
// is ssimMap twice. Bit-identical either way.
func ssimMap2(dst []float64, rows *[12][]float64, n int, g *[6]float64) {
	done := 0
	if n8 := n &^ 7; haveAVX512 && n8 > 0 {
		var p [12]*float64
		for j := range p {
			r := rows[j][:4*ssimPlaneStride+n8] // bounds: all five planes
			p[j] = &r[0]
		}
		_ = dst[ssimMaxCh*ssimTile+n8-1]
		ssimMap2AVX512(&dst[0], &p, n8, g, &ssimConsts)
		done = n8
	}
	for r := 0; r < 2 && done < n; r++ {
		var rr [11][]float64
		for j := range rr {
			rr[j] = rows[r+j][done:]
		}
		ssimMap(dst[r*ssimMaxCh*ssimTile+done:r*ssimMaxCh*ssimTile+n], &rr, g)
	}
}

// ssimConsts is C1, C2 for the assembly.
var ssimConsts = [2]float64{ssimC1, ssimC2}

// ssimPrep is ssimPrepGeneric, four values at a time with AVX on uint8
// rows (integer conversions and products: exact, the same values).
func ssimPrep[T uint8 | float64](xs, ys, xx, yy, xy []float64, a, b []T) {
	n := len(a)
	done := 0
	if a8, ok := any(a).([]uint8); ok && haveAVX && n >= 4 {
		b8 := any(b).([]uint8)[:n]
		done = n &^ 3
		dst := [5]*float64{&xs[:n][0], &ys[:n][0], &xx[:n][0], &yy[:n][0], &xy[:n][0]}
		ssimPrepAVX(&dst, &a8[0], &b8[0], done)
	}
	if done < n {
		ssimPrepGeneric(xs[done:], ys[done:], xx[done:], yy[done:], xy[done:], a[done:], b[done:])
	}
}

// ySqDiffBulk is ySqDiffRow's sum over the first done bytes of the RGB
// rows a and b (a multiple of 8 pixels) by ySqDiffAVX2: exact, the same
// integer. tie reports an exact luma tie among those pixels, where the sum
// is not valid.
func ySqDiffBulk(a, b []uint8) (sum uint64, done int, tie bool) {
	n := len(a) / 3 &^ 7
	if !haveAVX2 || n == 0 {
		return 0, 0, false
	}
	a, b = a[:3*n], b[:3*n]
	s, t := ySqDiffAVX2(&a[0], &b[0], n)
	return uint64(s), 3 * n, t != 0
}

// sqDiffBulk is Σ (a[i] − b[i])² over the first done bytes (a multiple of
// 16) by sqDiffAVX2: exact integers, the same sum.
func sqDiffBulk(a, b []uint8) (sum uint64, done int) {
	n := len(a) &^ 15
	if !haveAVX2 || n == 0 {
		return 0, 0
	}
	a, b = a[:n], b[:n]
	return sqDiffAVX2(&a[0], &b[0], n), n
}
