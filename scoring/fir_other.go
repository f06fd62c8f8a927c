//go:build !amd64 || purego

package scoring

func fir11(dst []float64, rows *[11][]float64, g *[6]float64) { fir11Generic(dst, rows, g) }

func ssimMap(dst []float64, rows *[11][]float64, g *[6]float64) { ssimMapGeneric(dst, rows, g) }

func ssimPrep[T uint8 | float64](xs, ys, xx, yy, xy []float64, a, b []T) {
	ssimPrepGeneric(xs, ys, xx, yy, xy, a, b)
}
