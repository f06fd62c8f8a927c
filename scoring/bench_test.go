package scoring

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/fixtures"
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

// BenchmarkScoringAB times the scoring of one DIV2K-size output (PSNR,
// PSNR-Y, SSIM: what the runner computes) as main did it before the fused
// SIMD kernels (main_ref_test.go, on main's AVX path) and as it does now,
// interleaved in rounds so that a noisy machine slows both:
//
//	go test -run - -bench ScoringAB -benchtime 10x ./scoring/ | awk -f scoring/testdata/abratio.awk
func BenchmarkScoringAB(b *testing.B) {
	x, y := div2kPair()
	old := func() {
		path := "generic" // main's path: AVX where the CPU has it
		if slices.Contains(kernelPaths(), "avx") {
			path = "avx"
		}
		restore := useKernelPath(path)
		defer restore()
		psnrMain(x, y, 4)
		psnrYMain(x, y, 4)
		ssimMain(x, y, 4)
	}
	cur := func() {
		PSNR(x, y, 4)
		PSNRY(x, y, 4)
		SSIM(x, y, 4)
	}
	// Rounds of old, new then new, old: pair round r's two results
	// (bench/abratio.awk prints the median and range of new/old).
	for r := range 6 {
		order := []string{"old", "new"}
		if r%2 == 1 {
			order = []string{"new", "old"}
		}
		for _, name := range order {
			f := old
			if name == "new" {
				f = cur
			}
			b.Run(fmt.Sprintf("%s/round%d", name, r), func(b *testing.B) {
				for b.Loop() {
					f()
				}
			})
		}
	}
}

// ssimPerChannelGoroutines is SSIM as it was: one goroutine per channel.
func ssimPerChannelGoroutines(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	var per [3]float64
	var wg sync.WaitGroup
	for c := range per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[c] = ssimPlane(sr.Pix, hr.Pix, 3*(border*sr.W+border)+c, 3, 3*sr.W, w, h)
		}()
	}
	wg.Wait()
	return (per[0] + per[1] + per[2]) / 3
}

// BenchmarkQuantizeAB: the parent's QuantizeCHWChecked (old: one pass,
// one core, a new image) against the child's QuantizeCHWInto (new: every
// core, into a reused buffer) on a 2040×1356 output.
func BenchmarkQuantizeAB(b *testing.B) {
	h, w := 1356, 2040
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]float32, 3*h*w)
	for i := range data {
		data[i] = r.Float32()*1.1 - 0.05
	}
	dst := make([]uint8, 3*h*w)
	for _, ab := range []string{"old", "new", "old", "new"} {
		b.Run(ab, func(b *testing.B) {
			for b.Loop() {
				if ab == "old" {
					QuantizeCHWChecked(data, h, w, 1)
				} else {
					QuantizeCHWInto(dst, data, h, w, 1)
				}
			}
		})
	}
}

// BenchmarkDecodePNGAB decodes DIV2K-size PNGs (3 HR stand-ins made from
// the DIV2K test LR images as bench/mkhr makes them, plus a noisy one as
// large as real DIV2K HR files) with image/png (old) and the fast path
// (new), interleaved: b.N rounds of old, new, new, old.
// Run: go test -run '^$' -bench DecodePNGAB -benchtime 5x ./scoring/
func BenchmarkDecodePNGAB(b *testing.B) {
	hr, noisy := div2kHRPNGs(b)
	b.Run("mkhr3", func(b *testing.B) { decodeAB(b, hr) })
	b.Run("noisy1", func(b *testing.B) { decodeAB(b, noisy) })
}

func decodeAB(b *testing.B, files [][]byte) {
	var old, fast time.Duration
	var ratios []float64
	for i := 0; i < b.N; i++ {
		var to, tn time.Duration
		for _, order := range []bool{false, true, true, false} {
			t0 := time.Now()
			for _, f := range files {
				var err error
				if order {
					_, err = decodePNGData(f)
				} else {
					_, err = decodePNGStd(f)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if d := time.Since(t0); order {
				tn += d
			} else {
				to += d
			}
		}
		old, fast = old+to, fast+tn
		ratios = append(ratios, float64(tn)/float64(to))
	}
	sort.Float64s(ratios)
	b.ReportMetric(float64(old.Milliseconds())/float64(2*b.N), "old-ms/set")
	b.ReportMetric(float64(fast.Milliseconds())/float64(2*b.N), "new-ms/set")
	b.ReportMetric(ratios[len(ratios)/2], "new/old-median")
	b.ReportMetric(ratios[0], "new/old-min")
	b.ReportMetric(ratios[len(ratios)-1], "new/old-max")
}

func div2kHRPNGs(b *testing.B) (hrs, noisy [][]byte) {
	dir := fixtures.Dir(b, "images", "DIV2K_test", "LR_bicubic_X4")
	names, err := ListPNGs(dir)
	if err != nil {
		b.Fatal(err)
	}
	for i, name := range names {
		lr, err := ReadPNG(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		hr := NewImage(4*lr.W, 4*lr.H)
		s := uint32(i + 1)
		for y := 0; y < hr.H; y++ {
			for x := 0; x < hr.W; x++ {
				copy(hr.Pix[3*(y*hr.W+x):3*(y*hr.W+x)+3], lr.Pix[3*((y/4)*lr.W+x/4):])
			}
		}
		var buf bytes.Buffer
		if err := EncodePNG(&buf, hr); err != nil {
			b.Fatal(err)
		}
		hrs = append(hrs, bytes.Clone(buf.Bytes()))
		if i == 0 {
			// Real DIV2K HR PNGs hold 3–5 MB: texture pixel repetition
			// lacks. Some noise makes inflate weigh as much.
			for j := range hr.Pix {
				s ^= s << 13
				s ^= s >> 17
				s ^= s << 5
				hr.Pix[j] += uint8(s % 9)
			}
			buf.Reset()
			if err := EncodePNG(&buf, hr); err != nil {
				b.Fatal(err)
			}
			b.Logf("noisy HR: %d bytes", buf.Len())
			noisy = append(noisy, buf.Bytes())
		}
	}
	return hrs, noisy
}
