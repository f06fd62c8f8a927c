package worker

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/srarena/srarena/internal/ortlib"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

func TestMain(m *testing.M) {
	sandbox.MaybeRunChild() // the test binary doubles as the sandboxed child
	if len(os.Args) > 1 && os.Args[1] == "__worker-process" {
		os.Exit(workerProcess())
	}
	os.Exit(pgtest.Main(m))
}

// ortLib returns the ONNX Runtime library, skipping the test (failing under
// CI=true) when it is absent.
func ortLib(t testing.TB) string { return ortlib.Find(t) }

func randImage(w, h int, seed uint64) *scoring.Image {
	r := rand.New(rand.NewPCG(seed, 1))
	img := scoring.NewImage(w, h)
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	return img
}

func float32Nan() float32 { return float32(math.NaN()) }

// nearestUp is the reference ×s nearest upscale, computed in the parent.
func nearestUp(lr *scoring.Image, s int) *scoring.Image {
	out := scoring.NewImage(lr.W*s, lr.H*s)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			copy(out.Pix[3*(y*out.W+x):3*(y*out.W+x)+3], lr.Pix[3*((y/s)*lr.W+x/s):])
		}
	}
	return out
}
