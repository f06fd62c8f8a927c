package scoring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"testing"
)

// quantRanges are the data ranges the kernels are checked with: the two
// the platform uses and others whose division rounds differently.
var quantRanges = []float32{1, 255, 0.75, 3.1, 1000}

// quantEdges are the values where a quantiser can go wrong: zeros of both
// signs, subnormals, everything around every rounding tie (k+½)·range/255
// for a few ulps, the clamp limits, huge values of both signs.
func quantEdges(dr float32) []float32 {
	v := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		1e-38, -1e-38, math.MaxFloat32, -math.MaxFloat32, dr, -dr, 2 * dr, 1, -1, 255, 256, 0x1p23, 0x1p24}
	for k := -1; k <= 256; k++ {
		c := float32((float64(k) + 0.5) * float64(dr) / 255)
		lo, hi := math.Float32bits(c), math.Float32bits(c)
		for i := 0; i < 4; i++ {
			v = append(v, math.Float32frombits(lo), math.Float32frombits(hi))
			lo, hi = lo-1, hi+1
		}
		v = append(v, float32(float64(k)*float64(dr)/255))
	}
	return v
}

// nonFinite are NaNs (quiet, signalling, negative, with payloads) and ±Inf.
var nonFinite = []float32{float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xffc00000),
	math.Float32frombits(0x7fbfffff), math.Float32frombits(0xffffffff), float32(math.Inf(1)), float32(math.Inf(-1))}

// quantRef quantises three planes into interleaved RGB with the reference
// quantize (math.RoundToEven): what QuantizeCHWChecked writes.
func quantRef(r, g, b []float32, dr float32) []uint8 {
	out := make([]uint8, 3*len(r))
	for i := range r {
		out[3*i], out[3*i+1], out[3*i+2] = quantize(r[i], dr), quantize(g[i], dr), quantize(b[i], dr)
	}
	return out
}

// checkBand runs quantizeBand (the SIMD kernel where the CPU has one) and
// quantizeBandGeneric on the same band and wants the reference's bytes and
// verdict from both.
func checkBand(t *testing.T, r, g, b []float32, dr float32) {
	t.Helper()
	finite := true
	for i := range r {
		if r[i]-r[i] != 0 || g[i]-g[i] != 0 || b[i]-b[i] != 0 {
			finite = false
		}
	}
	want := quantRef(r, g, b, dr)
	for _, k := range []struct {
		name string
		f    func(d []uint8, r, g, b []float32, dr float32) bool
	}{{"quantizeBand", quantizeBand}, {"quantizeBandGeneric", quantizeBandGeneric}} {
		got := make([]uint8, 3*len(r))
		if ok := k.f(got, r, g, b, dr); ok != finite {
			t.Fatalf("%s range %v, %d pixels: finite %v, want %v", k.name, dr, len(r), ok, finite)
		}
		if finite && string(got) != string(want) {
			for i := range got {
				if got[i] != want[i] {
					v := []float32{r[i/3], g[i/3], b[i/3]}[i%3]
					t.Fatalf("%s range %v: byte %d (value %v, bits %#x) = %d, want %d", k.name, dr, i, v, math.Float32bits(v), got[i], want[i])
				}
			}
		}
	}
}

// TestQuantizeKernelEdges: the SIMD kernel (AVX2 on amd64) and the pure Go
// loop write exactly the reference's bytes on every edge value, in every
// lane of a block and in the scalar tail, in each plane, and report every
// kind of non-finite value wherever it sits.
func TestQuantizeKernelEdges(t *testing.T) {
	t.Logf("AVX2 kernel in use: %v", kernelInUse())
	for _, dr := range quantRanges {
		e := quantEdges(dr)
		// Rotations of the edge list across the planes put each value in
		// every lane; lengths not a multiple of 8 exercise the tail.
		for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 64, len(e)} {
			for shift := 0; shift < 8; shift++ {
				r, g, b := make([]float32, n), make([]float32, n), make([]float32, n)
				for i := 0; i < n; i++ {
					r[i], g[i], b[i] = e[(i+shift)%len(e)], e[(i+shift+n/3+1)%len(e)], e[(i+shift+2*n/3+2)%len(e)]
				}
				checkBand(t, r, g, b, dr)
			}
		}
		for _, n := range []int{8, 13, 40} {
			for pos := 0; pos < n; pos++ {
				for plane := 0; plane < 3; plane++ {
					for _, bad := range nonFinite {
						p := [3][]float32{make([]float32, n), make([]float32, n), make([]float32, n)}
						for i := 0; i < n; i++ {
							p[0][i], p[1][i], p[2][i] = 0.3*dr, 0.6*dr, 0.9*dr
						}
						p[plane][pos] = bad
						checkBand(t, p[0], p[1], p[2], dr)
					}
				}
			}
		}
	}
}

// TestQuantizeKernelSweep: the kernel equals the reference on float32 bit
// patterns spread over the whole range (every 251st, so every exponent and
// sign, NaNs and infinities included) and on 2M random values in and around
// [0, range]. SRARENA_QUANT_EXHAUSTIVE=1 checks all 2³² patterns instead
// (about a minute per data range on two cores).
func TestQuantizeKernelSweep(t *testing.T) {
	step := uint64(251)
	ranges := quantRanges
	if os.Getenv("SRARENA_QUANT_EXHAUSTIVE") == "1" {
		step, ranges = 1, []float32{1, 255}
	}
	const block = 1 << 16
	for _, dr := range ranges {
		var mu sync.Mutex
		var fail string
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for wk := 0; wk < workers; wk++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, g, b := make([]float32, block), make([]float32, block), make([]float32, block)
				got := make([]uint8, 3*block)
				for start := uint64(wk) * block * step; start < 1<<32; start += uint64(workers) * block * step {
					n := 0
					for i := 0; i < block; i++ {
						bits := start + uint64(i)*step
						if bits >= 1<<32 {
							break
						}
						v := math.Float32frombits(uint32(bits))
						if v-v != 0 {
							continue // non-finite: TestQuantizeKernelEdges
						}
						r[n], g[n], b[n] = v, -v, v*0.5
						n++
					}
					if n == 0 {
						continue
					}
					if !quantizeBand(got[:3*n], r[:n], g[:n], b[:n], dr) {
						mu.Lock()
						fail = "finite values reported non-finite"
						mu.Unlock()
						return
					}
					for i := 0; i < n; i++ {
						if got[3*i] != quantize(r[i], dr) || got[3*i+1] != quantize(g[i], dr) || got[3*i+2] != quantize(b[i], dr) {
							mu.Lock()
							fail = fmt.Sprintf("value %v (%#x) differs", r[i], math.Float32bits(r[i]))
							mu.Unlock()
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		if fail != "" {
			t.Fatalf("range %v: %s", dr, fail)
		}
		rng := rand.New(rand.NewPCG(7, uint64(dr)))
		const n = 1 << 20
		r, g, b := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range r {
			r[i], g[i], b[i] = (rng.Float32()*1.2-0.1)*dr, rng.Float32()*dr, (rng.Float32()*3-1)*dr
		}
		checkBand(t, r, g, b, dr)
	}
}

// TestQuantizeCHWIntoCores: the same bytes and the same first bad index
// whatever the number of cores.
func TestQuantizeCHWIntoCores(t *testing.T) {
	h, w := 3*quantBand+5, 37
	rng := rand.New(rand.NewPCG(9, 10))
	data := make([]float32, 3*h*w)
	for i := range data {
		data[i] = rng.Float32()*1.3 - 0.15
	}
	want, _, err := QuantizeCHWChecked(data, h, w, 1)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]float32(nil), data...)
	bad[2*h*w+5*w+3], bad[h*w+7] = float32(math.Inf(-1)), float32(math.NaN())
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 5} {
		runtime.GOMAXPROCS(procs)
		got := make([]uint8, 3*h*w)
		if b, err := QuantizeCHWInto(got, data, h, w, 1); err != nil || b != -1 || string(got) != string(want.Pix) {
			t.Errorf("%d cores: bad %d, err %v, equal %v", procs, b, err, string(got) == string(want.Pix))
		}
		if b, err := QuantizeCHWInto(got, bad, h, w, 1); err != nil || b != h*w+7 {
			t.Errorf("%d cores: first bad %d (%v), want %d", procs, b, err, h*w+7)
		}
	}
}

// FuzzQuantizeCHWInto: for any float32 output (the model's, so anything)
// the fast quantiser writes QuantizeCHWChecked's bytes and names the same
// first non-finite value.
func FuzzQuantizeCHWInto(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0xc0, 0x7f, 1, 2, 3, 4}, uint8(1), false)
	f.Add(make([]byte, 4*3*17), uint8(17), true)
	f.Fuzz(func(t *testing.T, raw []byte, w uint8, r255 bool) {
		n := len(raw) / 4
		if w == 0 || n < 3 {
			return
		}
		pw := min(int(w), n/3)
		h := n / 3 / pw
		data := make([]float32, 3*h*pw)
		for i := range data {
			data[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
		}
		dr := float32(1)
		if r255 {
			dr = 255
		}
		want, wbad, err := QuantizeCHWChecked(data, h, pw, dr)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]uint8, len(data))
		bad, err := QuantizeCHWInto(got, data, h, pw, dr)
		if err != nil || bad != wbad {
			t.Fatalf("bad %d (%v), want %d", bad, err, wbad)
		}
		if bad < 0 && string(got) != string(want.Pix) {
			t.Fatal("bytes differ from QuantizeCHWChecked")
		}
	})
}

// BenchmarkQuantizeKernelAB: QuantizeCHWInto on a 2040×1356 output (one
// DIV2K ×4 image) with the pure Go band loop (old, as before the kernel)
// and with the SIMD kernel (new), alternately: -count 5 gives 10 rounds
// of each, side by side.
func BenchmarkQuantizeKernelAB(b *testing.B) {
	h, w := 1356, 2040
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]float32, 3*h*w)
	for i := range data {
		data[i] = r.Float32()*1.1 - 0.05
	}
	dst := make([]uint8, 3*h*w)
	defer setKernel(setKernel(true))
	for _, ab := range []string{"old", "new", "new", "old"} {
		b.Run(ab, func(b *testing.B) {
			setKernel(ab == "new")
			for b.Loop() {
				QuantizeCHWInto(dst, data, h, w, 1)
			}
		})
	}
}
