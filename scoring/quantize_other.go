//go:build !amd64 || purego

package scoring

func quantizeBand(d []uint8, r, g, b []float32, dataRange float32) bool {
	return quantizeBandGeneric(d, r, g, b, dataRange)
}

func kernelInUse() bool { return false }

func setKernel(bool) bool { return false }
