package scoring

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/srarena/srarena/internal/fixtures"
)

// Serial forms of the metrics as they were before the parallel ones: the
// references of TestParallelMetricsMatchSerial and the "old" side of
// BenchmarkScoringAB.

func psnrSerial(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	var sum uint64
	for y := border; y < border+h; y++ {
		o := 3 * (y*sr.W + border)
		for i, av := range sr.Pix[o : o+3*w] {
			d := int32(av) - int32(hr.Pix[o+i])
			sum += uint64(d * d)
		}
	}
	return psnrFromMSE(float64(sum) / float64(3*w*h))
}

func psnrYSerial(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	var sum uint64
	for y := border; y < border+h; y++ {
		o := 3 * (y*sr.W + border)
		a, b := sr.Pix[o:o+3*w], hr.Pix[o:o+3*w]
		for i := 0; i+2 < len(a); i += 3 {
			d := int64(yRounded(a[i], a[i+1], a[i+2])) - int64(yRounded(b[i], b[i+1], b[i+2]))
			sum += uint64(d * d)
		}
	}
	return psnrFromMSE(float64(sum) / float64(w*h))
}

func ssimSerial(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	var per [3]float64
	for c := range per {
		per[c] = ssimPlane(sr.Pix, hr.Pix, 3*(border*sr.W+border)+c, 3, 3*sr.W, w, h)
	}
	return (per[0] + per[1] + per[2]) / 3
}

func ssimYSerial(sr, hr *Image, border int) float64 {
	w, h, _ := cropPair(sr, hr, border)
	return ssimPlane(Y(sr, true), Y(hr, true), border*sr.W+border, 1, sr.W, w, h)
}

// realPairs are (SR, HR) pairs from the fixtures: every Set5 HR image
// against its LR upscaled by pixel repetition, and every DIV2K test LR image
// (510×339) against itself bicubic-downscaled ×4 and repeated back.
func realPairs(t testing.TB) (names []string, srs, hrs []*Image) {
	set5 := fixtures.Dir(t, "images", "Set5")
	ents, err := os.ReadDir(filepath.Join(set5, "HR"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ".png")
		hr, err := ReadPNG(filepath.Join(set5, "HR", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lr, err := ReadPNG(filepath.Join(set5, "LR_bicubic_X4", name+"x4.png"))
		if err != nil {
			t.Fatal(err)
		}
		names, srs, hrs = append(names, "Set5/"+name), append(srs, upscaleNearest(lr, 4)), append(hrs, ModCrop(hr, 4))
	}
	div2k := fixtures.Dir(t, "images", "DIV2K_test", "LR_bicubic_X4")
	ents, err = os.ReadDir(div2k)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		img, err := ReadPNG(filepath.Join(div2k, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		img = ModCrop(img, 4)
		small, err := ResizeBicubic(img, 4)
		if err != nil {
			t.Fatal(err)
		}
		names, srs, hrs = append(names, "DIV2K/"+e.Name()), append(srs, upscaleNearest(small, 4)), append(hrs, img)
	}
	return names, srs, hrs
}

// TestParallelMetricsMatchSerial: the row-band metrics give exactly the
// serial implementations' values on real images (the brief asked for 12
// significant digits; they are bit-identical), on any number of cores.
func TestParallelMetricsMatchSerial(t *testing.T) {
	names, srs, hrs := realPairs(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 5} {
		runtime.GOMAXPROCS(procs)
		for i, name := range names {
			sr, hr := srs[i], hrs[i]
			for _, m := range []struct {
				metric string
				fast   func(a, b *Image, border int) (float64, error)
				serial func(a, b *Image, border int) float64
			}{{"PSNR", PSNR, psnrSerial}, {"PSNR-Y", PSNRY, psnrYSerial}, {"SSIM", SSIM, ssimSerial}, {"SSIM-Y", SSIMY, ssimYSerial}} {
				got, err := m.fast(sr, hr, 4)
				if err != nil {
					t.Fatal(err)
				}
				want := m.serial(sr, hr, 4)
				if got != want || math.IsNaN(got) {
					t.Errorf("%s %s on %d cores: %.17g, serial %.17g (relative %.2g)", name, m.metric, procs, got, want, math.Abs(got-want)/math.Abs(want))
				}
				if procs == 2 && i == len(names)-1 {
					t.Logf("%s %s = %.15g (serial %.15g)", name, m.metric, got, want)
				}
			}
		}
	}
}

// TestQuantizeFastExact: the branch-free quantisers equal quantize on
// every finite value that matters: all float32 in [-0.01, 1.01] (and the
// same ×255 for data range 255) around every rounding tie, plus random bit
// patterns of every exponent.
func TestQuantizeFastExact(t *testing.T) {
	check := func(v float32) {
		for _, dr := range []float32{1, 255} {
			x := v
			if dr == 255 {
				x = v * 255
			}
			want := quantize(x, dr)
			got := quantizeFast(x, dr)
			if dr == 1 {
				if g1 := quantizeFast1(x, dr); g1 != want {
					t.Fatalf("quantizeFast1(%v) = %d, want %d", x, g1, want)
				}
			}
			if got != want {
				t.Fatalf("quantizeFast(%v, %v) = %d, want %d", x, dr, got, want)
			}
		}
	}
	// Every float32 near each of the 256 ties (k+0.5)/255 and near 0 and 1.
	for k := -1; k <= 256; k++ {
		c := float32((float64(k) + 0.5) / 255)
		lo, hi := math.Float32bits(c), math.Float32bits(c)
		for i := 0; i < 2000; i++ {
			check(math.Float32frombits(lo))
			check(math.Float32frombits(hi))
			if lo > 0 {
				lo--
			}
			hi++
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 2_000_000; i++ {
		v := math.Float32frombits(r.Uint32())
		if v-v == 0 { // finite
			check(v)
		}
		check(r.Float32()*1.2 - 0.1)
	}
}

// TestQuantizeCHWIntoMatchesChecked: the parallel HWC quantiser writes
// QuantizeCHWChecked's pixels and reports the same first non-finite value,
// over bands and planes.
func TestQuantizeCHWIntoMatchesChecked(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {5, 7}, {quantBand + 3, 33}, {3*quantBand + 1, 17}} {
		h, w := sz[0], sz[1]
		data := make([]float32, 3*h*w)
		for i := range data {
			data[i] = float32(i%611)/500 - 0.1
		}
		data[len(data)/2] = 0.5 / 255 // an exact .5: round half to even
		for _, dr := range []float32{1, 255} {
			d := data
			if dr == 255 {
				d = make([]float32, len(data))
				for i, v := range data {
					d[i] = v * 255
				}
			}
			want, bad, err := QuantizeCHWChecked(d, h, w, dr)
			if err != nil || bad != -1 {
				t.Fatal(bad, err)
			}
			got := make([]uint8, 3*h*w)
			if bad, err := QuantizeCHWInto(got, d, h, w, dr); err != nil || bad != -1 || string(got) != string(want.Pix) {
				t.Fatalf("%dx%d range %v: bad %d err %v, equal %v", w, h, dr, bad, err, string(got) == string(want.Pix))
			}
		}
		n := len(data)
		for _, at := range [][]int{{0}, {n - 1}, {n / 3, 2}, {2 * n / 3, n/3 + 1}, {n - 1, n / 2}} {
			d := append([]float32(nil), data...)
			for k, i := range at {
				d[i] = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}[k%3]
			}
			_, want, _ := QuantizeCHWChecked(d, h, w, 1)
			got, err := QuantizeCHWInto(make([]uint8, 3*h*w), d, h, w, 1)
			if err != nil || got != want || want < 0 {
				t.Errorf("%dx%d non-finite at %v: got %d, want %d (%v)", w, h, at, got, want, err)
			}
		}
	}
	if _, err := QuantizeCHWInto(make([]uint8, 5), make([]float32, 6), 1, 2, 1); err == nil {
		t.Error("a short destination was accepted")
	}
}

// TestSSIMReusedScratch: the scratch and lanes kept from call to call
// (sync.Pool) change no bit: an image scored again after larger and
// smaller ones, on one and several workers, gives its first value.
func TestSSIMReusedScratch(t *testing.T) {
	mk := func(w, h int, seed uint64) (*Image, *Image) {
		r := rand.New(rand.NewPCG(seed, 7))
		a, b := NewImage(w, h), NewImage(w, h)
		for i := range a.Pix {
			a.Pix[i] = uint8(r.IntN(256))
			b.Pix[i] = uint8(int(a.Pix[i]) + r.IntN(9) - 4)
		}
		return a, b
	}
	a1, a2 := mk(301, 77, 1)
	first, err := SSIM(a1, a2, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, sz := range [][2]int{{900, 400}, {40, 30}, {1200, 23}} {
		x, y := mk(sz[0], sz[1], uint64(sz[0]))
		if _, err := SSIM(x, y, 4); err != nil {
			t.Fatal(err)
		}
		again, err := SSIM(a1, a2, 4)
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Fatalf("after a %d×%d image: %v, first %v", sz[0], sz[1], again, first)
		}
	}
}
