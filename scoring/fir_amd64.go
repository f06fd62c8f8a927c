//go:build amd64 && !purego

package scoring

import "golang.org/x/sys/cpu"

//go:noescape
func fir11AVX(dst *float64, rows *[11]*float64, n int, taps *[6]float64)

var haveAVX = cpu.X86.HasAVX

// fir11 is fir11Generic with the bulk of dst done by fir11AVX where the
// CPU has AVX: the same operations in the same order, bit-identical.
func fir11(dst []float64, rows *[11][]float64, g *[6]float64) {
	n4 := len(dst) &^ 3
	if !haveAVX || n4 == 0 {
		fir11Generic(dst, rows, g)
		return
	}
	var p [11]*float64
	for j := range p {
		r := rows[j][:len(dst)] // bounds: every row covers dst
		p[j] = &r[0]
	}
	fir11AVX(&dst[0], &p, n4, g)
	if n4 < len(dst) {
		var tail [11][]float64
		for j := range tail {
			tail[j] = rows[j][n4:]
		}
		fir11Generic(dst[n4:], &tail, g)
	}
}
