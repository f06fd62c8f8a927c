//go:build !amd64 || purego

package scoring

func fir11(dst []float64, rows *[11][]float64, g *[6]float64) { fir11Generic(dst, rows, g) }

func ssimMap(dst []float64, rows *[11][]float64, g *[6]float64) { ssimMapGeneric(dst, rows, g) }

func ssimPrep[T uint8 | float64](xs, ys, xx, yy, xy []float64, a, b []T) {
	ssimPrepGeneric(xs, ys, xx, yy, xy, a, b)
}

func ssimMap2(dst []float64, rows *[12][]float64, n int, g *[6]float64) {
	for r := 0; r < 2; r++ {
		var rr [11][]float64
		copy(rr[:], rows[r:])
		ssimMapGeneric(dst[r*ssimMaxCh*ssimTile:r*ssimMaxCh*ssimTile+n], &rr, g)
	}
}

func fir11Row(dst, src []float64, ch int, g *[6]float64) {
	var rows [11][]float64
	for j := range rows {
		rows[j] = src[ch*j:]
	}
	fir11Generic(dst, &rows, g)
}

func ySqDiffBulk(a, b []uint8) (sum uint64, done int, tie bool) { return 0, 0, false }

func sqDiffBulk(a, b []uint8) (sum uint64, done int) { return 0, 0 }
