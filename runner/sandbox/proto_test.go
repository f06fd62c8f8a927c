package sandbox

import (
	"bytes"
	"math"
	"testing"
)

// TestFloatsWire: floats go over the pipe as little-endian float32 bit for
// bit (NaN payloads, -0, subnormals), by the byte-copy path of
// little-endian machines and by the encoding loop of the others.
func TestFloatsWire(t *testing.T) {
	v := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, math.SmallestNonzeroFloat32, math.MaxFloat32,
		math.Float32frombits(0x7fc00001), math.Float32frombits(0xff800000), 1.0 / 3}
	for len(v) < 70000 { // more than one encoding chunk
		v = append(v, float32(len(v))*0.37)
	}
	want := encodeFloats(nil, v)
	defer func(le bool) { nativeLE = le }(nativeLE)
	for _, le := range []bool{nativeLE, false} {
		nativeLE = le
		var b bytes.Buffer
		if err := writeFloats(&b, v); err != nil || !bytes.Equal(b.Bytes(), want) {
			t.Fatalf("native LE %v: writeFloats gave other bytes (%v)", le, err)
		}
		got := make([]float32, len(v))
		var scratch []byte
		if err := readFloats(&b, got, &scratch); err != nil {
			t.Fatal(err)
		}
		for i := range v {
			if math.Float32bits(got[i]) != math.Float32bits(v[i]) {
				t.Fatalf("native LE %v: value %d is %#x, want %#x", le, i, math.Float32bits(got[i]), math.Float32bits(v[i]))
			}
		}
	}
}
