package scoring

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"os"
	"strings"
	"testing"
)

func FuzzDecodePNG(f *testing.F) {
	seeds := []image.Image{
		image.NewGray(image.Rect(0, 0, 3, 2)),
		image.NewGray16(image.Rect(0, 0, 2, 2)),
		image.NewNRGBA(image.Rect(0, 0, 4, 1)),
		image.NewRGBA64(image.Rect(0, 0, 1, 3)),
		image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White}),
	}
	for _, m := range seeds {
		f.Add(encodeStd(f, m))
	}
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	// The fast path's kinds (8-bit RGB and RGBA), every filter, split IDATs.
	f.Add(craftPNG(f, 5, 3, 2, pattern(5, 3, 3, 1), craft{}))
	f.Add(craftPNG(f, 3, 4, 6, pattern(3, 4, 4, 2), craft{idatSplit: 7, level: 1}))
	f.Add(craftPNG(f, 2, 2, 2, pattern(2, 2, 3, 3), craft{before: [][]byte{chunk("PLTE", []byte{1, 2, 3}), chunk("tRNS", make([]byte, 6))}, trailing: []byte{0}}))
	f.Add(encodeStd(f, image.NewNRGBA(image.Rect(0, 0, 3, 3))))
	f.Add([]byte{0, 8, 1, 10, 20, 30, 2, 1, 1, 1, 3, 5, 5, 5, 4, 9, 9, 9})    // raw rows: 1×4 RGB, filters 1–4
	f.Add([]byte{1, 5, 4, 1, 2, 3, 4, 5, 6, 7, 8, 5, 1, 2, 3, 4, 5, 6, 7, 8}) // 2×2 RGBA, Paeth, then filter 5
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fast path and image/png agree (same pixels or both refuse):
		// on data as it is, with every chunk's CRC made right (so that
		// mutations reach the pixel data), and on data taken as the
		// filtered rows of an RGB(A) image (so that every filter byte and
		// row content meets the unfilter code, and short or long data the
		// end-of-stream checks).
		agree(t, "fuzz", data)
		agree(t, "fuzz, CRCs fixed", fixCRCs(data))
		if len(data) >= 2 {
			w, ct := int(data[0]%16)+1, byte(2+4*(data[1]&1))
			h := max(1, int(data[1]>>1)%8)
			agree(t, "fuzz, raw rows", rawPNG(w, h, ct, data[2:]))
		}
		img, err := DecodePNG(bytes.NewReader(data))
		if err != nil {
			return
		}
		if img.W <= 0 || img.H <= 0 || len(img.Pix) != 3*img.W*img.H {
			t.Fatalf("bad image %dx%d, %d bytes", img.W, img.H, len(img.Pix))
		}
		// What decodes must encode and decode back unchanged, and score
		// as identical to itself.
		var b bytes.Buffer
		if err := EncodePNG(&b, img); err != nil {
			t.Fatal(err)
		}
		back, err := DecodePNG(&b)
		if err != nil || !bytes.Equal(back.Pix, img.Pix) {
			t.Fatalf("round trip: %v", err)
		}
		if p, err := PSNR(img, back, 0); err != nil || !math.IsInf(p, 1) {
			t.Fatalf("PSNR(img, img) = %v, %v", p, err)
		}
	})
}

func FuzzResultsCSV(f *testing.F) {
	if b, err := os.ReadFile("testdata/ntire2023_esr_results.csv"); err == nil {
		f.Add(string(b))
	}
	f.Add("team,ranked,ave_time_ms,psnr_val,psnr_test,params_m,flops_g\na,1,10,29,27,0.2,10\nb,1,NaN,29,27,,10\n")
	f.Add("team\n")
	f.Add("team,team\n")
	f.Add("team,ave_time_ms,submitted_at,baseline\nx,1,2026-01-02T03:04:05Z,1\n")
	f.Add("\"unterminated")
	f.Fuzz(func(t *testing.T, s string) {
		tab, err := ReadResultsCSV(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, name := range PresetNames() {
			r, _ := Preset(name)
			out, ranked, err := RankResults(tab, r, nil)
			if err != nil {
				continue
			}
			if len(out.Rows) != len(tab.Rows) || len(ranked) != len(tab.Rows) {
				t.Fatalf("%s: %d rows in, %d out", name, len(tab.Rows), len(out.Rows))
			}
			var b bytes.Buffer
			if err := out.WriteCSV(&b); err != nil {
				t.Fatal(err)
			}
			for _, rk := range ranked {
				if (rk.Rank == 0) != (rk.Unranked != "") {
					t.Fatalf("%s: rank %d with reason %q", name, rk.Rank, rk.Unranked)
				}
			}
		}
		if _, err := CorrelateResults(tab); err != nil && !strings.Contains(err.Error(), "ave_time_ms") {
			t.Fatalf("correlate: %v", err)
		}
	})
}
