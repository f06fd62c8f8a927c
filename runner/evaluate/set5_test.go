package evaluate

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/srarena/srarena/internal/fixtures"
)

// Set5 RGB PSNR (dB) of the trained fixtures, from fixtures/MANIFEST.md.
// MANIFEST quantised with round-half-up; the runner uses round-half-even
// (numpy .round(), as the official scripts): the two differ only on exact
// .5 values, so the sets agree to well under 0.005 dB.
var set5RGB = map[string]float64{
	"rfdn_aim2020_x4": 30.2544,
	"imdn_x4":         30.3005,
	"imdn_aim2019_x4": 30.3343,
	"rlfn_x4":         30.3199,
	"rlfn_ntire_x4":   30.2058,
}

// TestSet5TrainedModels runs the `srarena eval` path (EvalFiles) on every
// trained model and reproduces MANIFEST's Set5 figures.
func TestSet5TrainedModels(t *testing.T) {
	lib := ortLib(t)
	models := fixtures.Dir(t, "models", "trained")
	lr := fixtures.Dir(t, "images", "Set5", "LR_bicubic_X4")
	hr := fixtures.Dir(t, "images", "Set5", "HR")
	for name, want := range set5RGB {
		t.Run(name, func(t *testing.T) {
			opt := Options{ORTLib: lib, Repeats: 1, Warmup: -1}
			rep, err := EvalFiles(context.Background(), filepath.Join(models, name+".onnx"), lr, hr, opt)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Images) != 5 {
				t.Fatalf("%d images", len(rep.Images))
			}
			d := rep.PSNR - want
			t.Logf("%s: Set5 RGB PSNR %.4f (MANIFEST %.4f, diff %+.5f), SSIM %.4f, PSNR-Y %.4f, %.1f ms/image, startup %.0f ms",
				name, rep.PSNR, want, d, rep.SSIM, rep.PSNRY, rep.RuntimeMS, rep.StartupMS)
			if math.Abs(d) > 0.005 {
				t.Errorf("PSNR %.4f differs from MANIFEST %.4f by %.4f dB", rep.PSNR, want, d)
			}
		})
	}
}
