package evaluate

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/scoring"
)

func randImage(w, h int, seed uint64) *scoring.Image {
	r := rand.New(rand.NewPCG(seed, 1))
	img := scoring.NewImage(w, h)
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	return img
}

// nearestUp is the reference ×s nearest upscale, computed in the parent.
func nearestUp(lr *scoring.Image, s int) *scoring.Image {
	out := scoring.NewImage(lr.W*s, lr.H*s)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			copy(out.Pix[3*(y*out.W+x):3*(y*out.W+x)+3], lr.Pix[3*((y/s)*lr.W+x/s):])
		}
	}
	return out
}

func testOpts(t *testing.T) Options {
	return Options{ORTLib: ortLib(t), Threads: 1, Repeats: 2, Logf: func(s string) { t.Log(s) }}
}

func TestEvaluateNearest(t *testing.T) {
	opt := testOpts(t)
	model, err := onnxbuild.Nearest(4)
	if err != nil {
		t.Fatal(err)
	}
	lr := randImage(24, 20, 1)
	hr := randImage(96+3, 80+2, 2) // not a multiple of 4: mod-crop applies
	rep, err := Evaluate(context.Background(), model, []Pair{{Name: "a", LR: lr, HR: hr}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := scoring.PSNR(nearestUp(lr, 4), scoring.ModCrop(hr, 4), 4)
	if rep.Images[0].PSNR != want {
		t.Errorf("PSNR %v, want %v", rep.Images[0].PSNR, want)
	}
	// The phases are serial and measured apart: they must not add up to
	// more than the time outside inference (OtherMS is the rest).
	ph := rep.Phases
	for name, v := range map[string]float64{"check_model": ph.CheckModelMS, "startup": ph.StartupMS, "decode": ph.DecodeMS,
		"wait_child": ph.WaitMS, "input": ph.InputMS, "transfer": ph.TransferMS, "quantize": ph.QuantizeMS,
		"score": ph.ScoreMS, "close": ph.CloseMS} {
		if !(v >= 0) {
			t.Errorf("phase %s = %v", name, v)
		}
	}
	if ph.OtherMS < -1 || !(ph.ScoreMS > 0) || !(ph.TransferMS > 0) || !(ph.QuantizeMS > 0) {
		t.Errorf("phases %+v (wall %v, inference %v)", ph, rep.EvalWallMS, rep.InferenceMS)
	}
	t.Logf("report: %+v", rep)
}

func TestEvaluateErrors(t *testing.T) {
	opt := testOpts(t)
	lr := randImage(16, 12, 1)
	hr := randImage(64, 48, 2)
	nan, _ := onnxbuild.Scaled(4, float32Nan())
	x2, _ := onnxbuild.Nearest(2)
	for _, tc := range []struct {
		name  string
		model []byte
		kind  string
		msg   string
	}{
		{"nan", nan, "bad_output", "output contains NaN at image img"},
		{"wrong scale", x2, "bad_output", "output is 1×3×24×32 for a 12×16 input on image img; expected ×4 = 1×3×48×64"},
		{"garbage", []byte("not a model at all"), "load_error", "ONNX Runtime could not load the model"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(context.Background(), tc.model, []Pair{{Name: "img", LR: lr, HR: hr}}, opt)
			me, ok := err.(*outcome.Error)
			if !ok {
				t.Fatalf("err = %v (%T), want a ModelError", err, err)
			}
			if string(me.Kind) != tc.kind || !strings.Contains(me.Msg, tc.msg) {
				t.Errorf("got %s %q, want %s containing %q", me.Kind, me.Msg, tc.kind, tc.msg)
			}
		})
	}
	_ = time.Second
}

// TestDatasetMismatch: an HR that is not ×scale of its LR after the
// official mod-crop is a dataset error naming the image (infrastructure,
// never a model error, never a silent crop).
func TestDatasetMismatch(t *testing.T) {
	opt := testOpts(t)
	model, _ := onnxbuild.Nearest(4)
	lr := randImage(10, 8, 1)
	for _, tc := range []struct {
		name string
		hr   *scoring.Image
		want string
	}{
		{"larger", randImage(44, 32, 2), "dataset image 0801: HR 44×32 does not match LR 10×8 ×4"},
		{"smaller", randImage(36, 32, 2), "dataset image 0801: HR 36×32 does not match LR 10×8 ×4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Evaluate(context.Background(), model, []Pair{{Name: "0801", LR: lr, HR: tc.hr}}, opt)
			if err == nil || outcome.IsModelError(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an infrastructure error %q", err, tc.want)
			}
		})
	}
	// Mod-crop of fewer than scale pixels stays, as KAIR does.
	if _, err := Evaluate(context.Background(), model, []Pair{{Name: "0801", LR: lr, HR: randImage(43, 35, 2)}}, opt); err != nil {
		t.Errorf("mod-crop: %v", err)
	}
}
