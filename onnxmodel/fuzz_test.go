package onnxmodel_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/onnxmodel"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

// FuzzInspect feeds mutated models to the validator. Inspect must never
// panic or allocate from a size it has not checked, and a model it accepts
// must be accepted again, with the same profile, from its re-serialised
// bytes (what ORT will load).
func FuzzInspect(f *testing.F) {
	for _, b := range [][]byte{
		mb(onnxbuild.Bicubic(4)), mb(onnxbuild.Nearest(2)), mb(onnxbuild.ESPCN(2, 1)),
		mb(onnxbuild.Identity()), mb(onnxbuild.Scaled(4, 2)),
	} {
		f.Add(b)
	}
	if root := fixtures.Root(); root != "" {
		files, _ := filepath.Glob(filepath.Join(root, "adversarial", "*.onnx"))
		for _, p := range files {
			if st, err := os.Stat(p); err == nil && st.Size() < 64<<10 {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	opt := onnxmodel.Options{Scale: 2, ProfileH: 32, ProfileW: 32}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := onnxmodel.Inspect(data, opt)
		if err != nil {
			t.Fatalf("Inspect error (only for bad options): %v", err)
		}
		if !rep.Valid {
			if len(rep.Problems) == 0 {
				t.Fatal("invalid without problems")
			}
			return
		}
		again, err := onnxmodel.Inspect(rep.Model.Bytes(), opt)
		if err != nil || !again.Valid {
			t.Fatalf("re-serialised model rejected: %v %v", err, again.Problems)
		}
		a, b := again.Profile, rep.Profile
		if a.Params != b.Params || a.ConvMACs != b.ConvMACs || a.FlopsKAIR != b.FlopsKAIR || a.FlopsFvcore != b.FlopsFvcore || a.Activations != b.Activations {
			t.Fatalf("profiles differ: %+v vs %+v", again.Profile, rep.Profile)
		}
	})
}
