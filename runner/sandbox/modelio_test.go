package sandbox

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// TestGraphIO: the names the child creates its session with, read from the
// protobuf as ORT reads the graph: initializers listed as inputs (IR < 4
// exporters) are not inputs, a repeated graph field adds up, and anything
// but exactly one input and one output — or bytes that are no protobuf —
// sends the child to ORT's own (slower) answer.
func TestGraphIO(t *testing.T) {
	f := onnxpb.TensorProto_FLOAT
	vi := func(name string) *onnxpb.ValueInfoProto {
		return onnxbuild.ValueInfo(name, f, onnxbuild.D(1, 3, 8, 8))
	}
	model := func(edit func(g *onnxbuild.Graph)) []byte {
		g := onnxbuild.New("t")
		edit(g)
		b, err := g.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	espcn, err := onnxbuild.ESPCN(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	graphOnly := func(g *onnxbuild.Graph) []byte { // the graph field of a model, as bytes
		b := model(func(x *onnxbuild.Graph) { *x = *g })
		m := &onnxpb.ModelProto{}
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		gb, err := proto.Marshal(m.Graph)
		if err != nil {
			t.Fatal(err)
		}
		return protowire.AppendBytes(protowire.AppendTag(nil, fieldModelGraph, protowire.BytesType), gb)
	}
	split := func() []byte { // input in one graph field, output in a second
		a, b := onnxbuild.New("a"), onnxbuild.New("b")
		a.AddInput(vi("x"))
		b.AddOutput(vi("y"))
		return append(graphOnly(a), graphOnly(b)...)
	}
	for _, tc := range []struct {
		name    string
		model   []byte
		in, out string
		ok      bool
	}{
		{"espcn", espcn, onnxbuild.Input, onnxbuild.Output, true},
		{"initializer listed as input", model(func(g *onnxbuild.Graph) {
			g.AddInput(vi("w"))
			g.AddInput(vi("x"))
			g.AddInitializer("w", []int64{1}, []float32{2})
			g.AddOutput(vi("y"))
		}), "x", "y", true},
		{"sparse initializer listed as input", func() []byte {
			g := onnxbuild.New("t")
			g.AddInput(vi("x"))
			g.AddInput(vi("s"))
			g.AddOutput(vi("y"))
			p := g.Proto()
			p.Graph.SparseInitializer = []*onnxpb.SparseTensorProto{{Values: onnxbuild.FloatTensor("s", []int64{1}, []float32{1}), Dims: []int64{4}}}
			b, err := proto.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}(), "x", "y", true},
		{"graph field repeated", split(), "x", "y", true},
		{"two inputs", model(func(g *onnxbuild.Graph) { g.AddInput(vi("x")); g.AddInput(vi("z")); g.AddOutput(vi("y")) }), "", "", false},
		{"two outputs", model(func(g *onnxbuild.Graph) { g.AddInput(vi("x")); g.AddOutput(vi("y")); g.AddOutput(vi("z")) }), "", "", false},
		{"no input", model(func(g *onnxbuild.Graph) { g.AddOutput(vi("y")) }), "", "", false},
		{"every input an initializer", model(func(g *onnxbuild.Graph) {
			g.AddInput(vi("w"))
			g.AddInitializer("w", []int64{1}, []float32{2})
			g.AddOutput(vi("y"))
		}), "", "", false},
		{"unnamed input", model(func(g *onnxbuild.Graph) { g.AddInput(vi("")); g.AddOutput(vi("y")) }), "", "", false},
		{"empty", nil, "", "", false},
		{"not protobuf", []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), "", "", false},
		{"truncated", espcn[:len(espcn)/2], "", "", false},
	} {
		in, out, ok := graphIO(tc.model)
		if in != tc.in || out != tc.out || ok != tc.ok {
			t.Errorf("%s: graphIO = %q, %q, %v; want %q, %q, %v", tc.name, in, out, ok, tc.in, tc.out, tc.ok)
		}
	}
}

// FuzzGraphIO: any bytes give an answer, never a panic.
func FuzzGraphIO(f *testing.F) {
	if m, err := onnxbuild.ESPCN(4, 1); err == nil {
		f.Add(m)
	}
	f.Add([]byte{0x3a, 0x02, 0x5a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		in, out, ok := graphIO(b)
		if ok && (in == "" || out == "") {
			t.Fatalf("ok with empty names %q %q", in, out)
		}
	})
}
