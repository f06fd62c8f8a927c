package onnxbuild_test

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

func TestBuilders(t *testing.T) {
	tests := []struct {
		name  string
		build func() ([]byte, error)
		ops   []string
	}{
		{"bicubic", func() ([]byte, error) { return onnxbuild.Bicubic(4) }, []string{"Resize"}},
		{"nearest", func() ([]byte, error) { return onnxbuild.Nearest(2) }, []string{"Resize"}},
		{"espcn", func() ([]byte, error) { return onnxbuild.ESPCN(4, 1) }, []string{"Conv", "Relu", "Conv", "DepthToSpace"}},
		{"identity", onnxbuild.Identity, []string{"Identity"}},
		{"scaled", func() ([]byte, error) { return onnxbuild.Scaled(4, 2) }, []string{"Resize", "Mul"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.build()
			if err != nil {
				t.Fatal(err)
			}
			var m onnxpb.ModelProto
			if err := proto.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.GetIrVersion() != onnxbuild.IRVersion || m.GetOpsetImport()[0].GetVersion() != onnxbuild.Opset {
				t.Errorf("ir %d opset %v", m.GetIrVersion(), m.GetOpsetImport())
			}
			g := m.GetGraph()
			if g.GetInput()[0].GetName() != onnxbuild.Input || g.GetOutput()[0].GetName() != onnxbuild.Output {
				t.Errorf("interface %v -> %v", g.GetInput(), g.GetOutput())
			}
			var ops []string
			for _, n := range g.GetNode() {
				ops = append(ops, n.GetOpType())
			}
			if len(ops) != len(tc.ops) {
				t.Fatalf("ops %v, want %v", ops, tc.ops)
			}
			for i := range ops {
				if ops[i] != tc.ops[i] {
					t.Fatalf("ops %v, want %v", ops, tc.ops)
				}
			}
		})
	}
}

func TestESPCNDeterministic(t *testing.T) {
	a, _ := onnxbuild.ESPCN(4, 7)
	b, _ := onnxbuild.ESPCN(4, 7)
	c, _ := onnxbuild.ESPCN(4, 8)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Fatal("ESPCN must depend on the seed only")
	}
}

func TestBadScale(t *testing.T) {
	for _, s := range []int{0, -1, 17} {
		if _, err := onnxbuild.Bicubic(s); err == nil {
			t.Errorf("Bicubic(%d): no error", s)
		}
	}
}
