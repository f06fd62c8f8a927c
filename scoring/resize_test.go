package scoring

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srarena/srarena/internal/fixtures"
)

// TestResizeBicubicSet5 regenerates Set5 LR ×4 from the mod-cropped HR and
// requires the shipped MATLAB-made PNGs bit for bit.
func TestResizeBicubicSet5(t *testing.T) {
	dir := fixtures.Dir(t, "images", "Set5")
	ents, err := os.ReadDir(filepath.Join(dir, "HR"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		t.Run(name, func(t *testing.T) {
			hr, err := ReadPNG(filepath.Join(dir, "HR", name))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadPNG(filepath.Join(dir, "LR_bicubic_X4", strings.TrimSuffix(name, ".png")+"x4.png"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ResizeBicubic(ModCrop(hr, 4), 4)
			if err != nil {
				t.Fatal(err)
			}
			if got.W != want.W || got.H != want.H {
				t.Fatalf("size %dx%d, want %dx%d", got.W, got.H, want.W, want.H)
			}
			diff, maxd := 0, 0
			for i := range got.Pix {
				d := int(got.Pix[i]) - int(want.Pix[i])
				if d != 0 {
					diff++
					maxd = max(maxd, d, -d)
				}
			}
			if diff != 0 {
				t.Errorf("%d of %d values differ (max %d)", diff, len(got.Pix), maxd)
			}
		})
	}
}

func TestMirror(t *testing.T) {
	got := []int{}
	for i := -3; i < 7; i++ {
		got = append(got, mirror(i, 3))
	}
	want := []int{2, 1, 0, 0, 1, 2, 2, 1, 0, 0}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("mirror = %v, want %v", got, want)
		}
	}
}
