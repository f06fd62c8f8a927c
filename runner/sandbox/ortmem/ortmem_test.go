package ortmem_test

import (
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/internal/ortlib"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/onnxmodel/onnxpb"
	"github.com/srarena/srarena/runner/sandbox/ortmem"
)

// TestArenaStatsCPU: the CPU arena's peak covers at least the output ORT
// allocated for a real model run (it would read 0, or crash, with wrong
// OrtApi indices or session pointer), grows with a larger image, and a
// session without a CPU arena reports no peak (-1). The CUDA arena is read
// the same way with MemCUDA; it could not be run here (no GPU).
func TestArenaStatsCPU(t *testing.T) {
	lib := initORT(t)
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

// TestSessionIO: what SessionIO reads from a live session is what
// onnxruntime_go's own GetInputOutputInfoWithONNXData (a temporary session
// of its own) reports — names, counts, kinds and element types — for
// generated models (initializers, an initializer listed as an input, two
// outputs, an int64 input) and the trained fixtures when present.
func TestSessionIO(t *testing.T) {
	lib := initORT(t)
	models := map[string][]byte{}
	add := func(name string, b []byte, err error) {
		if err != nil {
			t.Fatal(err)
		}
		models[name] = b
	}
	b, err := onnxbuild.ESPCN(4, 1)
	add("espcn", b, err)
	b, err = onnxbuild.Nearest(4)
	add("nearest", b, err)
	vi := func(name string, et onnxpb.TensorProto_DataType) *onnxpb.ValueInfoProto {
		return onnxbuild.ValueInfo(name, et, []onnxbuild.Dim{{Value: 1}, {Value: 3}, {Param: "h"}, {Param: "w"}})
	}
	g := onnxbuild.New("init-as-input")
	g.AddInput(vi("x", onnxpb.TensorProto_FLOAT))
	g.AddInput(onnxbuild.ValueInfo("k", onnxpb.TensorProto_FLOAT, onnxbuild.D(1)))
	g.AddInitializer("k", []int64{1}, []float32{2})
	g.AddNode("Mul", []string{"x", "k"}, []string{"y"})
	g.AddOutput(vi("y", onnxpb.TensorProto_FLOAT))
	b, err = g.Bytes()
	add("initializer listed as input", b, err)
	g = onnxbuild.New("two-outputs")
	g.AddInput(vi("x", onnxpb.TensorProto_FLOAT))
	g.AddNode("Identity", []string{"x"}, []string{"y"})
	g.AddNode("Neg", []string{"x"}, []string{"z"})
	g.AddOutput(vi("y", onnxpb.TensorProto_FLOAT))
	g.AddOutput(vi("z", onnxpb.TensorProto_FLOAT))
	b, err = g.Bytes()
	add("two outputs", b, err)
	g = onnxbuild.New("int64")
	g.AddInput(vi("x", onnxpb.TensorProto_INT64))
	g.AddNode("Identity", []string{"x"}, []string{"y"})
	g.AddOutput(vi("y", onnxpb.TensorProto_INT64))
	b, err = g.Bytes()
	add("int64", b, err)
	if fixtures.Root() != "" || os.Getenv("CI") == "true" {
		files, _ := filepath.Glob(filepath.Join(fixtures.Dir(t, "models", "trained"), "*.onnx"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			add(filepath.Base(f), b, err)
		}
	}
	for name, m := range models {
		wantIn, wantOut, err := ort.GetInputOutputInfoWithONNXData(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := ort.NewDynamicAdvancedSessionWithONNXData(m, nil, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ins, outs, nIn, nOut, err := ortmem.SessionIO(lib, s)
		s.Destroy()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		same := func(got []ortmem.IO, n int, want []ort.InputOutputInfo) bool {
			if n != len(want) || len(got) != len(want) {
				return false
			}
			for i, w := range want {
				if got[i].Name != w.Name || got[i].ONNXType != int(w.OrtValueType) || got[i].ElemType != int(w.DataType) {
					return false
				}
			}
			return true
		}
		if !same(ins, nIn, wantIn) || !same(outs, nOut, wantOut) {
			t.Errorf("%s: SessionIO gave inputs %+v (%d), outputs %+v (%d); ORT's temporary session %+v, %+v", name, ins, nIn, outs, nOut, wantIn, wantOut)
		}
	}
	if len(models) < 5 {
		t.Fatalf("only %d models", len(models))
	}
}

// initORT loads ONNX Runtime into the test process for the test's
// duration and returns the library's path; it skips the test without one
// (fails under CI=true).
func initORT(t *testing.T) string {
	t.Helper()
	lib := ortlib.Find(t)
	t.Setenv("ORT_DISABLE_TELEMETRY", "1") // as in the child: no telemetry files on the test machine
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ort.DestroyEnvironment() })
	return lib
}
