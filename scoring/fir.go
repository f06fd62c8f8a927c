package scoring

// fir11Generic applies SSIM's symmetric 11-tap window across 11 rows:
// dst[i] = g0·(r0[i]+r10[i]) + g1·(r1[i]+r9[i]) + … + g4·(r4[i]+r6[i]) +
// g5·r5[i], added left to right, which is exactly the arithmetic of
// ssimPlane's two passes (horizontal: row j is the source shifted by j;
// vertical: row j is the j-th of 11 filtered rows). fir11 (fir_amd64.go)
// does the same four values at a time.
func fir11Generic(dst []float64, rows *[11][]float64, g *[6]float64) {
	n := len(dst)
	r0, r1, r2, r3, r4, r5 := rows[0][:n], rows[1][:n], rows[2][:n], rows[3][:n], rows[4][:n], rows[5][:n]
	r6, r7, r8, r9, r10 := rows[6][:n], rows[7][:n], rows[8][:n], rows[9][:n], rows[10][:n]
	for i := range dst {
		dst[i] = g[0]*(r0[i]+r10[i]) + g[1]*(r1[i]+r9[i]) + g[2]*(r2[i]+r8[i]) + g[3]*(r3[i]+r7[i]) + g[4]*(r4[i]+r6[i]) + g[5]*r5[i]
	}
}
