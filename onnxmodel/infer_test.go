package onnxmodel_test

import (
	"strings"
	"testing"

	"github.com/srarena/srarena/onnxmodel"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// reshapePixelShuffle builds conv 3→3·r² then PixelShuffle the way older
// PyTorch exports it: shapes computed at run time from Shape→Gather→
// Unsqueeze→Concat (with Mul for h·r) feeding Reshape and Transpose.
func reshapePixelShuffle(t *testing.T, r int64, outR int64) []byte {
	t.Helper()
	g := onnxbuild.New("ps")
	g.AddInput(onnxbuild.ValueInfo("lr", onnxpb.TensorProto_FLOAT, []onnxbuild.Dim{{Value: 1}, {Value: 3}, {Param: "h"}, {Param: "w"}}))
	g.AddOutput(onnxbuild.ValueInfo("sr", onnxpb.TensorProto_FLOAT, []onnxbuild.Dim{{Value: 1}, {Value: 3}, {Param: "H"}, {Param: "W"}}))
	c := 3 * r * r
	g.AddInitializer("w", []int64{c, 3, 3, 3}, make([]float32, c*27))
	g.AddNode("Conv", []string{"lr", "w"}, []string{"x"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1))
	g.AddNode("Shape", []string{"x"}, []string{"s"})
	dims := []string{}
	for i, name := range []string{"dn", "dh", "dw"} {
		idx := []int64{0, 2, 3}[i]
		g.AddInt64Initializer("i_"+name, nil, []int64{idx})
		g.AddNode("Gather", []string{"s", "i_" + name}, []string{name}, onnxbuild.AttrInt("axis", 0))
		g.AddInt64Initializer("ax_"+name, []int64{1}, []int64{0})
		g.AddNode("Unsqueeze", []string{name, "ax_" + name}, []string{name + "1"})
		dims = append(dims, name+"1")
	}
	g.AddInt64Initializer("c3rr", []int64{3}, []int64{3, r, r})
	g.AddNode("Concat", []string{dims[0], "c3rr", dims[1], dims[2]}, []string{"shape6"}, onnxbuild.AttrInt("axis", 0))
	g.AddNode("Reshape", []string{"x", "shape6"}, []string{"x6"})
	g.AddNode("Transpose", []string{"x6"}, []string{"t6"}, onnxbuild.AttrInts("perm", 0, 1, 4, 2, 5, 3))
	g.AddInt64Initializer("r", []int64{1}, []int64{outR})
	g.AddNode("Mul", []string{dims[1], "r"}, []string{"hr"})
	g.AddNode("Mul", []string{dims[2], "r"}, []string{"wr"})
	g.AddInt64Initializer("c3", []int64{1}, []int64{3})
	g.AddNode("Concat", []string{dims[0], "c3", "hr", "wr"}, []string{"shape4"}, onnxbuild.AttrInt("axis", 0))
	g.AddNode("Reshape", []string{"t6", "shape4"}, []string{"sr"})
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReshapePixelShuffle(t *testing.T) {
	rep, err := onnxmodel.Inspect(reshapePixelShuffle(t, 4, 4), onnxmodel.Options{ProfileH: 100, ProfileW: 60})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid {
		t.Fatalf("rejected: %v", rep.Problems)
	}
	if !equal(rep.Profile.OutputShape, []int64{1, 3, 400, 240}) || rep.Profile.ConvMACs != 48*27*100*60 || rep.Profile.Params != 48*27 {
		t.Errorf("profile %+v", rep.Profile)
	}
	// A reshape whose element count does not match is refused with the
	// node named, not guessed.
	rep, err = onnxmodel.Inspect(reshapePixelShuffle(t, 4, 3), onnxmodel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Valid || !strings.Contains(rep.Err().Error(), "(Reshape): cannot reshape") {
		t.Errorf("problems %v", rep.Problems)
	}
}
