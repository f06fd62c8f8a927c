package sandbox

import (
	"context"
	"testing"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/scoring"
)

// TestChildQuantisesLikeScoring: the 8-bit output the child sends is, byte
// for byte, what scoring.QuantizeCHW makes of the float32 output the parent
// used to receive, for both data ranges, with values out of range and
// fractions that round both ways. The model (nearest ×4 times a factor) has
// a float32 output the test computes exactly.
func TestChildQuantisesLikeScoring(t *testing.T) {
	lib := ortLib(t)
	const h, w, scale = 13, 17, 4
	in := make([]float32, 3*h*w)
	for _, dr := range []float32{1, 255} {
		for _, factor := range []float32{1, 1.37, 0.731} {
			model, err := onnxbuild.Scaled(scale, factor)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := NewConfig(DeviceCPU, lib, 1, 1, 0, false, false)
			if err != nil {
				t.Fatal(err)
			}
			cfg.Scale, cfg.DataRange = scale, dr
			s, err := Start(context.Background(), Spec{ORTLib: lib, Config: cfg, MemoryLimit: 2 << 30, Logf: func(string) {}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Load(model); err != nil {
				t.Fatal(err)
			}
			for i := range in {
				in[i] = float32(float32(i*7%256) / (255 / dr)) // ToCHWRange
			}
			out := make([]uint8, 3*scale*h*scale*w)
			r, err := s.Infer("img", in, h, w, scale*h, scale*w, out)
			s.Close()
			if err != nil || r.Bad != -1 {
				t.Fatalf("range %v factor %v: %v (bad %v)", dr, factor, err, r)
			}
			// The float32 output: every input value repeated 4×4, times factor.
			sh, sw := scale*h, scale*w
			ref := make([]float32, 3*sh*sw)
			for c := 0; c < 3; c++ {
				for y := 0; y < sh; y++ {
					for x := 0; x < sw; x++ {
						ref[(c*sh+y)*sw+x] = in[(c*h+y/scale)*w+x/scale] * factor
					}
				}
			}
			want, err := scoring.QuantizeCHW(ref, sh, sw, dr)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != string(want.Pix) {
				diff := 0
				for i := range out {
					if out[i] != want.Pix[i] {
						diff++
					}
				}
				t.Errorf("range %v factor %v: %d of %d bytes differ from scoring.QuantizeCHW", dr, factor, diff, len(out))
			}
		}
	}
}
