package scoring

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"
)

func encodeStd(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDecodePNGColorModels checks each PNG colour type against the RGB that
// cv2.imread(IMREAD_COLOR)+BGR2RGB gives for it.
func TestDecodePNGColorModels(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.Pix = []uint8{7, 200}
	gray16 := image.NewGray16(image.Rect(0, 0, 2, 1))
	gray16.SetGray16(0, 0, color.Gray16{Y: 0x12ff}) // high byte kept, not rounded
	gray16.SetGray16(1, 0, color.Gray16{Y: 0xff00})
	pal := image.NewPaletted(image.Rect(0, 0, 2, 1), color.Palette{
		color.NRGBA{R: 1, G: 2, B: 3, A: 255},
		color.NRGBA{R: 250, G: 100, B: 50, A: 0}, // transparent entry: colour still kept
	})
	pal.Pix = []uint8{0, 1}
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	nrgba.Pix = []uint8{10, 20, 30, 0, 40, 50, 60, 128} // alpha dropped, not composited
	rgb16 := image.NewRGBA64(image.Rect(0, 0, 2, 1))
	rgb16.SetRGBA64(0, 0, color.RGBA64{R: 0x01ff, G: 0x0280, B: 0xfffe, A: 0xffff})
	rgb16.SetRGBA64(1, 0, color.RGBA64{R: 0, G: 0x8000, B: 0x7fff, A: 0xffff})
	nrgba16 := image.NewNRGBA64(image.Rect(0, 0, 2, 1))
	nrgba16.SetNRGBA64(0, 0, color.NRGBA64{R: 0xab00, G: 0xcd00, B: 0xef00, A: 0})
	nrgba16.SetNRGBA64(1, 0, color.NRGBA64{R: 0x0100, G: 0x0200, B: 0x0300, A: 0x8000})

	tests := []struct {
		name string
		in   image.Image
		want []uint8
	}{
		{"gray8", gray, []uint8{7, 7, 7, 200, 200, 200}},
		{"gray16", gray16, []uint8{0x12, 0x12, 0x12, 0xff, 0xff, 0xff}},
		{"palette", pal, []uint8{1, 2, 3, 250, 100, 50}},
		{"rgba8", nrgba, []uint8{10, 20, 30, 40, 50, 60}},
		{"rgb16", rgb16, []uint8{1, 2, 0xff, 0, 0x80, 0x7f}},
		{"rgba16", nrgba16, []uint8{0xab, 0xcd, 0xef, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodePNG(bytes.NewReader(encodeStd(t, tt.in)))
			if err != nil {
				t.Fatal(err)
			}
			if got.W != 2 || got.H != 1 || !bytes.Equal(got.Pix, tt.want) {
				t.Errorf("got %dx%d %v, want 2x1 %v", got.W, got.H, got.Pix, tt.want)
			}
		})
	}
}

func TestPNGRoundTrip(t *testing.T) {
	img := NewImage(5, 3)
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 17)
	}
	var b bytes.Buffer
	if err := EncodePNG(&b, img); err != nil {
		t.Fatal(err)
	}
	back, err := DecodePNG(&b)
	if err != nil {
		t.Fatal(err)
	}
	if back.W != 5 || back.H != 3 || !bytes.Equal(back.Pix, img.Pix) {
		t.Fatalf("round trip changed the image")
	}
	if err := EncodePNG(&b, NewImage(0, 0)); !errors.Is(err, ErrEmpty) {
		t.Errorf("EncodePNG(empty) = %v, want ErrEmpty", err)
	}
}

func TestDecodePNGRejects(t *testing.T) {
	// A valid header claiming 100000×100000 must be refused before allocating.
	huge := encodeStd(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	huge = bytes.Clone(huge)
	// IHDR width/height live at bytes 16..23; the CRC is then wrong, which
	// DecodeConfig does not check, so the size check is what stops it.
	copy(huge[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	for name, data := range map[string][]byte{
		"empty":   nil,
		"garbage": []byte("not a png"),
		"huge":    huge,
	} {
		if _, err := DecodePNG(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestModCrop(t *testing.T) {
	img := NewImage(10, 7)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	got := ModCrop(img, 4)
	if got.W != 8 || got.H != 4 {
		t.Fatalf("ModCrop 10x7 by 4 = %dx%d, want 8x4", got.W, got.H)
	}
	for y := 0; y < 4; y++ {
		for x := 0; x < 8; x++ {
			for c := 0; c < 3; c++ {
				if got.Pix[3*(y*8+x)+c] != img.Pix[3*(y*10+x)+c] {
					t.Fatalf("pixel (%d,%d,%d) moved", x, y, c)
				}
			}
		}
	}
	if ModCrop(got, 4) != got {
		t.Error("ModCrop of an aligned image should return it unchanged")
	}
}

func TestQuantizeCHW(t *testing.T) {
	tests := []struct {
		name string
		dr   float32
		in   float32
		want uint8
	}{
		{"zero", 1, 0, 0},
		{"negative clamps", 1, -0.3, 0},
		{"above clamps", 1, 1.7, 255},
		{"NaN is 0", 1, float32(math.NaN()), 0},
		{"+Inf clamps", 1, float32(math.Inf(1)), 255},
		// 0.5/255 = 0.00196078… ×255 in float32 is exactly 0.5: half to even → 0.
		{"half to even down", 1, 0.5 / 255, 0},
		{"half to even up", 1, 1.5 / 255, 2},
		{"half to even 2.5", 255, 2.5, 2},
		{"half to even 3.5", 255, 3.5, 4},
		{"range 255 clamp", 255, 300, 255},
		{"range 255 plain", 255, 128.49, 128},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []float32{tt.in, 0, 0}
			img, err := QuantizeCHW(data, 1, 1, tt.dr)
			if err != nil {
				t.Fatal(err)
			}
			if img.Pix[0] != tt.want {
				t.Errorf("quantize(%v, range %v) = %d, want %d", tt.in, tt.dr, img.Pix[0], tt.want)
			}
		})
	}
	// CHW → HWC interleave: plane c, pixel i goes to Pix[3i+c].
	img, err := QuantizeCHW([]float32{1, 2, 3, 4, 5, 6}, 1, 2, 255)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{1, 3, 5, 2, 4, 6}; !bytes.Equal(img.Pix, want) {
		t.Errorf("layout %v, want %v", img.Pix, want)
	}
	for _, bad := range []struct {
		n, h, w int
		dr      float32
	}{{3, 0, 1, 1}, {2, 1, 1, 1}, {3, 1, 1, 0}, {3, 1, 1, float32(math.NaN())}} {
		if _, err := QuantizeCHW(make([]float32, bad.n), bad.h, bad.w, bad.dr); err == nil {
			t.Errorf("QuantizeCHW(%+v) accepted", bad)
		}
	}
}

func TestToCHWRoundTrip(t *testing.T) {
	img := NewImage(16, 16)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	// Every uint8 value must survive /255 then the output quantisation.
	for _, dr := range []float32{1, 255} {
		x := ToCHWRange(img, dr)
		back, err := QuantizeCHW(x, 16, 16, dr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.Pix, img.Pix) {
			t.Errorf("range %v: ToCHW→QuantizeCHW changed pixels", dr)
		}
	}
	if got := ToCHW(img)[1]; got != float32(3)/255 { // pixel 1, channel R = Pix[3]
		t.Errorf("ToCHW R of pixel 1 = %v, want 3/255", got)
	}
}

func TestQuantizeCHWChecked(t *testing.T) {
	h, w := 5, 7
	data := make([]float32, 3*h*w)
	for i := range data {
		data[i] = float32(i%300)/250 - 0.1
	}
	for _, dr := range []float32{1, 255} {
		want, err := QuantizeCHW(data, h, w, dr)
		if err != nil {
			t.Fatal(err)
		}
		got, bad, err := QuantizeCHWChecked(data, h, w, dr)
		if err != nil || bad != -1 || string(got.Pix) != string(want.Pix) {
			t.Fatalf("data range %v: bad %d err %v, pixels equal %v", dr, bad, err, err == nil && got != nil && string(got.Pix) == string(want.Pix))
		}
	}
	for _, tc := range []struct {
		at  int
		val float32
	}{{0, float32(math.NaN())}, {40, float32(math.Inf(1))}, {3*h*w - 1, float32(math.Inf(-1))}} {
		d := append([]float32(nil), data...)
		d[tc.at] = tc.val
		d[len(d)-1] = float32(math.NaN()) // a later one must not win
		if tc.at == len(d)-1 {
			d[tc.at] = tc.val
		}
		img, bad, err := QuantizeCHWChecked(d, h, w, 1)
		if err != nil || bad != tc.at || img != nil {
			t.Errorf("%v at %d: bad %d, img %v, err %v", tc.val, tc.at, bad, img != nil, err)
		}
	}
}
