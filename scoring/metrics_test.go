package scoring

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func filled(w, h int, rgb [3]uint8) *Image {
	img := NewImage(w, h)
	for i := 0; i < len(img.Pix); i += 3 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2] = rgb[0], rgb[1], rgb[2]
	}
	return img
}

func near(a, b, tol float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return a == b
	}
	return math.Abs(a-b) <= tol
}

// TestPSNRHand pins PSNR on images whose MSE is obvious.
func TestPSNRHand(t *testing.T) {
	oneOff := NewImage(2, 1) // 6 values, one differs by 6: MSE = 36/6 = 6
	oneOff.Pix[4] = 6
	// 10×10, border 1: the ring differs by 200, the 8×8 inside by exactly 1.
	ringA, ringB := filled(10, 10, [3]uint8{0, 0, 0}), filled(10, 10, [3]uint8{200, 200, 200})
	for y := 1; y < 9; y++ {
		for x := 1; x < 9; x++ {
			for c := 0; c < 3; c++ {
				ringB.Pix[3*(y*10+x)+c] = 1
			}
		}
	}
	tests := []struct {
		name   string
		a, b   *Image
		border int
		want   float64 // 20·log10(255/√MSE)
	}{
		{"mse 6", NewImage(2, 1), oneOff, 0, 40.34929110484267},
		{"border hides ring", ringA, ringB, 1, 48.1308036086791}, // MSE 1 → 20·log10(255)
		{"black vs white", filled(9, 9, [3]uint8{}), filled(9, 9, [3]uint8{255, 255, 255}), 4, 0},
		{"identical", ringB, ringB, 0, math.Inf(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PSNR(tt.a, tt.b, tt.border)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tt.want, 1e-12) {
				t.Errorf("PSNR = %.15g, want %.15g", got, tt.want)
			}
			// PSNR is symmetric.
			if rev, _ := PSNR(tt.b, tt.a, tt.border); rev != got {
				t.Errorf("PSNR not symmetric: %v vs %v", got, rev)
			}
		})
	}
}

func TestMetricErrors(t *testing.T) {
	a := NewImage(20, 20)
	tests := []struct {
		name   string
		b      *Image
		border int
		want   error
	}{
		{"size mismatch", NewImage(20, 21), 0, ErrSizeMismatch},
		{"border eats all", NewImage(20, 20), 10, ErrEmpty},
		{"negative border", NewImage(20, 20), -1, ErrInvalid},
		{"nil", nil, 0, ErrInvalid},
		{"bad pix", &Image{W: 20, H: 20, Pix: make([]uint8, 5)}, 0, ErrInvalid},
	}
	metrics := map[string]func(a, b *Image, border int) (float64, error){
		"PSNR": PSNR, "PSNRY": PSNRY, "SSIM": SSIM, "SSIMY": SSIMY,
	}
	for _, tt := range tests {
		for mname, m := range metrics {
			if _, err := m(a, tt.b, tt.border); !errors.Is(err, tt.want) {
				t.Errorf("%s %s: err = %v, want %v", mname, tt.name, err, tt.want)
			}
		}
	}
	if _, err := PSNR(NewImage(0, 0), NewImage(0, 0), 0); !errors.Is(err, ErrEmpty) {
		t.Errorf("PSNR of empty images: %v, want ErrEmpty", err)
	}
	// SSIM needs an 11×11 region after the crop; PSNR does not.
	if _, err := SSIM(NewImage(18, 30), NewImage(18, 30), 4); !errors.Is(err, ErrEmpty) {
		t.Errorf("SSIM on 10-wide region: %v, want ErrEmpty", err)
	}
	if _, err := PSNR(NewImage(18, 30), NewImage(18, 30), 4); err != nil {
		t.Errorf("PSNR on 10-wide region: %v", err)
	}
}

func TestPSNRYHand(t *testing.T) {
	// White: Y = 16 + (65.481+128.553+24.966)·255/255 = 235; black: 16.
	got, err := PSNRY(filled(12, 12, [3]uint8{255, 255, 255}), filled(12, 12, [3]uint8{}), 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := 20 * math.Log10(255.0/219); !near(got, want, 1e-12) {
		t.Errorf("PSNRY = %v, want %v", got, want)
	}
	// Pure red 1 vs 0: Y = 16.2568 vs 16. KAIR rounds both to 16 (+Inf);
	// unrounded, the difference is 65.481/255.
	r1, r0 := filled(3, 3, [3]uint8{1, 0, 0}), filled(3, 3, [3]uint8{})
	if got, _ := PSNRY(r1, r0, 0); !math.IsInf(got, 1) {
		t.Errorf("rounded PSNRY = %v, want +Inf", got)
	}
	got, _ = PSNRYUnrounded(r1, r0, 0)
	if want := 20 * math.Log10(255/(65.481/255)); !near(got, want, 1e-9) {
		t.Errorf("unrounded PSNRY = %v, want %v", got, want)
	}
}

// TestSSIMHand uses flat images: every window has σ=0, so the SSIM map is
// (2ab+C1)/(a²+b²+C1) everywhere, with a and b the two levels.
func TestSSIMHand(t *testing.T) {
	c1 := math.Pow(0.01*255, 2)
	flat := func(a, b float64) float64 { return (2*a*b + c1) / (a*a + b*b + c1) }
	tests := []struct {
		name string
		a, b [3]uint8
		want float64
	}{
		{"same level", [3]uint8{9, 9, 9}, [3]uint8{9, 9, 9}, 1},
		{"100 vs 110", [3]uint8{100, 100, 100}, [3]uint8{110, 110, 110}, flat(100, 110)},
		// Per-channel mean (KAIR): R and B are 1, G is C1/(255²+C1).
		{"one channel black/white", [3]uint8{0, 255, 50}, [3]uint8{0, 0, 50}, (2 + flat(255, 0)) / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SSIM(filled(30, 25, tt.a), filled(30, 25, tt.b), 4)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tt.want, 1e-12) {
				t.Errorf("SSIM = %.15g, want %.15g", got, tt.want)
			}
		})
	}
	// A textured image against itself is exactly 1, not 1±ε.
	img := NewImage(40, 33)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 37 % 251)
	}
	if got, _ := SSIM(img, img, 4); got != 1 {
		t.Errorf("SSIM(img, img) = %.17g, want exactly 1", got)
	}
}

func TestMean(t *testing.T) {
	if got := Mean([]float64{30, 31, 32.5}); got != 31.166666666666668 {
		t.Errorf("Mean = %v", got)
	}
	if !math.IsNaN(Mean(nil)) {
		t.Error("Mean(nil) should be NaN")
	}
	if !math.IsInf(Mean([]float64{30, math.Inf(1)}), 1) {
		t.Error("Mean with +Inf should be +Inf")
	}
}

// TestYRoundedIntExhaustive: the integer luma equals the float64 one on
// all 2^24 RGB values.
func TestYRoundedIntExhaustive(t *testing.T) {
	ties := 0
	for c := 0; c < 1<<24; c++ {
		r, g, b := uint8(c>>16), uint8(c>>8), uint8(c)
		if got, want := yRoundedInt(r, g, b), yRounded(r, g, b); got != want {
			t.Fatalf("yRoundedInt(%d, %d, %d) = %d, yRounded %d", r, g, b, got, want)
		}
		if (65481*int(r)+128553*int(g)+24966*int(b))%255000 == 127500 {
			ties++
		}
	}
	t.Logf("%d exact ties", ties)
}

// TestYSqDiffRowTies: the row sum of squared luma differences equals the
// float64 formula's on rows with and without exact ties (in the SIMD bulk
// and in the tail), on every kernel path.
func TestYSqDiffRowTies(t *testing.T) {
	var ties []uint8
	for c := 0; c < 1<<24 && len(ties) < 3*20; c++ {
		r, g, b := uint8(c>>16), uint8(c>>8), uint8(c)
		if (65481*int(r)+128553*int(g)+24966*int(b))%255000 == 127500 {
			ties = append(ties, r, g, b)
		}
	}
	if len(ties) == 0 {
		t.Fatal("no exact ties found")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for k := 0; k < 400; k++ {
		path := kernelPaths()[k%len(kernelPaths())]
		restore := useKernelPath(path)
		defer restore()
		n := 1 + rng.IntN(100)
		a, b := make([]uint8, 3*n), make([]uint8, 3*n)
		for i := range a {
			a[i], b[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
		}
		if k%3 == 0 { // all 0 against all 255
			for i := range a {
				a[i], b[i] = 0, 255
			}
		}
		if k%2 == 0 { // a tie in a or b
			dst := a
			if k%4 == 0 {
				dst = b
			}
			j := 3 * rng.IntN(len(ties)/3)
			copy(dst[3*rng.IntN(n):], ties[j:j+3])
		}
		var want uint64
		for i := 0; i < len(a); i += 3 {
			d := int64(yRounded(a[i], a[i+1], a[i+2])) - int64(yRounded(b[i], b[i+1], b[i+2]))
			want += uint64(d * d)
		}
		if got := ySqDiffRow(a, b); got != want {
			t.Fatalf("%s row %d (%d pixels): %d, float64 formula %d", path, k, n, got, want)
		}
		restore()
	}
}

// TestSqDiffRowPaths: the row sum of squared differences is exact on every
// kernel path, for every tail length and the extreme values.
func TestSqDiffRowPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, path := range kernelPaths() {
		restore := useKernelPath(path)
		for n := 0; n < 200; n++ {
			a, b := make([]uint8, n), make([]uint8, n)
			for i := range a {
				a[i], b[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
				if n%3 == 0 {
					a[i], b[i] = 255, 0
				}
			}
			var want uint64
			for i := range a {
				d := int(a[i]) - int(b[i])
				want += uint64(d * d)
			}
			if got := sqDiffRow(a, b); got != want {
				t.Errorf("%s n=%d: %d, want %d", path, n, got, want)
			}
		}
		restore()
	}
}
