package scoring

import (
	"bufio"
	"compress/flate"
	"compress/zlib"
	"encoding/binary"
	"io"
)

// The zlib stream of a PNG, read as compress/zlib reads it but with a
// faster Adler-32: hash/adler32 runs at about a byte a cycle, a fifth of
// what decoding a DIV2K image costs; adler32Update checksums 32 bytes at a
// time where the CPU has AVX2.

// adlerMod is the Adler-32 modulus.
const adlerMod = 65521

// adler32Generic is hash/adler32's update: s1 and s2 in the low and high
// 16 bits of adler.
func adler32Generic(adler uint32, p []byte) uint32 {
	// adlerNMax is the most bytes before s2 could overflow 32 bits.
	const adlerNMax = 5552
	s1, s2 := adler&0xffff, adler>>16
	for len(p) > 0 {
		var q []byte
		if len(p) > adlerNMax {
			p, q = p[:adlerNMax], p[adlerNMax:]
		}
		for len(p) >= 4 {
			s1 += uint32(p[0])
			s2 += s1
			s1 += uint32(p[1])
			s2 += s1
			s1 += uint32(p[2])
			s2 += s1
			s1 += uint32(p[3])
			s2 += s1
			p = p[4:]
		}
		for _, x := range p {
			s1 += uint32(x)
			s2 += s1
		}
		s1 %= adlerMod
		s2 %= adlerMod
		p = q
	}
	return s2<<16 | s1
}

// zlibReader is compress/zlib's reader without a preset dictionary, step
// for step (reader.go of Go 1.26: the same header checks and errors, the
// same bufio.Reader around a source that is no io.ByteReader, the
// checksum read and compared at the end of the deflate stream), but with
// adler32Update for the checksum. pngfast's promise to accept exactly what
// image/png accepts rests on this (FuzzDecodePNG).
type zlibReader struct {
	r            flate.Reader
	decompressor io.ReadCloser
	adler        uint32
	err          error
	scratch      [4]byte
}

func newZlibReader(r io.Reader) (*zlibReader, error) {
	z := &zlibReader{adler: 1}
	if fr, ok := r.(flate.Reader); ok {
		z.r = fr
	} else {
		z.r = bufio.NewReader(r)
	}
	if _, z.err = io.ReadFull(z.r, z.scratch[0:2]); z.err != nil {
		if z.err == io.EOF {
			z.err = io.ErrUnexpectedEOF
		}
		return nil, z.err
	}
	h := binary.BigEndian.Uint16(z.scratch[:2])
	if z.scratch[0]&0x0f != 8 || z.scratch[0]>>4 > 7 || h%31 != 0 {
		return nil, zlib.ErrHeader
	}
	if z.scratch[1]&0x20 != 0 {
		// A preset dictionary: with none given, compress/zlib accepts only
		// the empty one's id (Adler-32 of nothing, 1).
		if _, z.err = io.ReadFull(z.r, z.scratch[0:4]); z.err != nil {
			if z.err == io.EOF {
				z.err = io.ErrUnexpectedEOF
			}
			return nil, z.err
		}
		if binary.BigEndian.Uint32(z.scratch[:4]) != 1 {
			return nil, zlib.ErrDictionary
		}
		z.decompressor = flate.NewReaderDict(z.r, nil)
	} else {
		z.decompressor = flate.NewReader(z.r)
	}
	return z, nil
}

func (z *zlibReader) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	var n int
	n, z.err = z.decompressor.Read(p)
	z.adler = adler32Update(z.adler, p[:n])
	if z.err != io.EOF {
		return n, z.err
	}
	if _, err := io.ReadFull(z.r, z.scratch[0:4]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		z.err = err
		return n, z.err
	}
	if binary.BigEndian.Uint32(z.scratch[:4]) != z.adler {
		z.err = zlib.ErrChecksum
		return n, z.err
	}
	return n, io.EOF
}

func (z *zlibReader) Close() error {
	if z.err != nil && z.err != io.EOF {
		return z.err
	}
	z.err = z.decompressor.Close()
	return z.err
}
