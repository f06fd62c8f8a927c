package ortmem_test

import (
	"os"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/runner/sandbox/ortmem"
)

// TestArenaStatsCPU: the CPU arena's peak covers at least the output ORT
// allocated for a real model run (it would read 0, or crash, with wrong
// OrtApi indices or session pointer), grows with a larger image, and a
// session without a CPU arena reports no peak (-1). The CUDA arena is read
// the same way with MemCUDA; it could not be run here (no GPU).
func TestArenaStatsCPU(t *testing.T) {
	lib, err := sandbox.FindORT()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (required under CI=true)", err)
		}
		t.Skipf("skipping: %v", err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyEnvironment()
	model, err := onnxbuild.Nearest(4)
	if err != nil {
		t.Fatal(err)
	}
	run := func(arena bool, sides ...int) []ortmem.Stats {
		t.Helper()
		so, err := ort.NewSessionOptions()
		if err != nil {
			t.Fatal(err)
		}
		defer so.Destroy()
		if err := so.SetCpuMemArena(arena); err != nil {
			t.Fatal(err)
		}
		ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{ins[0].Name}, []string{outs[0].Name}, so)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Destroy()
		var out []ortmem.Stats
		for _, n := range sides {
			in, err := ort.NewTensor(ort.NewShape(1, 3, int64(n), int64(n)), make([]float32, 3*n*n))
			if err != nil {
				t.Fatal(err)
			}
			o := []ort.Value{nil}
			if err := s.Run([]ort.Value{in}, o); err != nil {
				t.Fatal(err)
			}
			in.Destroy()
			o[0].Destroy()
			st, err := ortmem.ArenaStats(lib, s, ortmem.MemCPU, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("arena=%v %d×%d: %+v", arena, n, n, st)
			out = append(out, st)
		}
		return out
	}
	st := run(true, 32, 128)
	small, large := st[0].MaxInUse, st[1].MaxInUse
	if want := int64(4 * 3 * 128 * 128); small < int64(4*3*128*128/16) || large < want || large < small {
		t.Errorf("MaxInUse %d after 32×32 and %d after 128×128 (output %d bytes)", small, large, want)
	}
	if none := run(false, 32); none[0].MaxInUse != -1 {
		t.Errorf("without an arena: MaxInUse %d, want -1 (no stats)", none[0].MaxInUse)
	}
	if _, err := ortmem.ArenaStats(lib, nil, ortmem.MemCPU, 0); err == nil {
		t.Error("a nil session gave stats")
	}
}
