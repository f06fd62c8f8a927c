// Package onnxbuild builds small, valid ONNX models in pure Go. Tests across
// the repository use it instead of checking binary fixtures in, and the demo
// challenge uses Bicubic as its baseline. Every model has the challenge
// interface: input "lr" float32 [1,3,h,w] and output "sr" float32
// [1,3,s·h,s·w] (symbolic dims), opset 17, IR version 8.
package onnxbuild

import (
	"fmt"
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

const (
	// Opset is the default-domain opset every built model imports.
	Opset = 17
	// IRVersion is the IR version of every built model (ONNX 1.10+).
	IRVersion = 8
	// Input and Output are the names of the graph's interface tensors.
	Input  = "lr"
	Output = "sr"
)

// Graph is a minimal graph builder. The zero value is not usable: call New.
type Graph struct {
	g    *onnxpb.GraphProto
	next int
}

// New starts a graph named name with no nodes, inputs or outputs.
func New(name string) *Graph {
	return &Graph{g: &onnxpb.GraphProto{Name: proto.String(name)}}
}

// Dim is one dimension of a value-info shape: a fixed size when Param is
// empty, a symbolic one otherwise.
type Dim struct {
	Value int64
	Param string
}

// D returns fixed dimensions.
func D(v ...int64) []Dim {
	out := make([]Dim, len(v))
	for i, x := range v {
		out[i] = Dim{Value: x}
	}
	return out
}

// ValueInfo returns a float32 tensor value-info with the given shape.
func ValueInfo(name string, elem onnxpb.TensorProto_DataType, dims []Dim) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d.Param != "" {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)),
			Shape:    shape,
		}}},
	}
}

// AddInput declares a graph input.
func (g *Graph) AddInput(vi *onnxpb.ValueInfoProto) { g.g.Input = append(g.g.Input, vi) }

// AddOutput declares a graph output.
func (g *Graph) AddOutput(vi *onnxpb.ValueInfoProto) { g.g.Output = append(g.g.Output, vi) }

// Fresh returns a tensor name unused so far, prefixed by prefix.
func (g *Graph) Fresh(prefix string) string {
	g.next++
	return fmt.Sprintf("%s_%d", prefix, g.next)
}

// AddNode appends a default-domain node and returns it so callers can add
// attributes (see Attr* helpers).
func (g *Graph) AddNode(op string, inputs, outputs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	n := &onnxpb.NodeProto{
		OpType:    proto.String(op),
		Name:      proto.String(g.Fresh(op)),
		Input:     inputs,
		Output:    outputs,
		Attribute: attrs,
	}
	g.g.Node = append(g.g.Node, n)
	return n
}

// AddInitializer appends a float32 initializer stored as raw little-endian
// data, the way exporters write them.
func (g *Graph) AddInitializer(name string, dims []int64, data []float32) {
	g.g.Initializer = append(g.g.Initializer, FloatTensor(name, dims, data))
}

// AddInt64Initializer appends an int64 initializer.
func (g *Graph) AddInt64Initializer(name string, dims []int64, data []int64) {
	g.g.Initializer = append(g.g.Initializer, &onnxpb.TensorProto{
		Name:      proto.String(name),
		Dims:      dims,
		DataType:  proto.Int32(int32(onnxpb.TensorProto_INT64)),
		Int64Data: data,
	})
}

// FloatTensor returns a float32 tensor with raw_data.
func FloatTensor(name string, dims []int64, data []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		b := math.Float32bits(v)
		raw[4*i], raw[4*i+1], raw[4*i+2], raw[4*i+3] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
	}
	return &onnxpb.TensorProto{
		Name:     proto.String(name),
		Dims:     dims,
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		RawData:  raw,
	}
}

// AttrInt, AttrInts, AttrFloat, AttrString and AttrFloats build attributes.
func AttrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: attrType(onnxpb.AttributeProto_INT), I: proto.Int64(v)}
}

// AttrInts builds an INTS attribute.
func AttrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: attrType(onnxpb.AttributeProto_INTS), Ints: v}
}

// AttrFloat builds a FLOAT attribute.
func AttrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: attrType(onnxpb.AttributeProto_FLOAT), F: proto.Float32(v)}
}

// AttrString builds a STRING attribute.
func AttrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: attrType(onnxpb.AttributeProto_STRING), S: []byte(v)}
}

func attrType(t onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto_AttributeType { return &t }

// Proto wraps the graph in a model (opset 17, IR 8).
func (g *Graph) Proto() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:       proto.Int64(IRVersion),
		ProducerName:    proto.String("srarena-onnxbuild"),
		ProducerVersion: proto.String("1"),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		Graph:           g.g,
	}
}

// Bytes marshals the model deterministically.
func (g *Graph) Bytes() ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(g.Proto())
	if err != nil {
		return nil, fmt.Errorf("onnxbuild: marshal: %w", err)
	}
	return b, nil
}

// srGraph starts a graph with the challenge input and an output of the given
// scale (scale 1 keeps the input's symbolic dims).
func srGraph(name string, scale int) *Graph {
	g := New(name)
	g.AddInput(ValueInfo(Input, onnxpb.TensorProto_FLOAT, []Dim{{Value: 1}, {Value: 3}, {Param: "h"}, {Param: "w"}}))
	oh, ow := "h", "w"
	if scale != 1 {
		oh, ow = fmt.Sprintf("%dh", scale), fmt.Sprintf("%dw", scale)
	}
	g.AddOutput(ValueInfo(Output, onnxpb.TensorProto_FLOAT, []Dim{{Value: 1}, {Value: 3}, {Param: oh}, {Param: ow}}))
	return g
}

func checkScale(scale int) error {
	if scale < 1 || scale > 16 {
		return fmt.Errorf("onnxbuild: scale %d out of range 1..16", scale)
	}
	return nil
}

// resize adds a Resize from in to out with constant scales [1,1,s,s].
func (g *Graph) resize(in, out string, scale int, attrs ...*onnxpb.AttributeProto) {
	scales := g.Fresh("scales")
	g.AddInitializer(scales, []int64{4}, []float32{1, 1, float32(scale), float32(scale)})
	g.AddNode("Resize", []string{in, "", scales}, []string{out}, attrs...)
}

// Bicubic returns a ×scale bicubic upscaler with PyTorch's conventions
// (half_pixel coordinates, a = -0.75).
func Bicubic(scale int) ([]byte, error) {
	if err := checkScale(scale); err != nil {
		return nil, err
	}
	g := srGraph(fmt.Sprintf("bicubic_x%d", scale), scale)
	g.resize(Input, Output, scale,
		AttrString("mode", "cubic"),
		AttrString("coordinate_transformation_mode", "half_pixel"),
		AttrFloat("cubic_coeff_a", -0.75))
	return g.Bytes()
}

func nearestAttrs() []*onnxpb.AttributeProto {
	return []*onnxpb.AttributeProto{
		AttrString("mode", "nearest"),
		AttrString("coordinate_transformation_mode", "asymmetric"),
		AttrString("nearest_mode", "floor"),
	}
}

// Nearest returns a ×scale nearest-neighbour upscaler.
func Nearest(scale int) ([]byte, error) {
	if err := checkScale(scale); err != nil {
		return nil, err
	}
	g := srGraph(fmt.Sprintf("nearest_x%d", scale), scale)
	g.resize(Input, Output, scale, nearestAttrs()...)
	return g.Bytes()
}

// Scaled returns a ×scale nearest upscaler whose output is multiplied by
// factor: NaN, Inf or a large factor give a non-finite or out-of-range output
// for negative tests of the scorer.
func Scaled(scale int, factor float32) ([]byte, error) {
	if err := checkScale(scale); err != nil {
		return nil, err
	}
	g := srGraph(fmt.Sprintf("scaled_x%d", scale), scale)
	up := g.Fresh("up")
	g.resize(Input, up, scale, nearestAttrs()...)
	k := g.Fresh("factor")
	g.AddInitializer(k, nil, []float32{factor})
	g.AddNode("Mul", []string{up, k}, []string{Output})
	return g.Bytes()
}

// Identity returns a model whose output equals its input: a valid ONNX model
// with the wrong scale for any SR challenge.
func Identity() ([]byte, error) {
	g := srGraph("identity", 1)
	g.AddNode("Identity", []string{Input}, []string{Output})
	return g.Bytes()
}

// ESPCN returns a tiny ESPCN-like network (Conv5x5 3→16, Relu,
// Conv3x3 16→3·s², DepthToSpace s) with small random weights drawn
// deterministically from seed. Its output is noise near zero; it exists to
// exercise real conv graphs.
func ESPCN(scale int, seed int64) ([]byte, error) {
	if err := checkScale(scale); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	randn := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		return v
	}
	c2 := int64(3 * scale * scale)
	g := srGraph(fmt.Sprintf("espcn_x%d", scale), scale)
	g.AddInitializer("conv1.weight", []int64{16, 3, 5, 5}, randn(16*3*5*5, 0.05))
	g.AddInitializer("conv1.bias", []int64{16}, randn(16, 0.01))
	g.AddInitializer("conv2.weight", []int64{c2, 16, 3, 3}, randn(int(c2)*16*9, 0.05))
	g.AddInitializer("conv2.bias", []int64{c2}, randn(int(c2), 0.01))
	g.AddNode("Conv", []string{Input, "conv1.weight", "conv1.bias"}, []string{"c1"},
		AttrInts("kernel_shape", 5, 5), AttrInts("pads", 2, 2, 2, 2))
	g.AddNode("Relu", []string{"c1"}, []string{"r1"})
	g.AddNode("Conv", []string{"r1", "conv2.weight", "conv2.bias"}, []string{"c2"},
		AttrInts("kernel_shape", 3, 3), AttrInts("pads", 1, 1, 1, 1))
	g.AddNode("DepthToSpace", []string{"c2"}, []string{Output},
		AttrInt("blocksize", int64(scale)), AttrString("mode", "DCR"))
	return g.Bytes()
}

// ConvNet returns a plain ×scale network of layers 3×3 convolutions of
// width channels with ReLU between them, then a conv to 3·s² channels and
// DepthToSpace, with small random weights from seed. Its cost grows with
// width² · layers: tests use it for an evaluation that takes a while.
func ConvNet(scale, width, layers int, seed int64) ([]byte, error) {
	if err := checkScale(scale); err != nil {
		return nil, err
	}
	if width < 1 || layers < 1 {
		return nil, fmt.Errorf("onnxbuild: width %d and layers %d must be positive", width, layers)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc0de))
	randn := func(n int, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * std)
		}
		return v
	}
	g := srGraph(fmt.Sprintf("convnet_x%d_w%d_l%d", scale, width, layers), scale)
	in, inC := Input, int64(3)
	conv := func(outC int64, relu bool) string {
		w, b := g.Fresh("w"), g.Fresh("b")
		g.AddInitializer(w, []int64{outC, inC, 3, 3}, randn(int(outC*inC*9), 0.05))
		g.AddInitializer(b, []int64{outC}, randn(int(outC), 0.01))
		out := g.Fresh("c")
		g.AddNode("Conv", []string{in, w, b}, []string{out}, AttrInts("kernel_shape", 3, 3), AttrInts("pads", 1, 1, 1, 1))
		if relu {
			r := g.Fresh("r")
			g.AddNode("Relu", []string{out}, []string{r})
			out = r
		}
		in, inC = out, outC
		return out
	}
	for range layers {
		conv(int64(width), true)
	}
	conv(int64(3*scale*scale), false)
	g.AddNode("DepthToSpace", []string{in}, []string{Output},
		AttrInt("blocksize", int64(scale)), AttrString("mode", "DCR"))
	return g.Bytes()
}
