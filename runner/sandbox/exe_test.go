package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

// TestSiblingChild: a stamped build starts the srarena-sandbox lying next to
// it when that program reports the same BuildStamp, and falls back to
// itself, with a warning, when the sibling is from another build; either
// way the evaluation works.
func TestSiblingChild(t *testing.T) {
	lib := ortLib(t)
	if testing.Short() {
		t.Skip("builds cmd/srarena-sandbox")
	}
	dir := t.TempDir()
	build := func(stamp string) {
		t.Helper()
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, SiblingName),
			"-ldflags", "-X github.com/srarena/srarena/runner/sandbox.BuildStamp="+stamp, "./cmd/srarena-sandbox")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", SiblingName, err, out)
		}
	}
	oldStamp, oldDir := BuildStamp, siblingDir
	BuildStamp, siblingDir = "test-stamp-1", dir
	defer func() { BuildStamp, siblingDir = oldStamp, oldDir; siblingOff.Store(false) }()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	model, _ := onnxbuild.Nearest(4)
	for _, tc := range []struct {
		stamp, exe string
		warn       bool
	}{
		{"test-stamp-1", filepath.Join(dir, SiblingName), false},
		{"another-build", self, true},
	} {
		build(tc.stamp)
		siblingOff.Store(false)
		var warned []string
		cfg, err := NewConfig(DeviceCPU, lib, 1, 1, 0, false, false)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Scale = 4
		s, err := Start(context.Background(), Spec{ORTLib: lib, Config: cfg, MemoryLimit: 2 << 30,
			Logf: func(s string) { t.Log(s) }, Warnf: func(s string) { warned = append(warned, s) }})
		if err != nil {
			t.Fatalf("sibling %s: %v", tc.stamp, err)
		}
		if s.spec.Command[0] != tc.exe {
			t.Errorf("sibling %s: the child is %s, want %s", tc.stamp, s.spec.Command[0], tc.exe)
		}
		if got := strings.Contains(strings.Join(warned, "\n"), SiblingName+" next to srarena is not usable"); got != tc.warn {
			t.Errorf("sibling %s: warned %v, want %v (%q)", tc.stamp, got, tc.warn, warned)
		}
		if err := s.Load(model); err != nil {
			t.Fatal(err)
		}
		in := make([]float32, 3*8*8)
		for i := range in {
			in[i] = float32(i) / float32(len(in))
		}
		out := make([]uint8, 3*32*32)
		if r, err := s.Infer("img", in, 8, 8, 32, 32, out); err != nil || r.Bad != -1 {
			t.Fatalf("sibling %s: %v %v", tc.stamp, r, err)
		}
		if out[3*(32*31+31)+2] != quantRef(in[2*64+63]) {
			t.Errorf("sibling %s: last pixel's blue %d, want %d", tc.stamp, out[3*(32*31+31)+2], quantRef(in[2*64+63]))
		}
		s.Close()
	}
}

func quantRef(v float32) uint8 {
	x := float32(v * 255)
	return uint8(x + 0.5) // no ties among these inputs
}
