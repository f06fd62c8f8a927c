package scoring

// ssimPlane is the serial SSIM of one plane: the reference that the row-band
// version (ssimPlanes, with its SIMD kernels) must equal bit for bit
// (TestParallelMetricsMatchSerial, on every kernel path).
//
// It computes the mean SSIM of one plane over a w×h region: sample
// (x, y) of the region is a[off+y*rowStride+x*step] (same for b). A
// horizontal pass filters x, y, x², y², xy over each row of the region into
// five (w-10)-wide rows; a vertical pass over 11 of those rows, kept in a
// ring, yields one output row of the map at a time. Both passes use the
// window's symmetry (g[j] = g[10-j]): the two samples a weight applies to
// are added first, six multiplications instead of eleven. That changes the
// float64 rounding only (relative 1e-16; ssimPlaneRef is the plain form).
// Products are rounded on their own (float64(…)), never fused into an FMA.
// Each map row is summed in 8 interleaved partial sums (value i into sum
// i mod 8) combined pairwise, ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), and
// the row sums are added top to bottom.
func ssimPlane[T uint8 | float64](a, b []T, off, step, rowStride, w, h int) float64 {
	const k = 2*ssimRadius + 1
	ow, oh := w-2*ssimRadius, h-2*ssimRadius
	g := gaussian11
	ring := make([]float64, k*5*ow)
	xs := make([]float64, w)
	ys := make([]float64, w)
	xx := make([]float64, w)
	yy := make([]float64, w)
	xy := make([]float64, w)
	hpass := func(row int) {
		base := off + row*rowStride
		for i := 0; i < w; i++ {
			xv, yv := float64(a[base+step*i]), float64(b[base+step*i])
			xs[i], ys[i] = xv, yv
			xx[i], yy[i], xy[i] = float64(xv*xv), float64(yv*yv), float64(xv*yv)
		}
		dst := ring[(row%k)*5*ow : (row%k+1)*5*ow]
		for p, src := range [5][]float64{xs, ys, xx, yy, xy} {
			out := dst[p*ow : (p+1)*ow]
			for i := range out {
				v := src[i : i+k : i+k]
				out[i] = float64(g[0]*(v[0]+v[10])) + float64(g[1]*(v[1]+v[9])) + float64(g[2]*(v[2]+v[8])) + float64(g[3]*(v[3]+v[7])) + float64(g[4]*(v[4]+v[6])) + float64(g[5]*v[5])
			}
		}
	}
	for r := 0; r < k-1; r++ {
		hpass(r)
	}
	acc := make([]float64, 5*ow)
	var total float64
	for oy := 0; oy < oh; oy++ {
		hpass(oy + k - 1)
		var rows [k][]float64
		for j := range rows {
			rows[j] = ring[((oy+j)%k)*5*ow : ((oy+j)%k+1)*5*ow]
		}
		r0, r1, r2, r3, r4, r5 := rows[0], rows[1], rows[2], rows[3], rows[4], rows[5]
		r6, r7, r8, r9, r10 := rows[6], rows[7], rows[8], rows[9], rows[10]
		for i := range acc {
			acc[i] = float64(g[0]*(r0[i]+r10[i])) + float64(g[1]*(r1[i]+r9[i])) + float64(g[2]*(r2[i]+r8[i])) + float64(g[3]*(r3[i]+r7[i])) + float64(g[4]*(r4[i]+r6[i])) + float64(g[5]*r5[i])
		}
		mx, my, mxx, myy, mxy := acc[:ow], acc[ow:2*ow], acc[2*ow:3*ow], acc[3*ow:4*ow], acc[4*ow:5*ow]
		var s [8]float64
		for i := 0; i < ow; i++ {
			mu1, mu2 := mx[i], my[i]
			mu1sq, mu2sq, mu12 := float64(mu1*mu1), float64(mu2*mu2), float64(mu1*mu2)
			s1 := mxx[i] - mu1sq
			s2 := myy[i] - mu2sq
			s12 := mxy[i] - mu12
			s[i%8] += float64((2*mu12+ssimC1)*(2*s12+ssimC2)) / float64((mu1sq+mu2sq+ssimC1)*(s1+s2+ssimC2))
		}
		total += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
	}
	return total / float64(ow*oh)
}
