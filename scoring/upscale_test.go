package scoring

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestUpscaleBicubicCrop: a window of the upscaled image equals the same
// window of the whole upscaled image, and a flat image stays flat.
func TestUpscaleBicubicCrop(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	img := NewImage(13, 9)
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	whole, err := UpscaleBicubicCrop(img, 4, 0, 0, 52, 36)
	if err != nil {
		t.Fatal(err)
	}
	if whole.W != 52 || whole.H != 36 {
		t.Fatalf("whole %dx%d", whole.W, whole.H)
	}
	for _, c := range []struct{ x, y, w, h int }{{0, 0, 5, 5}, {10, 7, 20, 11}, {40, 30, 12, 6}, {51, 35, 1, 1}} {
		win, err := UpscaleBicubicCrop(img, 4, c.x, c.y, c.w, c.h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(win.Pix, Crop(whole, c.x, c.y, c.w, c.h).Pix) {
			t.Errorf("window %+v differs from the whole image's", c)
		}
	}
	flat := NewImage(4, 4)
	for i := range flat.Pix {
		flat.Pix[i] = 77
	}
	up, _ := UpscaleBicubicCrop(flat, 4, 3, 3, 8, 8)
	for _, v := range up.Pix {
		if v != 77 {
			t.Fatalf("a flat image upscaled to %d", v)
		}
	}
	// Clipped to the image.
	if c, _ := UpscaleBicubicCrop(img, 4, 50, 30, 20, 20); c.W != 2 || c.H != 6 {
		t.Errorf("clipped window %dx%d, want 2x6", c.W, c.H)
	}
}
