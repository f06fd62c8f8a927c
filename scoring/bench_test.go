package scoring

import (
	"math/rand/v2"
	"testing"
)

// div2kPair is a 2040×1356 pair (DIV2K HR size) with noise, deterministic.
func div2kPair() (*Image, *Image) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := NewImage(2040, 1356), NewImage(2040, 1356)
	for i := range a.Pix {
		v := uint8(r.IntN(256))
		a.Pix[i] = v
		b.Pix[i] = v + uint8(r.IntN(7)) - 3
	}
	return a, b
}

func BenchmarkPSNR(b *testing.B) {
	x, y := div2kPair()
	b.SetBytes(int64(len(x.Pix)))
	for b.Loop() {
		if _, err := PSNR(x, y, 4); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPSNRY(b *testing.B) {
	x, y := div2kPair()
	for b.Loop() {
		if _, err := PSNRY(x, y, 4); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSSIM(b *testing.B) {
	x, y := div2kPair()
	for b.Loop() {
		if _, err := SSIM(x, y, 4); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResizeBicubic(b *testing.B) {
	x, _ := div2kPair()
	for b.Loop() {
		if _, err := ResizeBicubic(x, 4); err != nil {
			b.Fatal(err)
		}
	}
}
