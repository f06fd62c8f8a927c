//go:build !amd64 || purego

package scoring

func fir11(dst []float64, rows *[11][]float64, g *[6]float64) { fir11Generic(dst, rows, g) }
