//go:build !amd64 || purego

package scoring

func fir11(dst []float64, rows *[11][]float64, g *[6]float64) { fir11Generic(dst, rows, g) }

func ssimMap(dst []float64, rows *[11][]float64, g *[6]float64) { ssimMapGeneric(dst, rows, g) }

func ssimPrep[T uint8 | float64](xs, ys, xx, yy, xy []float64, a, b []T) {
	ssimPrepGeneric(xs, ys, xx, yy, xy, a, b)
}

func ssimMap2(dst []float64, ring []float64, n int, g *[6]float64) {
	for r := 0; r < 2; r++ {
		var rows [11][]float64
		for j := range rows {
			rows[j] = ring[(r+j)*ssimRingRow:]
		}
		ssimMapGeneric(dst[r*ssimMaxCh*ssimTile:r*ssimMaxCh*ssimTile+n], &rows, g)
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
