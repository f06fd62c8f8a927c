package scoring

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// The SIMD kernels against their pure-Go twins, bit for bit, on every path
// this CPU has (kernelPaths: generic, avx, avx512 on amd64; generic
// elsewhere and with -tags purego), on random and edge inputs and on
// lengths that are not multiples of the vector width.

var kernelLengths = []int{1, 2, 3, 4, 5, 7, 8, 9, 11, 15, 16, 17, 23, 24, 25, 31, 33, 63, 64, 65, 127, 128, 129, 255, 256, 383, 384, 511, 512, 767, 768}

// kernelFill fills v with values of the given kind: random integers of the
// size of samples, squares and products (what the window filters),
// random reals, or constants 0 and 255².
func kernelFill(r *rand.Rand, v []float64, kind int) {
	for i := range v {
		switch kind {
		case 0:
			v[i] = float64(r.IntN(256))
		case 1:
			v[i] = float64(r.IntN(256) * r.IntN(256))
		case 2:
			v[i] = r.Float64() * 65025
		case 3:
			v[i] = 0
		default:
			v[i] = 65025
		}
	}
}

func sameBits(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

func TestFir11PathsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	g := gaussian11
	g6 := [6]float64{g[0], g[1], g[2], g[3], g[4], g[5]}
	for _, path := range kernelPaths() {
		restore := useKernelPath(path)
		for _, n := range kernelLengths {
			for kind := 0; kind < 5; kind++ {
				src := make([]float64, n+32)
				kernelFill(r, src, kind)
				var rows [11][]float64
				for j := range rows {
					rows[j] = src[3*j:]
				}
				got, want := make([]float64, n), make([]float64, n)
				fir11(got, &rows, &g6)
				fir11Generic(want, &rows, &g6)
				if i := sameBits(got, want); i >= 0 {
					t.Errorf("%s fir11 n=%d kind %d: [%d] = %v, generic %v", path, n, kind, i, got[i], want[i])
				}
				for _, ch := range []int{1, 3} {
					var sh [11][]float64
					for j := range sh {
						sh[j] = src[ch*j:]
					}
					fir11Generic(want, &sh, &g6)
					// fir11Row may read 2 values past ch·10 after dst's end
					fir11Row(got, src[:n+10*ch:n+10*ch+2], ch, &g6)
					if i := sameBits(got, want); i >= 0 {
						t.Errorf("%s fir11Row ch=%d n=%d kind %d: [%d] = %v, generic %v", path, ch, n, kind, i, got[i], want[i])
					}
				}
			}
		}
		restore()
	}
}

// kernelRing is a ring of 12 rows of random window means of the
// given kind: plane 0, 1 (means) in [0, 255], planes 2-4 (second moments)
// of the size of squares.
func kernelRing(r *rand.Rand, kind int) []float64 {
	ring := make([]float64, ssimRingRows*ssimRingRow)
	for j := 0; j < ssimRingRows; j++ {
		row := ring[j*ssimRingRow : (j+1)*ssimRingRow]
		for p := 0; p < 5; p++ {
			pl := row[p*ssimPlaneStride : (p+1)*ssimPlaneStride]
			switch {
			case kind >= 3:
				kernelFill(r, pl, kind)
			case p < 2:
				kernelFill(r, pl, 0)
				if kind == 2 {
					for i := range pl {
						pl[i] += r.Float64()
					}
				}
			default:
				kernelFill(r, pl, 1+kind%2)
			}
		}
	}
	return ring
}

func TestSSIMMapPathsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	g := gaussian11
	g6 := [6]float64{g[0], g[1], g[2], g[3], g[4], g[5]}
	for _, path := range kernelPaths() {
		restore := useKernelPath(path)
		for _, n := range kernelLengths {
			for kind := 0; kind < 5; kind++ {
				ring := kernelRing(r, kind)
				var rows [11][]float64
				for j := range rows {
					rows[j] = ring[j*ssimRingRow:]
				}
				got, want := make([]float64, n), make([]float64, n)
				ssimMap(got, &rows, &g6)
				ssimMapGeneric(want, &rows, &g6)
				if i := sameBits(got, want); i >= 0 {
					t.Errorf("%s ssimMap n=%d kind %d: [%d] = %v, generic %v", path, n, kind, i, got[i], want[i])
				}
				if kind >= 3 && want[0] != 1 {
					t.Errorf("constant rows: map value %v, want 1", want[0])
				}
				two := make([]float64, 2*ssimMaxCh*ssimTile)
				var rows12 [12][]float64
				for j := range rows12 {
					rows12[j] = ring[j*ssimRingRow : (j+1)*ssimRingRow]
				}
				ssimMap2(two, &rows12, n, &g6)
				var rows1 [11][]float64
				for j := range rows1 {
					rows1[j] = ring[(j+1)*ssimRingRow:]
				}
				want1 := make([]float64, n)
				ssimMapGeneric(want1, &rows1, &g6)
				if i := sameBits(two[:n], want); i >= 0 {
					t.Errorf("%s ssimMap2 row 0 n=%d kind %d: [%d] = %v, generic %v", path, n, kind, i, two[i], want[i])
				}
				if i := sameBits(two[ssimMaxCh*ssimTile:][:n], want1); i >= 0 {
					t.Errorf("%s ssimMap2 row 1 n=%d kind %d: [%d] = %v, generic %v", path, n, kind, i, two[ssimMaxCh*ssimTile+i], want1[i])
				}
			}
		}
		restore()
	}
}

func TestSSIMPrepPathsBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, path := range kernelPaths() {
		restore := useKernelPath(path)
		for _, n := range append(kernelLengths, ssimMaxCh*(ssimTile+10)) {
			a, b := make([]uint8, n), make([]uint8, n)
			for i := range a {
				a[i], b[i] = uint8(r.IntN(256)), uint8(r.IntN(256))
			}
			a[0], b[n-1] = 255, 255
			var got, want [5][]float64
			for p := range got {
				got[p], want[p] = make([]float64, n), make([]float64, n)
			}
			ssimPrep(got[0], got[1], got[2], got[3], got[4], a, b)
			ssimPrepGeneric(want[0], want[1], want[2], want[3], want[4], a, b)
			for p := range got {
				if i := sameBits(got[p], want[p]); i >= 0 {
					t.Errorf("%s ssimPrep n=%d plane %d: [%d] = %v, generic %v", path, n, p, i, got[p][i], want[p][i])
				}
			}
		}
		restore()
	}
}

// TestSSIMPathsAndCoresAgree: SSIM and SSIM-Y give the serial reference's
// bits on every kernel path and core count, on odd sizes (tails of every
// length, one tile and several), random, constant and extreme images.
func TestSSIMPathsAndCoresAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	type pair struct {
		name   string
		sr, hr *Image
	}
	var pairs []pair
	for _, sz := range [][2]int{{19, 19}, {27, 23}, {ssimTile + 18, 31}, {2*ssimTile + 27, 150}, {301, 77}} {
		w, h := sz[0], sz[1]
		a, b := NewImage(w, h), NewImage(w, h)
		for i := range a.Pix {
			a.Pix[i] = uint8(r.IntN(256))
			b.Pix[i] = uint8(int(a.Pix[i]) + r.IntN(41) - 20)
		}
		pairs = append(pairs, pair{"random", a, b})
		c0, c255 := NewImage(w, h), NewImage(w, h)
		for i := range c255.Pix {
			c255.Pix[i] = 255
		}
		pairs = append(pairs, pair{"0-255", c0, c255}, pair{"255-255", c255, c255}, pair{"random-0", a, c0})
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, p := range pairs {
		want, wantY := ssimSerial(p.sr, p.hr, 4), ssimYSerial(p.sr, p.hr, 4)
		if p.name == "255-255" && (want != 1 || wantY != 1) {
			t.Errorf("identical images: SSIM %v, SSIM-Y %v, want 1", want, wantY)
		}
		for _, path := range kernelPaths() {
			restore := useKernelPath(path)
			for _, procs := range []int{1, 2, 5} {
				runtime.GOMAXPROCS(procs)
				got, err := SSIM(p.sr, p.hr, 4)
				gotY, errY := SSIMY(p.sr, p.hr, 4)
				if err != nil || errY != nil {
					t.Fatal(err, errY)
				}
				if math.Float64bits(got) != math.Float64bits(want) || math.Float64bits(gotY) != math.Float64bits(wantY) {
					t.Errorf("%s %dx%d, %s, %d cores: SSIM %.17g SSIM-Y %.17g, serial %.17g %.17g",
						p.name, p.sr.W, p.sr.H, path, procs, got, gotY, want, wantY)
				}
			}
			restore()
		}
	}
}

// FuzzSSIMPaths: any pair of small images scores the same bits on every
// kernel path as the serial reference.
func FuzzSSIMPaths(f *testing.F) {
	f.Add([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), uint8(20), uint8(3))
	f.Add(make([]byte, 64), uint8(12), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, w8, seed uint8) {
		w, h := 11+int(w8)%120, 11+int(seed)%30
		if len(data) == 0 {
			return
		}
		a, b := NewImage(w, h), NewImage(w, h)
		for i := range a.Pix {
			a.Pix[i] = data[i%len(data)]
			b.Pix[i] = data[(i*7+int(seed))%len(data)]
		}
		want, wantY := ssimSerial(a, b, 0), ssimYSerial(a, b, 0)
		for _, path := range kernelPaths() {
			restore := useKernelPath(path)
			got, _ := SSIM(a, b, 0)
			gotY, _ := SSIMY(a, b, 0)
			restore()
			if math.Float64bits(got) != math.Float64bits(want) || math.Float64bits(gotY) != math.Float64bits(wantY) {
				t.Fatalf("%dx%d %s: SSIM %.17g SSIM-Y %.17g, serial %.17g %.17g", w, h, path, got, gotY, want, wantY)
			}
		}
	})
}
