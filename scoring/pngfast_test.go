package scoring

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/srarena/srarena/internal/fixtures"
)

// agree checks that the fast path, where it takes data, accepts exactly
// what image/png accepts, with the same pixels. It reports whether the
// fast path took data.
func agree(t testing.TB, name string, data []byte) bool {
	t.Helper()
	fast, ok, ferr := decodeFast(data)
	std, serr := decodePNGStd(data)
	if !ok {
		if fast != nil || ferr != nil {
			t.Fatalf("%s: fast path declined but returned %v, %v", name, fast != nil, ferr)
		}
		return false
	}
	switch {
	case (ferr == nil) != (serr == nil):
		t.Fatalf("%s: fast path error %v, image/png error %v", name, ferr, serr)
	case ferr == nil && (fast.W != std.W || fast.H != std.H || !bytes.Equal(fast.Pix, std.Pix)):
		t.Fatalf("%s: fast path %dx%d and image/png %dx%d pixels differ", name, fast.W, fast.H, std.W, std.H)
	}
	// And DecodePNG returns what image/png gives.
	got, err := DecodePNG(bytes.NewReader(data))
	if (err == nil) != (serr == nil) || (err == nil && !bytes.Equal(got.Pix, std.Pix)) {
		t.Fatalf("%s: DecodePNG %v, image/png %v", name, err, serr)
	}
	return true
}

// pattern returns w×h pixels of bpp bytes, varied enough for every filter
// to matter, alpha included.
func pattern(w, h, bpp int, seed uint32) []byte {
	p := make([]byte, w*h*bpp)
	s := seed | 1
	for i := range p {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		x, y := (i/bpp)%w, (i/bpp)/w
		// smooth part plus noise, so that filters produce both small and
		// wrapping residuals
		p[i] = uint8(x*7+y*3+i%bpp*50) + uint8(s%17)
		if s%11 == 0 {
			p[i] = uint8(s >> 8)
		}
	}
	return p
}

// specPaeth is the Paeth predictor as the PNG specification writes it.
func specPaeth(a, b, c int) int {
	abs := func(x int) int {
		if x < 0 {
			return -x
		}
		return x
	}
	p := a + b - c
	pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
	if pa <= pb && pa <= pc {
		return a
	} else if pb <= pc {
		return b
	}
	return c
}

// craft options for craftPNG.
type craft struct {
	filter    func(y int) byte // filter type of row y (may be invalid)
	level     int              // zlib level
	idatSplit int              // bytes per IDAT chunk (0: one chunk)
	before    [][]byte         // whole chunks between IHDR and IDAT
	after     [][]byte         // whole chunks between IDAT and IEND
	trailing  []byte           // bytes after the zlib stream, in the last IDAT
	extraRow  bool             // one more row of data than the header says
	interlace byte
}

func chunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// craftPNG encodes w×h pixels of colour type ct (2 or 6), 8-bit, filtering
// each row as c.filter says.
func craftPNG(t testing.TB, w, h int, ct byte, pix []byte, c craft) []byte {
	t.Helper()
	bpp := 3
	if ct == 6 {
		bpp = 4
	}
	stride := w * bpp
	rows := h
	if c.extraRow {
		rows++
	}
	var raw []byte
	prior := make([]byte, stride)
	for y := 0; y < rows; y++ {
		cur := pix[(y%h)*stride : (y%h+1)*stride]
		ft := byte(y % 5)
		if c.filter != nil {
			ft = c.filter(y)
		}
		raw = append(raw, ft)
		for i := range cur {
			var a, b, cc int
			if i >= bpp {
				a, cc = int(cur[i-bpp]), int(prior[i-bpp])
			}
			b = int(prior[i])
			var pred int
			switch ft {
			case 1:
				pred = a
			case 2:
				pred = b
			case 3:
				pred = (a + b) / 2
			case 4:
				pred = specPaeth(a, b, cc)
			}
			raw = append(raw, cur[i]-uint8(pred))
		}
		prior = cur
	}
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, c.level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(raw)
	zw.Close()
	stream := append(z.Bytes(), c.trailing...)
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, ct, 0, 0, c.interlace)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	for _, b := range c.before {
		out = append(out, b...)
	}
	split := c.idatSplit
	if split <= 0 {
		split = len(stream)
	}
	for len(stream) > 0 {
		n := min(split, len(stream))
		out = append(out, chunk("IDAT", stream[:n])...)
		stream = stream[n:]
	}
	for _, b := range c.after {
		out = append(out, b...)
	}
	return append(out, chunk("IEND", nil)...)
}

func TestDecodeFastFilters(t *testing.T) {
	sizes := [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 2}, {5, 3}, {33, 17}, {64, 9}}
	for _, ct := range []byte{2, 6} {
		bpp := map[byte]int{2: 3, 6: 4}[ct]
		for _, sz := range sizes {
			w, h := sz[0], sz[1]
			pix := pattern(w, h, bpp, uint32(w*31+h))
			for ft := 0; ft <= 6; ft++ { // 5 and 6 are invalid
				c := craft{filter: func(int) byte { return byte(ft) }, level: zlib.DefaultCompression}
				name := t.Name() + "/" + string(rune('0'+ct)) + "/" + string(rune('0'+ft))
				data := craftPNG(t, w, h, ct, pix, c)
				if !agree(t, name, data) {
					t.Fatalf("%s: fast path not taken", name)
				}
				fast, _, err := decodeFast(data)
				if (err == nil) != (ft <= 4) {
					t.Fatalf("%s %dx%d filter %d: err %v", name, w, h, ft, err)
				}
				if err == nil {
					want := pix
					if bpp == 4 {
						want = nil
						for i := 0; i < len(pix); i += 4 {
							want = append(want, pix[i:i+3]...)
						}
					}
					if !bytes.Equal(fast.Pix, want) {
						t.Fatalf("%s %dx%d filter %d: wrong pixels", name, w, h, ft)
					}
				}
			}
			// Every filter, row after row, in chunks of every size.
			for _, split := range []int{0, 1, 3, 64} {
				agree(t, "mixed", craftPNG(t, w, h, ct, pix, craft{idatSplit: split, level: zlib.BestSpeed}))
			}
		}
	}
}

// TestDecodeFastStdEncoder decodes what image/png writes, at every
// compression level (its encoder picks a filter per row), opaque (colour
// type 2), translucent and with alpha 0 (colour type 6).
func TestDecodeFastStdEncoder(t *testing.T) {
	levels := []png.CompressionLevel{png.DefaultCompression, png.NoCompression, png.BestSpeed, png.BestCompression}
	for _, sz := range [][2]int{{1, 1}, {3, 1}, {1, 3}, {17, 5}, {101, 77}} {
		w, h := sz[0], sz[1]
		for alpha, a := range map[string]func(i int) uint8{
			"opaque": func(int) uint8 { return 255 },
			"zero":   func(int) uint8 { return 0 },
			"varied": func(i int) uint8 { return uint8(i * 37) },
		} {
			m := image.NewNRGBA(image.Rect(0, 0, w, h))
			p := pattern(w, h, 4, uint32(w+h))
			for i := 0; i < len(p); i += 4 {
				p[i+3] = a(i / 4)
			}
			copy(m.Pix, p)
			for _, lvl := range levels {
				var b bytes.Buffer
				if err := (&png.Encoder{CompressionLevel: lvl}).Encode(&b, m); err != nil {
					t.Fatal(err)
				}
				if !agree(t, alpha, b.Bytes()) {
					t.Fatalf("%s %dx%d: fast path not taken", alpha, w, h)
				}
			}
		}
	}
}

// TestDecodeFastChunks covers the chunk-level rules: ancillary and
// optional chunks, their order, split and empty IDATs, data too long or
// too short, trailing bytes after the zlib stream.
func TestDecodeFastChunks(t *testing.T) {
	const w, h = 9, 4
	pix3, pix4 := pattern(w, h, 3, 1), pattern(w, h, 4, 2)
	text := chunk("tEXt", []byte("Comment\x00hello"))
	plte := chunk("PLTE", []byte{1, 2, 3, 4, 5, 6})
	trns := chunk("tRNS", []byte{0, 1, 0, 2, 0, 3})
	badCRC := bytes.Clone(text)
	badCRC[len(badCRC)-1] ^= 1
	big := make([]byte, 5000)
	for i := range big {
		big[i] = byte(i * 7)
	}
	cases := []struct {
		name   string
		c      craft
		accept map[byte]bool // by colour type
	}{
		{"plain", craft{}, map[byte]bool{2: true, 6: true}},
		{"text before and after", craft{before: [][]byte{text}, after: [][]byte{text}}, map[byte]bool{2: true, 6: true}},
		{"bad crc ancillary", craft{before: [][]byte{badCRC}}, nil},
		{"plte", craft{before: [][]byte{plte}}, map[byte]bool{2: true, 6: true}},
		{"plte twice", craft{before: [][]byte{plte, plte}}, nil},
		{"plte bad length", craft{before: [][]byte{chunk("PLTE", []byte{1, 2})}}, nil},
		{"plte empty", craft{before: [][]byte{chunk("PLTE", nil)}}, nil},
		{"plte after idat", craft{after: [][]byte{plte}}, nil},
		{"trns", craft{before: [][]byte{trns}}, map[byte]bool{2: true}},
		{"plte trns", craft{before: [][]byte{plte, trns}}, map[byte]bool{2: true}},
		{"trns plte", craft{before: [][]byte{trns, plte}}, nil},
		{"trns bad length", craft{before: [][]byte{chunk("tRNS", []byte{1, 2})}}, nil},
		{"second IHDR", craft{before: [][]byte{chunk("IHDR", make([]byte, 13))}}, nil},
		{"IEND early", craft{before: [][]byte{chunk("IEND", nil)}}, nil},
		{"empty idat after", craft{after: [][]byte{chunk("IDAT", nil)}}, map[byte]bool{2: true, 6: true}},
		{"garbage idat after", craft{after: [][]byte{chunk("IDAT", []byte("junk"))}}, map[byte]bool{2: true, 6: true}},
		{"empty idat before", craft{before: [][]byte{chunk("IDAT", nil)}}, map[byte]bool{2: true, 6: true}},
		{"split 1", craft{idatSplit: 1}, map[byte]bool{2: true, 6: true}},
		{"extra row", craft{extraRow: true}, nil},
		{"trailing byte", craft{trailing: []byte{0}}, map[byte]bool{2: true, 6: true}},            // within zlib's read-ahead: image/png accepts
		{"trailing 5000", craft{trailing: big}, nil},                                              // beyond image/png's read-ahead
		{"trailing split", craft{trailing: big, idatSplit: 100}, map[byte]bool{2: true, 6: true}}, // read ahead a chunk at a time
		{"interlaced", craft{interlace: 1}, nil},                                                  // image/png's path (not real Adam7: refused)
		{"bad interlace", craft{interlace: 2}, nil},                                               // image/png's path
		{"unknown critical", craft{before: [][]byte{chunk("ABCD", []byte{1})}}, map[byte]bool{2: true, 6: true}},
	}
	for _, tc := range cases {
		for _, ct := range []byte{2, 6} {
			pix := pix3
			if ct == 6 {
				pix = pix4
			}
			data := craftPNG(t, w, h, ct, pix, tc.c)
			agree(t, tc.name, data)
			if _, err := decodePNGStd(data); (err == nil) != tc.accept[ct] {
				t.Errorf("%s ct %d: image/png error %v, want accepted %v", tc.name, ct, err, tc.accept[ct])
			}
		}
	}
}

// TestDecodeFastMutations flips, truncates and extends a small PNG at every
// byte: the fast path and image/png must always agree.
func TestDecodeFastMutations(t *testing.T) {
	for _, ct := range []byte{2, 6} {
		bpp := map[byte]int{2: 3, 6: 4}[ct]
		data := craftPNG(t, 6, 5, ct, pattern(6, 5, bpp, 9), craft{idatSplit: 40, before: [][]byte{chunk("gAMA", []byte{0, 0, 0xb1, 0x8f})}})
		for i := range data {
			agree(t, "truncated", data[:i])
			for _, x := range []byte{1, 0x80, 0xff} {
				m := bytes.Clone(data)
				m[i] ^= x
				agree(t, "flipped", m)
			}
		}
		agree(t, "after IEND", append(bytes.Clone(data), "trailing"...))
	}
}

// TestDecodeFastShort: a header claiming more pixels than the file can hold
// is refused before the image is allocated.
func TestDecodeFastShort(t *testing.T) {
	data := craftPNG(t, 1, 1, 2, []byte{1, 2, 3}, craft{})
	ihdr := binary.BigEndian.AppendUint32(nil, 8000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 8000)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	copy(data[8:], chunk("IHDR", ihdr))
	allocs := testing.AllocsPerRun(3, func() {
		if _, _, err := decodeFast(data); !errors.Is(err, errPNGShort) {
			t.Fatalf("err %v, want errPNGShort", err)
		}
	})
	if allocs > 2 {
		t.Errorf("%v allocations", allocs)
	}
	if _, err := DecodePNG(bytes.NewReader(data)); !errors.Is(err, ErrInvalid) {
		t.Errorf("DecodePNG: %v, want ErrInvalid", err)
	}
	if _, err := decodePNGStd(data); err == nil {
		t.Errorf("image/png accepts it")
	}
}

// TestDecodeFastFixtures: every fixture PNG, and a DIV2K-size stand-in HR
// (as bench/mkhr makes them), decode the same both ways.
func TestDecodeFastFixtures(t *testing.T) {
	var files []string
	for _, d := range [][]string{{"images", "Set5", "HR"}, {"images", "Set5", "LR_bicubic_X4"}, {"images", "DIV2K_test", "LR_bicubic_X4"}} {
		m, err := filepath.Glob(filepath.Join(fixtures.Dir(t, d...), "*.png"))
		if err != nil || len(m) == 0 {
			t.Fatalf("%v: %v", d, err)
		}
		files = append(files, m...)
	}
	var lr []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// All are 8-bit RGB, written by libpng (8 KiB IDAT chunks, tIME).
		if !agree(t, f, data) {
			t.Errorf("%s: fast path not taken", f)
		}
		lr = data
	}
	// mkhr's HR: ×4 pixel repetition, written by EncodePNG.
	img, err := DecodePNG(bytes.NewReader(lr))
	if err != nil {
		t.Fatal(err)
	}
	hr := NewImage(4*img.W, 4*img.H)
	for y := 0; y < hr.H; y++ {
		for x := 0; x < hr.W; x++ {
			copy(hr.Pix[3*(y*hr.W+x):3*(y*hr.W+x)+3], img.Pix[3*((y/4)*img.W+x/4):])
		}
	}
	var b bytes.Buffer
	if err := EncodePNG(&b, hr); err != nil {
		t.Fatal(err)
	}
	if !agree(t, "hr", b.Bytes()) {
		t.Fatal("HR did not take the fast path")
	}
}

// TestDecodePNGReaders: DecodePNG reads every kind of reader whole.
func TestDecodePNGReaders(t *testing.T) {
	data := craftPNG(t, 40, 30, 2, pattern(40, 30, 3, 5), craft{})
	want, err := decodePNGStd(data)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]io.Reader{
		"bytes.Reader":    bytes.NewReader(data),
		"bytes.Buffer":    bytes.NewBuffer(bytes.Clone(data)),
		"one byte a read": iotest.OneByteReader(bytes.NewReader(data)),
		"half read":       io.MultiReader(bytes.NewReader(data[:100]), bytes.NewReader(data[100:])),
	} {
		got, err := DecodePNG(r)
		if err != nil || !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A reader whose Len is less than what it holds, or more.
	for _, d := range []int{-50, 50} {
		got, err := DecodePNG(&lyingLen{bytes.NewReader(data), d})
		if err != nil || !bytes.Equal(got.Pix, want.Pix) {
			t.Errorf("Len off by %d: %v", d, err)
		}
	}
}

type lyingLen struct {
	*bytes.Reader
	d int
}

func (l *lyingLen) Len() int { return max(0, l.Reader.Len()+l.d) }

// TestDecodeFastDeclines: what is not 8-bit RGB(A) goes to image/png.
func TestDecodeFastDeclines(t *testing.T) {
	for name, m := range map[string]image.Image{
		"gray":    image.NewGray(image.Rect(0, 0, 2, 2)),
		"gray16":  image.NewGray16(image.Rect(0, 0, 2, 2)),
		"rgba64":  image.NewRGBA64(image.Rect(0, 0, 2, 2)),
		"palette": image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White}),
	} {
		if agree(t, name, encodeStd(t, m)) {
			t.Errorf("%s: fast path taken", name)
		}
	}
}

// fixCRCs returns data with the CRC of every whole chunk after the
// signature recomputed.
func fixCRCs(data []byte) []byte {
	data = bytes.Clone(data)
	for p := 8; p+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[p:]))
		if n < 0 || n > len(data)-p-12 {
			break
		}
		binary.BigEndian.PutUint32(data[p+8+n:], crc32.ChecksumIEEE(data[p+4:p+8+n]))
		p += 12 + n
	}
	return data
}

// rawPNG wraps raw, taken as the filtered rows (filter bytes included) of
// a w×h 8-bit image of colour type ct, in a valid zlib stream and chunks.
func rawPNG(w, h int, ct byte, raw []byte) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(raw)
	zw.Close()
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, ct, 0, 0, 0)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", z.Bytes())...)
	return append(out, chunk("IEND", nil)...)
}
