//go:build amd64 && !purego

package scoring

import "golang.org/x/sys/cpu"

//go:noescape
func quantizeAVX2(dst *uint8, p0, p1, p2 *float32, n int, dataRange float32, div bool) (finite bool)

var quantAVX2 = cpu.X86.HasAVX2

// quantizeBand is quantizeBandGeneric with the bulk of the pixels done by
// quantizeAVX2 where the CPU has AVX2: the same float32 operations in the
// same order, so the same bytes and the same verdict.
func quantizeBand(d []uint8, r, g, b []float32, dataRange float32) bool {
	n8 := len(r) &^ 7
	if !quantAVX2 || n8 == 0 {
		return quantizeBandGeneric(d, r, g, b, dataRange)
	}
	d, g, b = d[:3*len(r)], g[:len(r)], b[:len(r)] // bounds: the kernel reads and writes this much
	if !quantizeAVX2(&d[0], &r[0], &g[0], &b[0], n8, dataRange, dataRange != 1) {
		return false
	}
	return quantizeBandGeneric(d[3*n8:], r[n8:], g[n8:], b[n8:], dataRange)
}

func kernelInUse() bool { return quantAVX2 }

// setKernel turns the SIMD kernel off or on (benchmarks: old against new
// in one run) and returns the previous setting.
func setKernel(on bool) bool {
	was := quantAVX2
	quantAVX2 = on && cpu.X86.HasAVX2
	return was
}
