package scoring

// quantizeBandGeneric sets d[3i+c] to the quantised value of pixel i of
// plane c (r, g, b: one band of each plane, d: the same pixels of an
// interleaved Image) and reports whether every value was finite; it stops
// at the first pixel with a NaN or ±Inf, leaving d partly written.
func quantizeBandGeneric(d []uint8, r, g, b []float32, dataRange float32) bool {
	q := quantizeFast
	if dataRange == 1 {
		q = quantizeFast1
	}
	d, g, b = d[:3*len(r)], g[:len(r)], b[:len(r)]
	for i := range r {
		rv, gv, bv := r[i], g[i], b[i]
		// finite v-v is 0; NaN and ±Inf give NaN
		if rv-rv != 0 || gv-gv != 0 || bv-bv != 0 {
			return false
		}
		d[3*i], d[3*i+1], d[3*i+2] = q(rv, dataRange), q(gv, dataRange), q(bv, dataRange)
	}
	return true
}
