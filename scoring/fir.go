package scoring

// The window kernels below have assembly twins (fir_amd64.s) that do the
// same IEEE operations in the same order on 4 (AVX) or 8 (AVX-512) values
// at a time, so every path gives the same bits. Every product is wrapped
// in float64(…): Go may otherwise fuse x*y+z into one FMA (it does on
// arm64, and on amd64 with GOAMD64=v3), which rounds once instead of
// twice and would make the scores depend on the machine. (Explicit FMA on
// every path was tried: no faster, since the kernels are bound by loads,
// and slow wherever FMA is emulated.)

// fir11Generic applies SSIM's symmetric 11-tap window across 11 rows:
// dst[i] = g0·(r0[i]+r10[i]) + g1·(r1[i]+r9[i]) + … + g4·(r4[i]+r6[i]) +
// g5·r5[i], added left to right, which is exactly the arithmetic of
// ssimPlane's two passes (horizontal: row j is the source shifted by j;
// vertical: row j is the j-th of 11 filtered rows).
func fir11Generic(dst []float64, rows *[11][]float64, g *[6]float64) {
	n := len(dst)
	r0, r1, r2, r3, r4, r5 := rows[0][:n], rows[1][:n], rows[2][:n], rows[3][:n], rows[4][:n], rows[5][:n]
	r6, r7, r8, r9, r10 := rows[6][:n], rows[7][:n], rows[8][:n], rows[9][:n], rows[10][:n]
	for i := range dst {
		dst[i] = fir11At(r0[i], r1[i], r2[i], r3[i], r4[i], r5[i], r6[i], r7[i], r8[i], r9[i], r10[i], g)
	}
}

// fir11At is one value of the window: the order of fir11Generic's sum.
func fir11At(v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10 float64, g *[6]float64) float64 {
	s := float64(g[0] * (v0 + v10))
	s += float64(g[1] * (v1 + v9))
	s += float64(g[2] * (v2 + v8))
	s += float64(g[3] * (v3 + v7))
	s += float64(g[4] * (v4 + v6))
	return s + float64(g[5]*v5)
}

// ssimLanes is the number of partial sums each channel's map row is added
// into: map column i goes to partial sum i mod 8 (see laneSum).
const ssimLanes = 8

// ssimMapAt is one SSIM-map value from the five window means (KAIR's
// formula, in its order of operations).
func ssimMapAt(mu1, mu2, mxx, myy, mxy float64) float64 {
	mu1sq, mu2sq, mu12 := float64(mu1*mu1), float64(mu2*mu2), float64(mu1*mu2)
	s1 := mxx - mu1sq
	s2 := myy - mu2sq
	s12 := mxy - mu12
	num := float64((float64(2*mu12) + ssimC1) * (float64(2*s12) + ssimC2))
	den := float64((mu1sq + mu2sq + ssimC1) * (s1 + s2 + ssimC2))
	return num / den
}

// ssimMapGeneric is the vertical window pass fused with the SSIM formula:
// rows are 11 consecutive horizontally filtered rows, each holding the
// planes x, y, x², y², xy one after the other, ssimPlaneStride apart; for
// each i < len(dst) it filters the five planes vertically (fir11At's
// arithmetic) and writes the map value (ssimMapAt) to dst[i]. It works in
// chunks of 64 values, plane by plane with fir11Generic, whose loop Go
// compiles without bounds checks.
func ssimMapGeneric(dst []float64, rows *[11][]float64, g *[6]float64) {
	const chunk = 64
	var v [5][chunk]float64
	for i0 := 0; i0 < len(dst); i0 += chunk {
		c := min(chunk, len(dst)-i0)
		for p := range v {
			var r [11][]float64
			for j := range r {
				r[j] = rows[j][p*ssimPlaneStride+i0:]
			}
			fir11Generic(v[p][:c], &r, g)
		}
		d := dst[i0 : i0+c]
		for i := range d {
			d[i] = ssimMapAt(v[0][i], v[1][i], v[2][i], v[3][i], v[4][i])
		}
	}
}

// laneSum is the sum of a channel's map row from its partial sums,
// pairwise: ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7)), where partial sum k
// has added map columns k, k+8, k+16, … left to right. Eight interleaved
// partial sums combined pairwise is how numpy's pairwise sum
// (ssim_map.mean() in KAIR) adds each block of 128 values; it lets SIMD
// code add eight values at once and keeps the rounding error smaller than
// one long running sum. It does not depend on how the row is cut into
// tiles, nor on the SIMD width.
func laneSum(l *[ssimLanes]float64) float64 {
	return ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
}
