package onnxmodel

import (
	"fmt"
	"math/bits"
	"strings"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// opInfo describes an allowed operator: the first default-domain opset in
// which it exists with the semantics the shape inference implements.
type opInfo struct{ since int64 }

// allowedOps is the operator allowlist: enough for today's efficient SR
// networks, nothing that allocates from data (ConstantOfShape, Expand, Tile,
// Range, NonZero), no control flow or subgraphs (Loop, If, Scan), no
// sequences, optionals or random generators (sandbox.md T4/T5). Every entry
// has exact shape inference in infer.go.
var allowedOps = map[string]opInfo{
	// Convolutions.
	"Conv": {1}, "ConvTranspose": {1},
	// Activations.
	"Relu": {1}, "LeakyRelu": {1}, "PRelu": {1}, "Sigmoid": {1}, "Tanh": {1},
	"Elu": {1}, "Selu": {1}, "Celu": {12}, "HardSigmoid": {1}, "HardSwish": {14},
	"Softplus": {1}, "Softsign": {1}, "Gelu": {20}, "Mish": {18}, "Erf": {9},
	"Clip": {1}, "Softmax": {1}, "LogSoftmax": {1}, "ThresholdedRelu": {10},
	// Element-wise arithmetic.
	"Add": {1}, "Sub": {1}, "Mul": {1}, "Div": {1}, "Pow": {1}, "Max": {1},
	"Min": {1}, "Sum": {1}, "Mean": {1}, "Sqrt": {1}, "Reciprocal": {1},
	"Exp": {1}, "Log": {1}, "Abs": {1}, "Neg": {1}, "Floor": {1}, "Ceil": {1},
	"Round": {11}, "Sign": {9}, "Identity": {1}, "Dropout": {1},
	// Normalisation and reductions.
	"BatchNormalization": {1}, "InstanceNormalization": {1},
	"LayerNormalization": {17}, "GroupNormalization": {18},
	"ReduceMean": {1}, "ReduceSum": {1}, "ReduceMax": {1}, "ReduceMin": {1},
	"ReduceL2": {1}, "ReduceSumSquare": {1},
	// Pooling.
	"MaxPool": {1}, "AveragePool": {1}, "GlobalAveragePool": {1}, "GlobalMaxPool": {1},
	// Pixel shuffles and layout.
	"DepthToSpace": {1}, "SpaceToDepth": {1}, "Concat": {1}, "Split": {1},
	"Slice": {10}, "Reshape": {5}, "Transpose": {1}, "Squeeze": {1},
	"Unsqueeze": {1}, "Flatten": {1},
	// Shape arithmetic as exported by PyTorch.
	"Shape": {1}, "Size": {1}, "Gather": {1}, "Cast": {1}, "Constant": {1},
	// Bounded allocators.
	"Pad": {11}, "Resize": {11},
	// Linear layers and attention.
	"MatMul": {1}, "Gemm": {1},
}

// deniedReason names why a well-known operator is refused, for a clearer
// message than "not in the allowlist".
var deniedReason = map[string]string{
	"Loop": "control flow", "If": "control flow", "Scan": "control flow",
	"ConstantOfShape": "allocates a tensor of data-dependent size",
	"Expand":          "allocates a tensor of data-dependent size",
	"Tile":            "allocates a tensor of data-dependent size",
	"Range":           "allocates a tensor of data-dependent size",
	"NonZero":         "output size depends on the data",
	"Upsample":        "deprecated; export with Resize",
	"RandomNormal":    "random generator", "RandomUniform": "random generator",
	"RandomNormalLike": "random generator", "RandomUniformLike": "random generator",
	"Multinomial": "random generator", "Bernoulli": "random generator",
}

// validateStructure applies the static rules that need no shape inference.
// It returns the default-domain opset (0 when missing).
func validateStructure(m *onnxpb.ModelProto, lim Limits, ps *problems) int64 {
	if ir := m.GetIrVersion(); ir < lim.MinIRVersion || ir > lim.MaxIRVersion {
		ps.add("model.ir_version", "IR version %d is not supported (supported: %d to %d)", ir, lim.MinIRVersion, lim.MaxIRVersion)
	}
	var opset int64
	seenDefault := false
	for _, o := range m.GetOpsetImport() {
		d := o.GetDomain()
		if d != "" && d != "ai.onnx" {
			ps.add("model.opset_import", "operator domain %q is not allowed (only the default ONNX domain)", d)
			continue
		}
		if seenDefault {
			ps.add("model.opset_import", "default domain imported twice")
		}
		seenDefault = true
		opset = o.GetVersion()
	}
	if !seenDefault {
		ps.add("model.opset_import", "no default-domain opset imported")
	} else if opset < lim.MinOpset || opset > lim.MaxOpset {
		ps.add("model.opset_import", "opset %d is not supported (supported: %d to %d)", opset, lim.MinOpset, lim.MaxOpset)
	}
	if n := len(m.GetFunctions()); n > 0 {
		ps.add("model.functions", "model-local functions are not allowed (%d found): export without custom functions", n)
	}
	if n := len(m.GetTrainingInfo()); n > 0 {
		ps.add("model.training_info", "training info is not allowed (%d entries)", n)
	}
	g := m.GetGraph()
	if g == nil {
		ps.add("model.graph", "no graph: not an ONNX model")
		return opset
	}
	var budget int64
	checkGraph(g, "graph", 0, opset, lim, &budget, ps)
	if budget > lim.MaxInitializerBytes {
		ps.add("graph.initializer", "constants take %d bytes, more than the limit of %d", budget, lim.MaxInitializerBytes)
	}
	return opset
}

func checkGraph(g *onnxpb.GraphProto, path string, depth int, opset int64, lim Limits, budget *int64, ps *problems) {
	if depth > 0 {
		// Subgraphs only occur in control flow, which is refused anyway;
		// they are still walked so that hidden external data is named.
		if depth > 4 {
			return
		}
	} else if n := len(g.GetNode()); n > lim.MaxNodes {
		ps.add(path+".node", "%d nodes, more than the limit of %d", n, lim.MaxNodes)
	}
	for _, t := range g.GetInitializer() {
		checkTensor(t, fmt.Sprintf("initializer %q", t.GetName()), lim, budget, ps)
	}
	for i, st := range g.GetSparseInitializer() {
		where := fmt.Sprintf("sparse_initializer #%d", i)
		ps.add(where, "sparse initializers are not allowed")
		checkSparse(st, where, lim, budget, ps)
	}
	for i, n := range g.GetNode() {
		where := nodeWhere(i, n)
		if depth > 0 {
			where = path + " " + where
		}
		if depth > 0 {
			// The enclosing control-flow node is already refused.
		} else if d := n.GetDomain(); d != "" && d != "ai.onnx" {
			ps.add(where, "operator domain %q is not allowed (only the default ONNX domain)", d)
		} else if why, bad := deniedReason[n.GetOpType()]; bad {
			ps.add(where, "operator %q is not allowed: %s", n.GetOpType(), why)
		} else if info, ok := allowedOps[n.GetOpType()]; !ok {
			ps.add(where, "operator %q is not in the allowlist of this platform", n.GetOpType())
		} else if opset > 0 && opset < info.since {
			ps.add(where, "operator %q needs opset %d or later (model imports %d)", n.GetOpType(), info.since, opset)
		}
		for _, a := range n.GetAttribute() {
			aw := fmt.Sprintf("%s attribute %q", where, a.GetName())
			if a.GetRefAttrName() != "" {
				ps.add(aw, "attribute references are only valid inside functions")
			}
			if a.T != nil {
				checkTensor(a.T, aw, lim, budget, ps)
			}
			for _, t := range a.GetTensors() {
				checkTensor(t, aw, lim, budget, ps)
			}
			if a.SparseTensor != nil || len(a.SparseTensors) > 0 {
				ps.add(aw, "sparse tensors are not allowed")
				if a.SparseTensor != nil {
					checkSparse(a.SparseTensor, aw, lim, budget, ps)
				}
				for _, st := range a.GetSparseTensors() {
					checkSparse(st, aw, lim, budget, ps)
				}
			}
			if a.G != nil || len(a.Graphs) > 0 {
				if depth == 0 {
					ps.add(aw, "subgraphs are not allowed")
				}
				if a.G != nil {
					checkGraph(a.G, aw, depth+1, opset, lim, budget, ps)
				}
				for _, sg := range a.GetGraphs() {
					checkGraph(sg, aw, depth+1, opset, lim, budget, ps)
				}
			}
		}
	}
}

func checkSparse(st *onnxpb.SparseTensorProto, where string, lim Limits, budget *int64, ps *problems) {
	if st.Values != nil {
		checkTensor(st.Values, where+" values", lim, budget, ps)
	}
	if st.Indices != nil {
		checkTensor(st.Indices, where+" indices", lim, budget, ps)
	}
}

// elemSize returns the byte size of a supported element type, or 0 for
// types the platform refuses (strings, complex, 4/8-bit floats, undefined).
func elemSize(dt int32) int64 {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT32, onnxpb.TensorProto_UINT32:
		return 4
	case onnxpb.TensorProto_UINT8, onnxpb.TensorProto_INT8, onnxpb.TensorProto_BOOL:
		return 1
	case onnxpb.TensorProto_UINT16, onnxpb.TensorProto_INT16, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return 2
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_UINT64, onnxpb.TensorProto_DOUBLE:
		return 8
	}
	return 0
}

func dtypeName(dt int32) string {
	if s, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return s
	}
	return fmt.Sprintf("type %d", dt)
}

// mulCheck multiplies non-negative a and b, reporting overflow beyond max.
func mulCheck(a, b, max int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > uint64(max) {
		return 0, false
	}
	return int64(lo), true
}

// numel returns the element count of dims, refusing negative dims and
// counts above max before anything is allocated.
func numel(dims []int64, max int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in %v", d, dims)
		}
		var ok bool
		if n, ok = mulCheck(n, d, max); !ok {
			return 0, fmt.Errorf("shape %v has more than %d elements", dims, max)
		}
	}
	return n, nil
}

// checkTensor applies sandbox.md T1/T2/T7 to one stored tensor.
func checkTensor(t *onnxpb.TensorProto, where string, lim Limits, budget *int64, ps *problems) {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		loc := ""
		for _, kv := range t.GetExternalData() {
			if kv.GetKey() == "location" {
				loc = kv.GetValue()
			}
		}
		ps.add(where, "uses external data (location %q): upload a single self-contained .onnx file", loc)
		return
	}
	if t.Segment != nil {
		ps.add(where, "segmented tensors are not allowed")
		return
	}
	dt := t.GetDataType()
	size := elemSize(dt)
	if size == 0 {
		ps.add(where, "element type %s is not allowed", dtypeName(dt))
		return
	}
	n, err := numel(t.GetDims(), lim.MaxTensorElements)
	if err != nil {
		ps.add(where, "%v", err)
		return
	}
	nbytes := n * size // cannot overflow: n ≤ MaxTensorElements
	*budget += nbytes
	typed := len(t.GetFloatData()) + len(t.GetInt32Data()) + len(t.GetInt64Data()) +
		len(t.GetDoubleData()) + len(t.GetUint64Data()) + len(t.GetStringData())
	raw := len(t.GetRawData())
	switch {
	case raw > 0 && typed > 0:
		ps.add(where, "has both raw_data and typed data")
	case raw > 0 || typed == 0:
		if int64(raw) != nbytes {
			ps.add(where, "raw_data has %d bytes but dims %v of %s need %d", raw, t.GetDims(), dtypeName(dt), nbytes)
		}
	default:
		want := n
		var got int
		switch onnxpb.TensorProto_DataType(dt) {
		case onnxpb.TensorProto_FLOAT:
			got = len(t.GetFloatData())
		case onnxpb.TensorProto_INT64:
			got = len(t.GetInt64Data())
		case onnxpb.TensorProto_DOUBLE:
			got = len(t.GetDoubleData())
		case onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT64:
			got = len(t.GetUint64Data())
		default:
			got = len(t.GetInt32Data())
		}
		if int64(got) != want || got != typed {
			ps.add(where, "holds %d values in the wrong or several typed fields but dims %v of %s need %d", typed, t.GetDims(), dtypeName(dt), want)
		}
	}
}

func joinInts(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, "x")
}
