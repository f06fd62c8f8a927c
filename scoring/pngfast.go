package scoring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
)

// The fast path of DecodePNG: 8-bit truecolour (colour type 2) and
// truecolour with alpha (6), not interlaced — what DIV2K, LSDIR, Set5 and
// every SR output are. image/png decodes those into an RGBA image (zeroed,
// 4 bytes a pixel, then filled pixel by pixel) that fromImage copies again;
// here the rows are inflated and unfiltered straight into Image.Pix.
//
// It must accept exactly what image/png accepts and give the same pixels,
// so it mirrors image/png's reader (Go 1.26, reader.go) step by step: the
// same chunk-order rules, every chunk's CRC, the IDAT stream presented to
// the zlib reader through the same Read (compress/zlib's reader, mirrored
// in adler32.go for a faster checksum, wraps it in the same 4 KiB
// bufio.Reader, so even image/png's tolerance of trailing bytes after the
// zlib stream in the read-ahead of the last IDAT chunk is kept), the same
// end-of-stream and too-much-data checks. FuzzDecodePNG checks both agree.
// Everything else — other colour types and depths, interlacing, chunks
// before IHDR, headers over MaxPixels — is left to image/png, before
// anything is allocated.

// errPNGFast is what decodeFast returns for a file image/png must refuse.
// DecodePNG then decodes the file again with image/png, for image/png's own
// error message (and, should the two ever disagree, image/png's answer).
var errPNGFast = errors.New("png: invalid format")

// errPNGShort is decodeFast's answer for a file too short to hold the image
// its header claims; DecodePNG returns it as it is, since image/png would
// allocate the image before finding out.
var errPNGShort = fmt.Errorf("%w: png: not enough pixel data for its size", ErrInvalid)

// The decoding stages of image/png's reader.
const (
	stSeenIHDR = iota + 1
	stSeenPLTE
	stSeentRNS
	stSeenIDAT
	stSeenIEND
)

type fastPNG struct {
	data  []byte
	pos   int
	crc   uint32
	alpha bool // colour type 6
	w, h  int
	stage int

	idatLength uint32 // bytes left in the current IDAT chunk
	sinceYield int
}

// decodeFast decodes data if it is a PNG of the fast path's kind.
// ok is false when it is not (nothing allocated, data not judged);
// otherwise img or an error (errPNGFast) is the answer.
func decodeFast(data []byte) (img *Image, ok bool, err error) {
	// The fast path starts with the signature and IHDR as first chunk.
	if len(data) < 8+8+13+4 || string(data[:8]) != "\x89PNG\r\n\x1a\n" ||
		binary.BigEndian.Uint32(data[8:]) != 13 || string(data[12:16]) != "IHDR" {
		return nil, false, nil
	}
	ihdr := data[16:29]
	if crc32.ChecksumIEEE(data[12:29]) != binary.BigEndian.Uint32(data[29:]) {
		return nil, false, nil
	}
	w := int32(binary.BigEndian.Uint32(ihdr[0:]))
	h := int32(binary.BigEndian.Uint32(ihdr[4:]))
	depth, ct := ihdr[8], ihdr[9]
	if ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] != 0 || depth != 8 || (ct != 2 && ct != 6) ||
		w <= 0 || h <= 0 || int64(w)*int64(h) > MaxPixels {
		return nil, false, nil
	}
	// Deflate expands at most 1032:1: a file too short to hold the rows
	// (image/png would say "not enough pixel data", after allocating the
	// image) is refused here without allocating, and without a fallback.
	bpp := 3
	if ct == 6 {
		bpp = 4
	}
	if raw := int64(h) * (1 + int64(bpp)*int64(w)); raw/1032 > int64(len(data)) {
		return nil, true, errPNGShort
	}
	d := &fastPNG{data: data, pos: 33, alpha: ct == 6, w: int(w), h: int(h), stage: stSeenIHDR}
	img, err = d.decode()
	return img, true, err
}

func (d *fastPNG) decode() (*Image, error) {
	var img *Image
	for d.stage != stSeenIEND {
		hdr, err := d.next(8)
		if err != nil {
			return nil, err
		}
		length := binary.BigEndian.Uint32(hdr)
		d.crc = crc32.Update(0, crc32.IEEETable, hdr[4:8])
		switch string(hdr[4:8]) {
		case "IHDR":
			return nil, errPNGFast // chunk out of order
		case "PLTE":
			// Optional and ignored for truecolour, but checked.
			if d.stage != stSeenIHDR {
				return nil, errPNGFast
			}
			d.stage = stSeenPLTE
			if np := length / 3; length%3 != 0 || np == 0 || np > 256 {
				return nil, errPNGFast
			}
			if err := d.skip(length); err != nil {
				return nil, err
			}
			continue
		case "tRNS":
			// image/png refuses tRNS in an RGBA image; in an RGB image it
			// only sets alpha, which DecodePNG drops.
			if d.alpha || (d.stage != stSeenIHDR && d.stage != stSeenPLTE) || length != 6 {
				return nil, errPNGFast
			}
			d.stage = stSeentRNS
			if err := d.skip(length); err != nil {
				return nil, err
			}
			continue
		case "IDAT":
			if d.stage == stSeenIDAT {
				break // later IDAT chunks are skipped like unknown ones
			}
			d.stage = stSeenIDAT
			d.idatLength = length
			if img, err = d.pixels(); err != nil {
				return nil, err
			}
			if err := d.verifyChecksum(); err != nil {
				return nil, err
			}
			continue
		case "IEND":
			if d.stage != stSeenIDAT || length != 0 {
				return nil, errPNGFast
			}
			d.stage = stSeenIEND
			if err := d.verifyChecksum(); err != nil {
				return nil, err
			}
			continue
		}
		if length > 0x7fffffff {
			return nil, errPNGFast
		}
		if err := d.skip(length); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// next returns the next n bytes of the file.
func (d *fastPNG) next(n int) ([]byte, error) {
	if len(d.data)-d.pos < n {
		return nil, errPNGFast // truncated
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// skip passes over the rest of a chunk of length bytes and checks its CRC.
func (d *fastPNG) skip(length uint32) error {
	if uint64(len(d.data)-d.pos) < uint64(length) {
		return errPNGFast
	}
	b, _ := d.next(int(length))
	d.crc = crc32.Update(d.crc, crc32.IEEETable, b)
	return d.verifyChecksum()
}

func (d *fastPNG) verifyChecksum() error {
	b, err := d.next(4)
	if err != nil {
		return err
	}
	if binary.BigEndian.Uint32(b) != d.crc {
		return errPNGFast
	}
	return nil
}

// Read presents the IDAT chunks as one stream, exactly as image/png's
// decoder.Read does (same chunk switching, same CRC checks, same short
// reads), so that the zlib reader reads ahead just as far as image/png's.
//
// It also lets other goroutines run every 64 KiB (see yieldingReader).
func (d *fastPNG) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for d.idatLength == 0 {
		if err := d.verifyChecksum(); err != nil {
			return 0, err
		}
		hdr, err := d.next(8)
		if err != nil {
			return 0, err
		}
		d.idatLength = binary.BigEndian.Uint32(hdr)
		if string(hdr[4:8]) != "IDAT" {
			return 0, errPNGFast // not enough pixel data
		}
		d.crc = crc32.Update(0, crc32.IEEETable, hdr[4:8])
	}
	if int(d.idatLength) < 0 { // 32-bit int
		return 0, errPNGFast
	}
	n := copy(p[:min(len(p), int(d.idatLength))], d.data[d.pos:])
	if n == 0 {
		return 0, io.EOF
	}
	d.pos += n
	d.crc = crc32.Update(d.crc, crc32.IEEETable, p[:n])
	d.idatLength -= uint32(n)
	if d.sinceYield += n; d.sinceYield >= 64<<10 {
		d.sinceYield = 0
		runtime.Gosched()
	}
	return n, nil
}

// pixels inflates and unfilters the image data (image/png's decode and
// readImagePass for cbTC8 and cbTCA8).
func (d *fastPNG) pixels() (*Image, error) {
	r, err := newZlibReader(d) // compress/zlib's reader with a faster Adler-32 (adler32.go)
	if err != nil {
		return nil, errPNGFast
	}
	defer r.Close()
	img := NewImage(d.w, d.h)
	rowLen := 3 * d.w
	var filter [1]byte
	if !d.alpha {
		// Unfiltered in place: the previous row of Pix is the prior row.
		prior := make([]byte, rowLen)
		for y := 0; y < d.h; y++ {
			row := img.Pix[y*rowLen : (y+1)*rowLen]
			if _, err := io.ReadFull(r, filter[:]); err != nil {
				return nil, errPNGFast
			}
			if _, err := io.ReadFull(r, row); err != nil {
				return nil, errPNGFast
			}
			if !unfilter(filter[0], row, prior, 3) {
				return nil, errPNGFast
			}
			prior = row
		}
	} else {
		cr := make([]byte, 1+4*d.w)
		pr := make([]byte, 1+4*d.w)
		for y := 0; y < d.h; y++ {
			if _, err := io.ReadFull(r, cr); err != nil {
				return nil, errPNGFast
			}
			if !unfilter(cr[0], cr[1:], pr[1:], 4) {
				return nil, errPNGFast
			}
			dropAlpha(img.Pix[y*rowLen:(y+1)*rowLen], cr[1:])
			pr, cr = cr, pr
		}
	}
	// The zlib stream must end here (which checks its Adler-32), and with
	// it the current IDAT chunk.
	var tmp [1]byte
	n := 0
	for i := 0; n == 0 && err == nil; i++ {
		if i == 100 {
			return nil, errPNGFast
		}
		n, err = r.Read(tmp[:])
	}
	if (err != nil && err != io.EOF) || n != 0 || d.idatLength != 0 {
		return nil, errPNGFast
	}
	return img, nil
}

// dropAlpha copies the R, G, B of each RGBA pixel of src into dst.
func dropAlpha(dst, src []byte) {
	for len(dst) >= 3 && len(src) >= 4 {
		dst[0], dst[1], dst[2] = src[0], src[1], src[2]
		dst, src = dst[3:], src[4:]
	}
}

// unfilter undoes a PNG row filter in place: cur is the row (without its
// filter byte), prior the unfiltered previous row (zeros for the first),
// bpp the bytes per pixel (3 or 4). It reports false for an unknown
// filter type.
func unfilter(ft byte, cur, prior []byte, bpp int) bool {
	prior = prior[:len(cur)]
	switch ft {
	case 0:
	case 1: // Sub
		if bpp == 3 {
			sub3(cur)
		} else {
			sub4(cur)
		}
	case 2: // Up: most rows of a photo, 8 bytes at a time
		addBytes(cur, prior)
	case 3: // Average
		if bpp == 3 {
			avg3(cur, prior)
		} else {
			avg4(cur, prior)
		}
	case 4: // Paeth
		if bpp == 3 {
			paeth3(cur, prior)
		} else {
			paeth4(cur, prior)
		}
	default:
		return false
	}
	return true
}

// addBytes adds p to c byte by byte, modulo 256, 8 bytes a word: the low 7
// bits of each byte add without carrying out of it, the top bit is the xor
// of both top bits and that carry.
func addBytes(c, p []byte) {
	const hi = 0x8080808080808080
	p = p[:len(c)]
	for len(c) >= 8 {
		x, y := binary.LittleEndian.Uint64(c), binary.LittleEndian.Uint64(p)
		binary.LittleEndian.PutUint64(c, ((x&^hi)+(y&^hi))^((x^y)&hi))
		c, p = c[8:], p[8:]
	}
	for i := range c {
		c[i] += p[i]
	}
}

// paeth is x plus the PNG Paeth predictor of a (left), b (up) and c
// (up-left), modulo 256, in the form image/png uses: small enough to be
// inlined.
func paeth(x, a, b, c int) int {
	pa := b - c
	pb := a - c
	pc := pa + pb
	pa = (pa ^ (pa >> 31)) - (pa >> 31)
	pb = (pb ^ (pb >> 31)) - (pb >> 31)
	pc = (pc ^ (pc >> 31)) - (pc >> 31)
	if pa > pb || pa > pc {
		a = c
		if pb <= pc {
			a = b
		}
	}
	return (a + x) & 0xff
}

// sub3, sub4, avg3 and avg4 are image/png's Sub and Average a pixel at a
// time, the left pixel kept in registers (a byte loop waits on the store
// of each byte to load it back bpp bytes later).
func sub3(cur []byte) {
	var a0, a1, a2 byte
	for len(cur) >= 3 {
		a0 += cur[0]
		a1 += cur[1]
		a2 += cur[2]
		cur[0], cur[1], cur[2] = a0, a1, a2
		cur = cur[3:]
	}
}

func sub4(cur []byte) {
	var a0, a1, a2, a3 byte
	for len(cur) >= 4 {
		a0 += cur[0]
		a1 += cur[1]
		a2 += cur[2]
		a3 += cur[3]
		cur[0], cur[1], cur[2], cur[3] = a0, a1, a2, a3
		cur = cur[4:]
	}
}

// The first pixel has a = 0: cur += prior/2, as image/png does it.
func avg3(cur, prior []byte) {
	var a0, a1, a2 int
	for len(cur) >= 3 && len(prior) >= 3 {
		a0 = (int(cur[0]) + (a0+int(prior[0]))/2) & 0xff
		a1 = (int(cur[1]) + (a1+int(prior[1]))/2) & 0xff
		a2 = (int(cur[2]) + (a2+int(prior[2]))/2) & 0xff
		cur[0], cur[1], cur[2] = uint8(a0), uint8(a1), uint8(a2)
		cur, prior = cur[3:], prior[3:]
	}
}

func avg4(cur, prior []byte) {
	var a0, a1, a2, a3 int
	for len(cur) >= 4 && len(prior) >= 4 {
		a0 = (int(cur[0]) + (a0+int(prior[0]))/2) & 0xff
		a1 = (int(cur[1]) + (a1+int(prior[1]))/2) & 0xff
		a2 = (int(cur[2]) + (a2+int(prior[2]))/2) & 0xff
		a3 = (int(cur[3]) + (a3+int(prior[3]))/2) & 0xff
		cur[0], cur[1], cur[2], cur[3] = uint8(a0), uint8(a1), uint8(a2), uint8(a3)
		cur, prior = cur[4:], prior[4:]
	}
}

// paeth3 and paeth4 are image/png's filterPaeth a pixel at a time, the
// left and up-left pixels kept in registers.
func paeth3(cur, prior []byte) {
	var a0, a1, a2, c0, c1, c2 int
	for len(cur) >= 3 && len(prior) >= 3 {
		b0, b1, b2 := int(prior[0]), int(prior[1]), int(prior[2])
		a0 = paeth(int(cur[0]), a0, b0, c0)
		a1 = paeth(int(cur[1]), a1, b1, c1)
		a2 = paeth(int(cur[2]), a2, b2, c2)
		cur[0], cur[1], cur[2] = uint8(a0), uint8(a1), uint8(a2)
		c0, c1, c2 = b0, b1, b2
		cur, prior = cur[3:], prior[3:]
	}
}

func paeth4(cur, prior []byte) {
	var a0, a1, a2, a3, c0, c1, c2, c3 int
	for len(cur) >= 4 && len(prior) >= 4 {
		b0, b1, b2, b3 := int(prior[0]), int(prior[1]), int(prior[2]), int(prior[3])
		a0 = paeth(int(cur[0]), a0, b0, c0)
		a1 = paeth(int(cur[1]), a1, b1, c1)
		a2 = paeth(int(cur[2]), a2, b2, c2)
		a3 = paeth(int(cur[3]), a3, b3, c3)
		cur[0], cur[1], cur[2], cur[3] = uint8(a0), uint8(a1), uint8(a2), uint8(a3)
		c0, c1, c2, c3 = b0, b1, b2, b3
		cur, prior = cur[4:], prior[4:]
	}
}
