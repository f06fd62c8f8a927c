package scoring

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"testing"
)

// adlerOf is hash/adler32 continued from adler.
func adlerOf(adler uint32, p []byte) uint32 {
	// hash/adler32 has no way in with a running value but through its
	// digest's binary state ("adl\x01" + the value).
	d := adler32.New()
	st := append([]byte("adl\x01"), byte(adler>>24), byte(adler>>16), byte(adler>>8), byte(adler))
	if err := d.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(st); err != nil {
		panic(err)
	}
	d.Write(p)
	return d.Sum32()
}

// TestAdler32Update: the SIMD Adler-32 equals hash/adler32 for every
// length up to a few chunks past the SIMD path's start, at every
// alignment, from running values, on bytes of 255 (the sums' worst case)
// over more than one block of chunks, and on 1 MiB at once.
func TestAdler32Update(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20+64)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	ff := bytes.Repeat([]byte{255}, 3*32*adlerChunks()+77)
	starts := []uint32{1, 0, 0xfff0fff0, adlerOf(1, buf[:1000])}
	for _, start := range starts {
		for n := 0; n < 300; n++ {
			for off := 0; off < 33; off += 11 {
				p := buf[off : off+n]
				if got, want := adler32Update(start, p), adlerOf(start, p); got != want {
					t.Fatalf("start %#x, %d bytes at offset %d: %#x, want %#x", start, n, off, got, want)
				}
			}
		}
		for _, p := range [][]byte{ff, buf[3:], buf[:32*adlerChunks()]} {
			if got, want := adler32Update(start, p), adlerOf(start, p); got != want {
				t.Fatalf("start %#x, %d bytes: %#x, want %#x", start, len(p), got, want)
			}
		}
	}
}

// TestZlibReader: newZlibReader reads what compress/zlib writes, and
// refuses what compress/zlib's reader refuses, with the same error: a bad
// header, a preset dictionary other than the empty one, a corrupt
// checksum, a stream cut short.
func TestZlibReader(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 200000)
	for i := range data {
		data[i] = byte(r.IntN(16)) // compressible
	}
	var zb bytes.Buffer
	w := zlib.NewWriter(&zb)
	w.Write(data)
	w.Close()
	good := zb.Bytes()
	corrupt := func(i int, x byte) []byte { b := bytes.Clone(good); b[i] ^= x; return b }
	withDict := func(id uint32) []byte {
		var b bytes.Buffer
		w, _ := zlib.NewWriterLevelDict(&b, zlib.DefaultCompression, []byte{})
		w.Write(data[:1000])
		w.Close()
		s := b.Bytes()
		// A non-nil dictionary sets FDICT and writes its id (1, the empty
		// one's) after the header: put id there instead.
		if s[1]&0x20 == 0 || len(s) < 6 {
			t.Fatal("no FDICT header")
		}
		binary.BigEndian.PutUint32(s[2:6], id)
		return s
	}
	for name, in := range map[string][]byte{
		"good": good, "bad method": corrupt(0, 0x01), "bad check bits": corrupt(1, 0x01),
		"bad checksum": corrupt(len(good)-1, 0x01), "cut in the data": good[:len(good)/2],
		"cut in the checksum": good[:len(good)-2], "empty": nil, "one byte": good[:1],
		"empty dictionary id": withDict(1), "other dictionary id": withDict(7),
	} {
		want, wantErr := readAllZlib(t, in, false)
		got, gotErr := readAllZlib(t, in, true)
		if !bytes.Equal(got, want) || errString(gotErr) != errString(wantErr) {
			t.Errorf("%s: %d bytes, %v; compress/zlib: %d bytes, %v", name, len(got), gotErr, len(want), wantErr)
		}
	}
	if _, err := readAllZlib(t, withDict(7), true); !errors.Is(err, zlib.ErrDictionary) {
		t.Errorf("a preset dictionary other than the empty one: %v, want zlib.ErrDictionary", err)
	}
	if _, err := readAllZlib(t, withDict(1), true); err != nil {
		t.Errorf("the empty preset dictionary: %v", err)
	}
}

func readAllZlib(t *testing.T, in []byte, ours bool) ([]byte, error) {
	t.Helper()
	var rc io.ReadCloser
	var err error
	if ours {
		var z *zlibReader
		if z, err = newZlibReader(bytes.NewReader(in)); err == nil {
			rc = z
		}
	} else {
		rc, err = zlib.NewReader(bytes.NewReader(in))
	}
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return out, err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func BenchmarkAdler32(b *testing.B) {
	p := make([]byte, 3*2040*1356)
	for i := range p {
		p[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(p)))
	b.Run("hash/adler32", func(b *testing.B) {
		for b.Loop() {
			adler32.Checksum(p)
		}
	})
	b.Run("adler32Update", func(b *testing.B) {
		for b.Loop() {
			adler32Update(1, p)
		}
	})
}
