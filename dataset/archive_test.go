package dataset

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/fixtures"
)

// zipOf builds a zip with the given entries (name → content); a name
// ending in "@link" becomes a symlink to its content.
func zipOf(t testing.TB, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: strings.TrimSuffix(e[0], "@link"), Method: zip.Store}
		if strings.HasSuffix(e[0], "@link") {
			h.SetMode(os.ModeSymlink | 0o777)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarOf(t testing.TB, hdrs []*tar.Header, bodies []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, h := range hdrs {
		h.Size = int64(len(bodies[i]))
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte(bodies[i]))
		}
	}
	tw.Close()
	return buf.Bytes()
}

// pngHeader is a PNG whose IHDR announces w×h pixels, with no pixel data:
// only a decoder that trusts the header would allocate w×h×4 bytes.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk("IHDR", ihdr)
	chunk("IEND", nil)
	return b.Bytes()
}

// zerosDeflate is a raw deflate stream of n zero bytes, written by hand
// (a literal, then length-258 distance-1 matches in one fixed-Huffman
// block): a 1 GiB bomb costs milliseconds to make instead of compressing
// a gigabyte.
func zerosDeflate(n int64) []byte {
	var out []byte
	var acc uint64
	var nbits uint
	put := func(v uint64, bits uint) { // LSB first
		acc |= v << nbits
		nbits += bits
		for nbits >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			nbits -= 8
		}
	}
	huff := func(code uint64, bits uint) { // Huffman codes go MSB first
		var r uint64
		for i := uint(0); i < bits; i++ {
			r = r<<1 | (code>>i)&1
		}
		put(r, bits)
	}
	put(1, 1)     // BFINAL
	put(1, 2)     // fixed Huffman
	huff(0x30, 8) // literal 0
	left := n - 1
	// Length code 285 (258 bytes, 8 bits 11000101) then distance code 0
	// (distance 1, 5 bits), reversed once into one 13-bit LSB-first value.
	const match = 0b00000_10100011
	for left >= 258 {
		put(match, 13)
		left -= 258
	}
	for left >= 3 {
		l := left
		if l > 10 {
			l = 10
		}
		huff(uint64(l-2), 7) // codes 257–264: lengths 3–10, 7 bits 0000001…
		huff(0, 5)
		left -= l
	}
	for ; left > 0; left-- {
		huff(0x30, 8)
	}
	huff(0, 7) // end of block
	if nbits > 0 {
		out = append(out, byte(acc))
	}
	return out
}

func zipBomb(t testing.TB, n int64) []byte { return zipBombDeclaring(t, n, n) }

// zipBombDeclaring is a bomb of n zeros whose headers declare `declared`
// bytes: the extraction must count what it reads, not trust the header.
func zipBombDeclaring(t testing.TB, n, declared int64) []byte {
	t.Helper()
	raw := zerosDeflate(n)
	crc := crc32.NewIEEE()
	zero := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(zero)) {
		crc.Write(zero[:min(left, int64(len(zero)))])
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "0801.png", Method: zip.Deflate, CRC32: crc.Sum32(),
		CompressedSize64: uint64(len(raw)), UncompressedSize64: uint64(declared), Modified: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	zw.Close()
	return buf.Bytes()
}

func TestZerosDeflateIsValid(t *testing.T) {
	z := zipBomb(t, 5*258+4)
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := zr.File[0].Open()
	b, err := io.ReadAll(rc)
	if err != nil || len(b) != 5*258+4 || bytes.Count(b, []byte{0}) != len(b) {
		t.Fatalf("%d bytes, %v", len(b), err)
	}
}

// extract runs Extract, and ExtractTo into a scratch directory, which
// must agree: the same refusal, or the same files with the same bytes.
func extract(b []byte, lim Limits) ([]File, error) {
	files, err := Extract(bytes.NewReader(b), int64(len(b)), lim)
	dir, derr := os.MkdirTemp("", "dataset-spool-*")
	if derr != nil {
		panic(derr)
	}
	defer os.RemoveAll(dir)
	spooled, serr := ExtractTo(dir, bytes.NewReader(b), int64(len(b)), lim)
	if (err == nil) != (serr == nil) || (err != nil && err.Error() != serr.Error()) || len(files) != len(spooled) {
		return nil, fmt.Errorf("Extract and ExtractTo disagree: %v / %v, %d / %d files", err, serr, len(files), len(spooled))
	}
	for i, f := range spooled {
		got, rerr := f.Bytes()
		if rerr != nil || f.Data != nil || f.Name != files[i].Name || !bytes.Equal(got, files[i].Data) ||
			filepath.Dir(f.Path) != dir {
			return nil, fmt.Errorf("ExtractTo's %s differs from Extract's (%v)", f.Name, rerr)
		}
	}
	return files, err
}

func TestHostileArchivesRefused(t *testing.T) {
	t.Parallel()
	ok := pngHeader(8, 8)
	many := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for i := range 100000 {
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: "f/" + strings.Repeat("a", i%7) + string(rune('a'+i%26)) + itoa(i) + ".png", Method: zip.Store})
			w.Write([]byte{0})
		}
		zw.Close()
		return buf.Bytes()
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"zip-slip", "leaves the archive", zipOf(t, [][2]string{{"HR/ok.png", string(ok)}, {"../evil.png", string(ok)}})},
		{"zip-slip nested", "leaves the archive", zipOf(t, [][2]string{{"HR/../../evil.png", string(ok)}})},
		{"zip absolute", "absolute path", zipOf(t, [][2]string{{"/etc/evil.png", string(ok)}})},
		{"zip windows absolute", "absolute path", zipOf(t, [][2]string{{`C:\evil.png`, string(ok)}})},
		{"zip symlink", "links and devices", zipOf(t, [][2]string{{"HR/x.png@link", "/etc/passwd"}})},
		{"tar slip", "leaves the archive", tarOf(t, []*tar.Header{{Name: "../x.png", Typeflag: tar.TypeReg, Mode: 0o644}}, []string{string(ok)})},
		{"tar absolute", "absolute path", tarOf(t, []*tar.Header{{Name: "/x.png", Typeflag: tar.TypeReg, Mode: 0o644}}, []string{string(ok)})},
		{"tar symlink", "links and devices", tarOf(t, []*tar.Header{{Name: "x.png", Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}}, []string{""})},
		{"tar hard link", "links and devices", tarOf(t, []*tar.Header{{Name: "x.png", Typeflag: tar.TypeLink, Linkname: "y.png"}}, []string{""})},
		{"tar device", "links and devices", tarOf(t, []*tar.Header{{Name: "x.png", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}}, []string{""})},
		{"tar fifo", "links and devices", tarOf(t, []*tar.Header{{Name: "x.png", Typeflag: tar.TypeFifo}}, []string{""})},
		{"1 GiB zip bomb", "compression bomb", zipBomb(t, 1<<30)},
		{"1 GiB zip bomb declaring 1 KiB", "cannot be read", zipBombDeclaring(t, 1<<30, 1<<10)},
		{"100,000 tiny files", "more than 5000 files", many()},
		{"30000×30000 PNG header", "30000×30000 pixels", zipOf(t, [][2]string{{"HR/huge.png", string(pngHeader(30000, 30000))}})},
		{"not a PNG", "not a readable PNG", zipOf(t, [][2]string{{"HR/x.png", "GIF89a"}})},
		{"garbage", "not a readable tar", []byte("this is not an archive at all, just text of some length")},
		{"duplicate", "appears twice", zipOf(t, [][2]string{{"a.png", string(ok)}, {"./a.png", string(ok)}})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			files, err := extract(c.data, DefaultLimits)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, c.want)
			}
			if files != nil {
				t.Errorf("a refusal returned %d files", len(files))
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("refusing took %v", d)
			}
		})
	}
}

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// TestLimitsCountRealBytes: a zip whose headers understate its size is
// still stopped by the bytes actually read.
func TestLimitsCountRealBytes(t *testing.T) {
	lim := DefaultLimits
	lim.MaxRatio = 0
	lim.MaxTotalBytes = 1 << 20
	lim.MaxFileBytes = 1 << 30
	if _, err := extract(zipBomb(t, 4<<20), lim); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "more than 1048576 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func set5(t testing.TB) (hr, lr map[string][]byte) {
	dir := filepath.Join(fixtures.Dir(t), "images", "Set5")
	hr, lr = map[string][]byte{}, map[string][]byte{}
	for _, n := range []string{"baby", "bird", "butterfly", "head", "woman"} {
		h, err := os.ReadFile(filepath.Join(dir, "HR", n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		l, err := os.ReadFile(filepath.Join(dir, "LR_bicubic_X4", n+"x4.png"))
		if err != nil {
			t.Fatal(err)
		}
		hr[n], lr[n] = h, l
	}
	return hr, lr
}

// TestBuildSet5: HR only generates LR equal to the fixtures' MATLAB
// bicubic LR pixel for pixel; HR+LR pairs are paired and size-checked.
func TestBuildSet5(t *testing.T) {
	hr, lr := set5(t)
	var entries, pairs [][2]string
	for n, b := range hr {
		entries = append(entries, [2]string{"Set5/HR/" + n + ".png", string(b)})
		pairs = append(pairs, [2]string{"Set5/HR/" + n + ".png", string(b)}, [2]string{"Set5/LR_bicubic_X4/" + n + "x4.png", string(lr[n])})
	}
	for _, tc := range []struct {
		name      string
		entries   [][2]string
		generated bool
	}{{"hr only", entries, true}, {"pairs", pairs, false}} {
		files, err := extract(zipOf(t, tc.entries), DefaultLimits)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := Build(files, 4)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(imgs) != 5 || imgs[0].Name != "baby" {
			t.Fatalf("%s: %d images", tc.name, len(imgs))
		}
		for _, im := range imgs {
			if im.LRGenerated != tc.generated || im.LRWidth != im.HRWidth/4 || im.LRHeight != im.HRHeight/4 {
				t.Errorf("%s %s: %+v", tc.name, im.Name, ManifestOf(4, []Image{im}))
			}
			if tc.generated {
				if !samePixels(t, im.LR, lr[im.Name]) {
					t.Errorf("%s: generated LR differs from the fixture's MATLAB bicubic LR", im.Name)
				}
			}
		}
	}
	// A missing LR, an unpaired LR and a wrong LR size are refused.
	bad := [][][2]string{
		append([][2]string{}, pairs[:len(pairs)-1]...),
		append(append([][2]string{}, pairs...), [2]string{"Set5/LR_bicubic_X4/zebrax4.png", string(lr["baby"])}),
		{{"HR/baby.png", string(hr["baby"])}, {"LR/babyx4.png", string(lr["bird"])}},
		{{"HR/notes.txt", "hello"}},
	}
	for i, b := range bad {
		files, err := extract(zipOf(t, b), DefaultLimits)
		if err == nil {
			_, err = Build(files, 4)
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("bad set %d: %v", i, err)
		}
	}
}
