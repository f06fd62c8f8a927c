package demo

import (
	"bytes"
	"testing"

	"github.com/srarena/srarena/scoring"
)

func TestImagesAreDeterministicAndUsable(t *testing.T) {
	a, b := Images(), Images()
	if len(a) != 5 {
		t.Fatalf("%d images", len(a))
	}
	for name, img := range a {
		if img.W != HRSize || img.H != HRSize {
			t.Fatalf("%s: %dx%d", name, img.W, img.H)
		}
		if !bytes.Equal(img.Pix, b[name].Pix) {
			t.Fatalf("%s differs between calls: the demo leaderboard would not be reproducible", name)
		}
		lr, err := scoring.ResizeBicubic(img, 4)
		if err != nil {
			t.Fatal(err)
		}
		if lr.W != HRSize/4 {
			t.Fatalf("%s: LR width %d", name, lr.W)
		}
		// Not flat: a constant image would make every model look perfect.
		var lo, hi uint8 = 255, 0
		for _, v := range img.Pix {
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi-lo < 100 {
			t.Fatalf("%s: contrast %d..%d too low", name, lo, hi)
		}
	}
}
