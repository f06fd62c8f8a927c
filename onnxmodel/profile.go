package onnxmodel

import (
	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// Profile is the complexity of a model at one LR size. It is stored with
// the submission as jsonb, so field names are part of the platform's API.
//
// Counting rules (design/protocol.md §3), all for batch 1:
//   - Params: elements of every floating-point initializer, plus those of non-scalar
//     floating Constant nodes (so weights cannot hide in Constants; scalar
//     constants such as the 255 of an in-graph range wrapper are not
//     parameters and PyTorch does not count them either), except tensors
//     used only as shape parameters (Resize scales, Reshape shapes, …).
//   - ConvMACs: k_h·k_w·(C_in/groups)·C_out·H_out·W_out summed over Conv and
//     ConvTranspose nodes; bias adds are not counted.
//   - FlopsKAIR: the AIM 2020 – NTIRE 2023 hook rule: ConvMACs + one per
//     output element of Relu, PRelu, LeakyRelu, Elu and Clip(0,6) nodes +
//     2 per element of BatchNormalization + Gemm / MatMul-with-constant
//     (nn.Linear) MACs. The official hooks only see nn.Module activations:
//     a functional F.relu or F.leaky_relu exports to the same ONNX node but
//     was invisible to them, so this count is an upper bound of the
//     published figure (MSRResNet: 166.430 G here against 166.36 G
//     published, 0.04 %, because its residual blocks call F.relu).
//   - FlopsFvcore: the NTIRE 2024+ rule: ConvMACs (transposed convs by
//     input positions) + all MatMul/Gemm MACs + 2 per BatchNormalization
//     element + 5 per Instance/Layer/GroupNormalization element + 1 per
//     nearest and 4 per linear Resize output element + 1 per
//     GlobalAveragePool input element. Activations and element-wise ops
//     count 0; bicubic Resize counts 0 (fvcore has no handle for it).
//   - Activations: output elements of every Conv/ConvTranspose node.
//   - ConvLayers: number of Conv/ConvTranspose nodes.
type Profile struct {
	InputShape  []int64 `json:"input_shape"`
	OutputShape []int64 `json:"output_shape"`
	Params      int64   `json:"params"`
	ConvMACs    int64   `json:"conv_macs"`
	FlopsKAIR   int64   `json:"flops_kair"`
	FlopsFvcore int64   `json:"flops_fvcore"`
	Activations int64   `json:"activations"`
	ConvLayers  int     `json:"conv_layers"`
	Nodes       int     `json:"nodes"`
	Layers      []Layer `json:"layers"`
}

// Layer is one node's contribution; only nodes that count something are
// listed.
type Layer struct {
	Name        string  `json:"name"`
	Op          string  `json:"op"`
	OutputShape []int64 `json:"output_shape"`
	MACs        int64   `json:"macs,omitempty"`
	FlopsKAIR   int64   `json:"flops_kair,omitempty"`
	FlopsFvcore int64   `json:"flops_fvcore,omitempty"`
	Activations int64   `json:"activations,omitempty"`
}

func (inf *inferrer) addLayer(n *onnxpb.NodeProto, out []int64, macs, kair, fv, acts int64, conv bool) {
	if macs == 0 && kair == 0 && fv == 0 && acts == 0 {
		return
	}
	name := n.GetName()
	if name == "" && len(n.Output) > 0 {
		name = n.Output[0]
	}
	inf.layers = append(inf.layers, Layer{
		Name: name, Op: n.GetOpType(), OutputShape: out,
		MACs: macs, FlopsKAIR: kair, FlopsFvcore: fv, Activations: acts,
	})
}

// countExtra adds the non-conv counters of ops whose shapes are inferred
// generically (activations, normalisations, global pooling).
func (c *nodeCtx) countExtra(outs []*value) {
	if len(outs) == 0 {
		return
	}
	out := outs[0].shape
	o := mustNumel(out)
	switch op := c.n.GetOpType(); op {
	case "Relu", "PRelu", "LeakyRelu", "Elu":
		c.inf.addLayer(c.n, out, 0, o, 0, 0, false)
	case "Clip":
		// Only ReLU6 is an nn.Module the KAIR hooks count.
		lo, lok := floatsOf(c.in(1))
		hi, hok := floatsOf(c.in(2))
		if lok && hok && len(lo) == 1 && len(hi) == 1 && lo[0] == 0 && hi[0] == 6 {
			c.inf.addLayer(c.n, out, 0, o, 0, 0, false)
		}
	case "BatchNormalization":
		c.inf.addLayer(c.n, out, 0, sat(o, 2), sat(o, 2), 0, false)
	case "InstanceNormalization", "LayerNormalization", "GroupNormalization":
		c.inf.addLayer(c.n, out, 0, 0, sat(o, 5), 0, false)
	case "GlobalAveragePool":
		c.inf.addLayer(c.n, out, 0, 0, mustNumel(c.in(0).shape), 0, false)
	}
}

func (inf *inferrer) summarise(p *Profile) {
	for _, l := range inf.layers {
		p.ConvMACs = satAdd(p.ConvMACs, l.MACs)
		p.FlopsKAIR = satAdd(p.FlopsKAIR, l.FlopsKAIR)
		p.FlopsFvcore = satAdd(p.FlopsFvcore, l.FlopsFvcore)
		p.Activations = satAdd(p.Activations, l.Activations)
		if l.Op == "Conv" || l.Op == "ConvTranspose" {
			p.ConvLayers++
		}
	}
	p.Layers = inf.layers
}

// shapeParamInputs lists, per op, the input positions that carry shape
// or range parameters rather than data: constants fed only there (Resize
// scales, Reshape shapes, Pad amounts…) are not weights.
var shapeParamInputs = map[string][]int{
	"Resize": {1, 2, 3}, "Reshape": {1}, "Pad": {1, 2, 3}, "Slice": {1, 2, 3, 4},
	"Split": {1}, "Squeeze": {1}, "Unsqueeze": {1}, "Clip": {1, 2}, "Gather": {1},
	"ReduceMean": {1}, "ReduceSum": {1}, "ReduceMax": {1}, "ReduceMin": {1},
	"ReduceL2": {1}, "ReduceSumSquare": {1},
}

// countParams implements the Params rule of Profile: floating initializers
// and non-scalar floating Constant tensors, except tensors that only ever feed
// shape-parameter inputs.
func countParams(g *onnxpb.GraphProto) int64 {
	dataUse := make(map[string]bool)
	for _, nd := range g.GetNode() {
		skip := shapeParamInputs[nd.GetOpType()]
		for i, name := range nd.GetInput() {
			isParam := false
			for _, j := range skip {
				isParam = isParam || i == j
			}
			if !isParam {
				dataUse[name] = true
			}
		}
	}
	for _, o := range g.GetOutput() {
		dataUse[o.GetName()] = true
	}
	var n int64
	for _, t := range g.GetInitializer() {
		// Integer tensors are shape arithmetic, never trained weights.
		if dataUse[t.GetName()] && isFloatType(t.GetDataType()) {
			n = satAdd(n, mustNumel(t.GetDims()))
		}
	}
	for _, nd := range g.GetNode() {
		if nd.GetOpType() != "Constant" || len(nd.GetOutput()) != 1 || !dataUse[nd.GetOutput()[0]] {
			continue
		}
		for _, a := range nd.GetAttribute() {
			if a.T != nil && isFloatType(a.T.GetDataType()) {
				if e := mustNumel(a.T.GetDims()); e > 1 {
					n = satAdd(n, e)
				}
			}
			if a.GetName() == "value_floats" && len(a.GetFloats()) > 1 {
				n = satAdd(n, int64(len(a.GetFloats())))
			}
		}
	}
	return n
}
