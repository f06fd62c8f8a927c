package sandbox

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	MaybeRunChild() // the test binary doubles as the sandboxed child
	if len(os.Args) == 4 && os.Args[1] == "__orphan-parent" {
		os.Exit(orphanParent(os.Args[2], os.Args[3]))
	}
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "__fake-child-") {
		os.Exit(fakeChild(strings.TrimPrefix(os.Args[1], "__fake-child-")))
	}
	os.Exit(m.Run())
}

// ortLib returns the ONNX Runtime library, skipping the test (failing under
// CI=true) when it is absent.
func ortLib(t testing.TB) string {
	t.Helper()
	lib, err := FindORT()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (required under CI=true)", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return lib
}

// testRun configures runOnce.
type testRun struct {
	Command               []string
	Device                string
	NoLandlock, NoSeccomp bool
	Insecure              bool
	Runs                  int
	LoadTimeout           time.Duration
	ImageTimeout          time.Duration
	Logf, Warnf           func(string)
}

// runOnce starts a child, loads model and runs it once on an h×w input
// (×4), the way package evaluate does; it returns the session (closed) and
// the first error.
func runOnce(t *testing.T, model []byte, h, w int, o testRun) (*Session, error) {
	t.Helper()
	lib := ortLib(t)
	if o.Device == "" {
		o.Device = DeviceCPU
	}
	if o.Runs == 0 {
		o.Runs = 1
	}
	if o.Logf == nil {
		o.Logf = func(s string) { t.Log(s) }
	}
	cfg, err := NewConfig(o.Device, lib, 1, o.Runs, 0, o.NoLandlock, o.NoSeccomp)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Spec{Command: o.Command, ORTLib: lib, Config: cfg, MemoryLimit: 2 << 30,
		LoadTimeout: o.LoadTimeout, ImageTimeout: o.ImageTimeout, InsecureSandbox: o.Insecure, Logf: o.Logf, Warnf: o.Warnf})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	if err := s.Load(model); err != nil {
		return s, err
	}
	in := make([]float32, 3*h*w)
	for i := range in {
		in[i] = float32(i%255) / 255
	}
	out := make([]uint8, 3*16*h*w)
	_, err = s.Infer("img", in, h, w, 4*h, 4*w, out)
	return s, err
}
