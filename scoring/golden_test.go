package scoring

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/srarena/srarena/internal/fixtures"
)

// upscaleNearest repeats every pixel f×f times: a trivial, exactly
// reproducible "SR" output for golden tests.
func upscaleNearest(img *Image, f int) *Image {
	out := NewImage(img.W*f, img.H*f)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			copy(out.Pix[3*(y*out.W+x):3*(y*out.W+x)+3], img.Pix[3*((y/f)*img.W+x/f):])
		}
	}
	return out
}

// TestGoldenSet5 pins PSNR/SSIM (RGB and Y, border 4) of nearest-upscaled
// Set5 LR ×4 against mod-cropped HR. The values were computed independently
// with numpy (a pure-Python PNG decoder, KAIR's formulas, a direct 11×11
// window instead of our separable one): testdata/golden_set5.py.
func TestGoldenSet5(t *testing.T) {
	dir := fixtures.Dir(t, "images", "Set5")
	golden := []struct {
		name                   string
		psnr, ssim, psnrY, ssY float64
	}{
		{"baby", 27.804123330462, 0.768298785285, 29.186352035028, 0.797891788753},
		{"bird", 25.374814898637, 0.753482635088, 27.495942983362, 0.781696203120},
		{"butterfly", 18.861023381038, 0.612144138353, 20.026759805137, 0.643051360144},
		{"head", 27.769881750372, 0.632014822400, 30.240728775021, 0.710041831080},
		{"woman", 22.972393394859, 0.732939800146, 24.298888690417, 0.753392036038},
	}
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			hr, err := ReadPNG(filepath.Join(dir, "HR", g.name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			lr, err := ReadPNG(filepath.Join(dir, "LR_bicubic_X4", g.name+"x4.png"))
			if err != nil {
				t.Fatal(err)
			}
			hr = ModCrop(hr, 4)
			sr := upscaleNearest(lr, 4)
			for _, m := range []struct {
				name string
				f    func(a, b *Image, border int) (float64, error)
				want float64
			}{{"PSNR", PSNR, g.psnr}, {"SSIM", SSIM, g.ssim}, {"PSNRY", PSNRY, g.psnrY}, {"SSIMY", SSIMY, g.ssY}} {
				got, err := m.f(sr, hr, 4)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got-m.want) > 1e-9 {
					t.Errorf("%s = %.12f, numpy %.12f", m.name, got, m.want)
				}
			}
		})
	}
}
