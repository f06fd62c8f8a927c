package onnxmodel

import (
	"fmt"
	"math"
	"strings"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// inferrer runs exact shape inference over the main graph at one concrete
// input size, with value propagation for the small integer tensors that
// PyTorch's exporter uses to compute shapes (Shape→Gather→Unsqueeze→Concat→
// Reshape for PixelShuffle, …→Resize sizes for interpolate). Every op either
// gets an exact output shape or fails: the platform never guesses.
type inferrer struct {
	lim     Limits
	opset   int64
	scale   int64
	lrH     int64
	lrW     int64
	vals    map[string]*value
	layers  []Layer
	profile bool
	// soft collects non-fatal problems of the current node.
	soft []string
}

// maxResizeScale bounds Resize scales hard; scales above the challenge
// scale but below this are reported without stopping inference, so that
// the message also names the resulting output shape.
const maxResizeScale = 16

// nodeCtx is the node being inferred.
type nodeCtx struct {
	inf *inferrer
	n   *onnxpb.NodeProto
}

func (c *nodeCtx) in(i int) *value {
	if i >= len(c.n.Input) || c.n.Input[i] == "" {
		return nil
	}
	return c.inf.vals[c.n.Input[i]]
}

// present reports whether optional input i is given and non-empty (PyTorch
// passes empty constants for unused Resize inputs).
func (c *nodeCtx) present(i int) bool {
	v := c.in(i)
	if v == nil {
		return false
	}
	for _, d := range v.shape {
		if d == 0 {
			return false
		}
	}
	return true
}

func (c *nodeCtx) attr(name string) *onnxpb.AttributeProto {
	for _, a := range c.n.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func (c *nodeCtx) attrInt(name string, def int64) int64 {
	if a := c.attr(name); a != nil {
		return a.GetI()
	}
	return def
}

func (c *nodeCtx) attrFloat(name string, def float64) float64 {
	if a := c.attr(name); a != nil {
		return float64(a.GetF())
	}
	return def
}

func (c *nodeCtx) attrString(name, def string) string {
	if a := c.attr(name); a != nil {
		return string(a.GetS())
	}
	return def
}

func (c *nodeCtx) attrInts(name string) ([]int64, bool) {
	if a := c.attr(name); a != nil {
		return a.GetInts(), true
	}
	return nil, false
}

// knownInts returns the propagated integer values of input i or an error
// naming it: the op's output shape depends on them.
func (c *nodeCtx) knownInts(i int, what string) ([]int64, error) {
	v := c.in(i)
	if v == nil {
		return nil, fmt.Errorf("missing %s input", what)
	}
	x, ok := intsOf(v)
	if !ok {
		return nil, fmt.Errorf("%s (%q) is computed from the image data, so the output shape cannot be known statically", what, c.n.Input[i])
	}
	return x, nil
}

func (inf *inferrer) newValue(dt int32, shape []int64) (*value, error) {
	if _, err := numel(shape, inf.lim.MaxTensorElements); err != nil {
		return nil, err
	}
	return &value{dt: dt, shape: shape}, nil
}

// run infers the whole graph. It returns the problems found; the graph's
// input has already been bound.
func (inf *inferrer) run(g *onnxpb.GraphProto, ps *problems, prefix string) bool {
	for i, n := range g.GetNode() {
		c := &nodeCtx{inf: inf, n: n}
		where := prefix + nodeWhere(i, n)
		for _, name := range n.Input {
			if name != "" && inf.vals[name] == nil {
				ps.add(where, "input %q is not produced by an earlier node, an initializer or the graph input", name)
				return false
			}
		}
		inf.soft = inf.soft[:0]
		outs, err := c.infer()
		for _, msg := range inf.soft {
			ps.add(where, "%s", msg)
		}
		if err != nil {
			ps.add(where, "%v", err)
			return false
		}
		if len(outs) < len(n.Output) {
			// Optional outputs the op does not produce (Dropout mask…).
			for j := len(outs); j < len(n.Output); j++ {
				if n.Output[j] != "" {
					ps.add(where, "output #%d (%q) is not supported", j, n.Output[j])
					return false
				}
			}
		}
		if inf.profile {
			c.countExtra(outs)
		}
		for j, name := range n.Output {
			if name == "" {
				continue
			}
			if _, dup := inf.vals[name]; dup {
				ps.add(where, "tensor %q is produced twice", name)
				return false
			}
			if _, err := numel(outs[j].shape, inf.lim.MaxTensorElements); err != nil {
				ps.add(where, "output %q: %v at LR %dx%d", name, err, inf.lrH, inf.lrW)
				return false
			}
			inf.vals[name] = outs[j]
		}
	}
	return true
}

func (c *nodeCtx) infer() ([]*value, error) {
	op := c.n.GetOpType()
	switch op {
	case "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish",
		"Softplus", "Softsign", "Gelu", "Mish", "Erf", "Softmax", "LogSoftmax", "ThresholdedRelu",
		"Sqrt", "Reciprocal", "Exp", "Log", "Abs", "Neg", "Round", "Sign",
		"InstanceNormalization", "GroupNormalization", "LpNormalization":
		return c.unary()
	case "Identity", "Floor", "Ceil":
		return c.unaryProp(op)
	case "Clip":
		return c.unary()
	case "Dropout":
		x := c.in(0)
		if x == nil {
			return nil, fmt.Errorf("missing input")
		}
		out := []*value{{dt: x.dt, shape: x.shape}}
		if len(c.n.Output) > 1 && c.n.Output[1] != "" {
			out = append(out, &value{dt: int32(onnxpb.TensorProto_BOOL), shape: x.shape})
		}
		return out, nil
	case "BatchNormalization":
		if len(c.n.Output) > 1 {
			return nil, fmt.Errorf("training-mode BatchNormalization (%d outputs) is not supported", len(c.n.Output))
		}
		return c.unary()
	case "LayerNormalization":
		return c.layerNorm()
	case "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "PRelu":
		return c.broadcastOp(op)
	case "Conv":
		return c.conv()
	case "ConvTranspose":
		return c.convTranspose()
	case "MaxPool", "AveragePool":
		return c.pool(op)
	case "GlobalAveragePool", "GlobalMaxPool":
		x := c.in(0)
		if x == nil || len(x.shape) < 3 {
			return nil, fmt.Errorf("input must have rank ≥ 3")
		}
		s := append([]int64(nil), x.shape[:2]...)
		for range x.shape[2:] {
			s = append(s, 1)
		}
		return []*value{{dt: x.dt, shape: s}}, nil
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceSumSquare":
		return c.reduce(op)
	case "DepthToSpace", "SpaceToDepth":
		return c.depthSpace(op)
	case "Concat":
		return c.concat()
	case "Split":
		return c.split()
	case "Slice":
		return c.slice()
	case "Reshape":
		return c.reshape()
	case "Transpose":
		return c.transpose()
	case "Squeeze", "Unsqueeze":
		return c.squeeze(op)
	case "Flatten":
		return c.flatten()
	case "Shape":
		return c.shapeOp()
	case "Size":
		x := c.in(0)
		if x == nil {
			return nil, fmt.Errorf("missing input")
		}
		n, err := numel(x.shape, math.MaxInt64)
		if err != nil {
			return nil, err
		}
		return []*value{{dt: int32(onnxpb.TensorProto_INT64), shape: []int64{}, ints: []int64{n}, known: true, fromShape: true}}, nil
	case "Gather":
		return c.gather()
	case "Cast":
		x := c.in(0)
		if x == nil {
			return nil, fmt.Errorf("missing input")
		}
		to := int32(c.attrInt("to", 0))
		if elemSize(to) == 0 {
			return nil, fmt.Errorf("cast to %s is not allowed", dtypeName(to))
		}
		return []*value{castValues(x, to)}, nil
	case "Constant":
		return c.constant()
	case "Pad":
		return c.pad()
	case "Resize":
		return c.resize()
	case "MatMul":
		return c.matmul()
	case "Gemm":
		return c.gemm()
	}
	return nil, fmt.Errorf("operator %q has no shape inference", op)
}

func (c *nodeCtx) unary() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	return []*value{{dt: x.dt, shape: x.shape}}, nil
}

func (c *nodeCtx) unaryProp(op string) ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	out := &value{dt: x.dt, shape: x.shape, fromShape: x.fromShape}
	if x.known {
		out.known = true
		out.ints = x.ints
		if x.floats != nil {
			f := make([]float64, len(x.floats))
			for i, v := range x.floats {
				switch op {
				case "Floor":
					f[i] = math.Floor(v)
				case "Ceil":
					f[i] = math.Ceil(v)
				default:
					f[i] = v
				}
			}
			out.floats = f
		}
	}
	return []*value{out}, nil
}

func (c *nodeCtx) layerNorm() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	axis, err := normAxis(c.attrInt("axis", -1), len(x.shape))
	if err != nil {
		return nil, err
	}
	stat := append([]int64(nil), x.shape[:axis]...)
	for range x.shape[axis:] {
		stat = append(stat, 1)
	}
	return []*value{{dt: x.dt, shape: x.shape}, {dt: int32(onnxpb.TensorProto_FLOAT), shape: stat}, {dt: int32(onnxpb.TensorProto_FLOAT), shape: stat}}, nil
}

func normAxis(a int64, rank int) (int, error) {
	if a < -int64(rank) || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	if a < 0 {
		a += int64(rank)
	}
	return int(a), nil
}

// broadcast returns the numpy-style broadcast of shapes.
func broadcast(shapes ...[]int64) ([]int64, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int64, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case d == o || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v cannot be broadcast", shapes)
			}
		}
	}
	return out, nil
}

func (c *nodeCtx) broadcastOp(op string) ([]*value, error) {
	var ins []*value
	for i := range c.n.Input {
		v := c.in(i)
		if v == nil {
			return nil, fmt.Errorf("missing input #%d", i)
		}
		ins = append(ins, v)
	}
	if len(ins) == 0 || (len(ins) < 2 && op != "Max" && op != "Min" && op != "Sum" && op != "Mean") {
		return nil, fmt.Errorf("needs two inputs")
	}
	shapes := make([][]int64, len(ins))
	for i, v := range ins {
		shapes[i] = v.shape
	}
	s, err := broadcast(shapes...)
	if err != nil {
		return nil, err
	}
	out, err := c.inf.newValue(ins[0].dt, s)
	if err != nil {
		return nil, err
	}
	if len(ins) == 2 && (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
		propagateArith(op, ins[0], ins[1], out)
	}
	return []*value{out}, nil
}

// propagateArith computes small known arithmetic, as used for shape values
// (for example h*2 or the float scale arithmetic of older interpolate).
func propagateArith(op string, a, b, out *value) {
	out.fromShape = a.fromShape || b.fromShape
	n, err := numel(out.shape, maxKnown)
	if err != nil || !a.known || !b.known {
		return
	}
	idx := func(v *value, i int64) int64 {
		// Broadcast index i of out into v (row-major).
		var j, stride int64 = 0, 1
		off := len(out.shape) - len(v.shape)
		for d := len(out.shape) - 1; d >= 0; d-- {
			od := out.shape[d]
			k := i % od
			i /= od
			if d >= off {
				vd := v.shape[d-off]
				if vd != 1 {
					j += k * stride
				}
				stride *= vd
			}
		}
		return j
	}
	if isIntType(out.dt) {
		ai, aok := intsOf(a)
		bi, bok := intsOf(b)
		if !aok || !bok {
			return
		}
		r := make([]int64, n)
		for i := range r {
			x, y := ai[idx(a, int64(i))], bi[idx(b, int64(i))]
			switch op {
			case "Add":
				r[i] = x + y
			case "Sub":
				r[i] = x - y
			case "Mul":
				r[i] = x * y
			case "Div":
				if y == 0 {
					return
				}
				r[i] = x / y
			}
		}
		out.ints, out.known = r, true
		return
	}
	af, aok := floatsOf(a)
	bf, bok := floatsOf(b)
	if !aok || !bok {
		return
	}
	r := make([]float64, n)
	for i := range r {
		x, y := af[idx(a, int64(i))], bf[idx(b, int64(i))]
		switch op {
		case "Add":
			r[i] = x + y
		case "Sub":
			r[i] = x - y
		case "Mul":
			r[i] = x * y
		case "Div":
			r[i] = x / y
		}
		if onnxpb.TensorProto_DataType(out.dt) == onnxpb.TensorProto_FLOAT {
			r[i] = float64(float32(r[i]))
		}
	}
	out.floats, out.known = r, true
}

// spatialAttrs reads strides, dilations and pads for k spatial dims.
func (c *nodeCtx) spatialAttrs(k int) (strides, dil, pads []int64, err error) {
	get := func(name string, n int, def int64) ([]int64, error) {
		v, ok := c.attrInts(name)
		if !ok {
			v = make([]int64, n)
			for i := range v {
				v[i] = def
			}
			return v, nil
		}
		if len(v) != n {
			return nil, fmt.Errorf("attribute %s has %d values, want %d", name, len(v), n)
		}
		return v, nil
	}
	if strides, err = get("strides", k, 1); err != nil {
		return
	}
	if dil, err = get("dilations", k, 1); err != nil {
		return
	}
	if pads, err = get("pads", 2*k, 0); err != nil {
		return
	}
	for i := range k {
		if strides[i] < 1 || strides[i] > 64 || dil[i] < 1 || dil[i] > 64 {
			return nil, nil, nil, fmt.Errorf("strides %v / dilations %v out of range 1..64", strides, dil)
		}
	}
	for _, p := range pads {
		if p < 0 || p > c.inf.lim.MaxPad {
			return nil, nil, nil, fmt.Errorf("pads %v out of range 0..%d", pads, c.inf.lim.MaxPad)
		}
	}
	return
}

// windowOut computes a conv/pool output size.
func windowOut(in, k, s, d, pb, pe int64, autoPad string, ceil bool) (int64, error) {
	ek := (k-1)*d + 1
	switch autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		return (in + s - 1) / s, nil
	case "VALID":
		pb, pe = 0, 0
	case "NOTSET", "":
	default:
		return 0, fmt.Errorf("auto_pad %q is not supported", autoPad)
	}
	span := in + pb + pe - ek
	if span < 0 {
		return 0, fmt.Errorf("kernel %d (dilated %d) is larger than the padded input %d", k, ek, in+pb+pe)
	}
	out := span/s + 1
	if ceil {
		out = (span+s-1)/s + 1
		// As PyTorch and ORT: the last window must start inside the input.
		if (out-1)*s >= in+pb {
			out--
		}
	}
	return out, nil
}

func (c *nodeCtx) conv() ([]*value, error) {
	x, w := c.in(0), c.in(1)
	if x == nil || w == nil {
		return nil, fmt.Errorf("missing input or weight")
	}
	if len(x.shape) != 4 {
		return nil, fmt.Errorf("only 2-D convolutions are supported (input rank %d)", len(x.shape))
	}
	if !w.isConst || len(w.shape) != 4 {
		return nil, fmt.Errorf("weight %q must be a constant rank-4 tensor", c.n.Input[1])
	}
	g := c.attrInt("group", 1)
	if g < 1 || x.shape[1]%g != 0 || w.shape[0]%g != 0 || w.shape[1]*g != x.shape[1] {
		return nil, fmt.Errorf("weight %v with group %d does not match input channels %d", w.shape, g, x.shape[1])
	}
	if ks, ok := c.attrInts("kernel_shape"); ok && (len(ks) != 2 || ks[0] != w.shape[2] || ks[1] != w.shape[3]) {
		return nil, fmt.Errorf("kernel_shape %v does not match weight %v", ks, w.shape)
	}
	if b := c.in(2); b != nil && (len(b.shape) != 1 || b.shape[0] != w.shape[0]) {
		return nil, fmt.Errorf("bias shape %v does not match %d output channels", b.shape, w.shape[0])
	}
	s, d, p, err := c.spatialAttrs(2)
	if err != nil {
		return nil, err
	}
	ap := c.attrString("auto_pad", "NOTSET")
	out := []int64{x.shape[0], w.shape[0], 0, 0}
	for i := range 2 {
		if out[2+i], err = windowOut(x.shape[2+i], w.shape[2+i], s[i], d[i], p[i], p[i+2], ap, false); err != nil {
			return nil, err
		}
	}
	v, err := c.inf.newValue(x.dt, out)
	if err != nil {
		return nil, err
	}
	if c.inf.profile {
		o := mustNumel(out)
		macs := sat(o, w.shape[1]*w.shape[2]*w.shape[3])
		c.inf.addLayer(c.n, out, macs, macs, macs, o, true)
	}
	return []*value{v}, nil
}

func (c *nodeCtx) convTranspose() ([]*value, error) {
	x, w := c.in(0), c.in(1)
	if x == nil || w == nil {
		return nil, fmt.Errorf("missing input or weight")
	}
	if len(x.shape) != 4 {
		return nil, fmt.Errorf("only 2-D transposed convolutions are supported (input rank %d)", len(x.shape))
	}
	if !w.isConst || len(w.shape) != 4 || w.shape[0] != x.shape[1] {
		return nil, fmt.Errorf("weight %q must be a constant rank-4 tensor with %d input channels", c.n.Input[1], x.shape[1])
	}
	g := c.attrInt("group", 1)
	if g < 1 || x.shape[1]%g != 0 {
		return nil, fmt.Errorf("group %d does not divide %d input channels", g, x.shape[1])
	}
	cout := w.shape[1] * g
	if cout < 1 {
		return nil, fmt.Errorf("weight %v gives no output channels", w.shape)
	}
	s, d, p, err := c.spatialAttrs(2)
	if err != nil {
		return nil, err
	}
	op, ok := c.attrInts("output_padding")
	if !ok {
		op = []int64{0, 0}
	}
	if len(op) != 2 || op[0] < 0 || op[1] < 0 || op[0] >= max(s[0], d[0]) || op[1] >= max(s[1], d[1]) {
		return nil, fmt.Errorf("output_padding %v out of range", op)
	}
	if _, ok := c.attrInts("output_shape"); ok {
		return nil, fmt.Errorf("output_shape is not supported: give pads and output_padding")
	}
	ap := c.attrString("auto_pad", "NOTSET")
	out := []int64{x.shape[0], cout, 0, 0}
	for i := range 2 {
		in := x.shape[2+i]
		switch ap {
		case "SAME_UPPER", "SAME_LOWER":
			out[2+i] = in * s[i]
		case "NOTSET", "", "VALID":
			pb, pe := p[i], p[i+2]
			if ap == "VALID" {
				pb, pe = 0, 0
			}
			out[2+i] = s[i]*(in-1) + op[i] + (w.shape[2+i]-1)*d[i] + 1 - pb - pe
		default:
			return nil, fmt.Errorf("auto_pad %q is not supported", ap)
		}
		if out[2+i] < 1 {
			return nil, fmt.Errorf("output size %d is empty", out[2+i])
		}
	}
	v, err := c.inf.newValue(x.dt, out)
	if err != nil {
		return nil, err
	}
	if c.inf.profile {
		o := mustNumel(out)
		k := w.shape[0] * w.shape[1] * w.shape[2] * w.shape[3] // Cin·Cout/g·kh·kw
		kair := sat(o/cout, k)                                 // KAIR: output positions
		fv := sat(mustNumel(x.shape)/x.shape[1], k)            // fvcore: input positions
		c.inf.addLayer(c.n, out, kair, kair, fv, o, true)
	}
	return []*value{v}, nil
}

func (c *nodeCtx) pool(op string) ([]*value, error) {
	x := c.in(0)
	if x == nil || len(x.shape) != 4 {
		return nil, fmt.Errorf("only 2-D pooling of a rank-4 input is supported")
	}
	ks, ok := c.attrInts("kernel_shape")
	if !ok || len(ks) != 2 || ks[0] < 1 || ks[1] < 1 || ks[0] > 64 || ks[1] > 64 {
		return nil, fmt.Errorf("kernel_shape %v must be two sizes in 1..64", ks)
	}
	s, d, p, err := c.spatialAttrs(2)
	if err != nil {
		return nil, err
	}
	ap := c.attrString("auto_pad", "NOTSET")
	ceil := c.attrInt("ceil_mode", 0) != 0
	out := []int64{x.shape[0], x.shape[1], 0, 0}
	for i := range 2 {
		if out[2+i], err = windowOut(x.shape[2+i], ks[i], s[i], d[i], p[i], p[i+2], ap, ceil); err != nil {
			return nil, err
		}
	}
	vs := []*value{{dt: x.dt, shape: out}}
	if op == "MaxPool" && len(c.n.Output) > 1 {
		vs = append(vs, &value{dt: int32(onnxpb.TensorProto_INT64), shape: out})
	}
	return vs, nil
}

func (c *nodeCtx) axesInputOrAttr(inputSince int64, idx int) ([]int64, bool, error) {
	if c.inf.opset >= inputSince {
		if c.in(idx) == nil {
			return nil, false, nil
		}
		a, err := c.knownInts(idx, "axes")
		return a, true, err
	}
	a, ok := c.attrInts("axes")
	return a, ok, nil
}

func (c *nodeCtx) reduce(op string) ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	since := int64(18)
	if op == "ReduceSum" {
		since = 13
	}
	axes, _, err := c.axesInputOrAttr(since, 1)
	if err != nil {
		return nil, err
	}
	keep := c.attrInt("keepdims", 1) != 0
	red := make([]bool, len(x.shape))
	if len(axes) == 0 {
		if c.attrInt("noop_with_empty_axes", 0) != 0 {
			return []*value{{dt: x.dt, shape: x.shape}}, nil
		}
		for i := range red {
			red[i] = true
		}
	}
	for _, a := range axes {
		i, err := normAxis(a, len(x.shape))
		if err != nil {
			return nil, err
		}
		red[i] = true
	}
	var out []int64
	for i, d := range x.shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case keep:
			out = append(out, 1)
		}
	}
	if out == nil {
		out = []int64{}
	}
	return []*value{{dt: x.dt, shape: out}}, nil
}

func (c *nodeCtx) depthSpace(op string) ([]*value, error) {
	x := c.in(0)
	if x == nil || len(x.shape) != 4 {
		return nil, fmt.Errorf("input must have rank 4")
	}
	b := c.attrInt("blocksize", 0)
	if b < 1 || b > c.inf.lim.MaxBlockSize {
		return nil, fmt.Errorf("blocksize %d out of range 1..%d", b, c.inf.lim.MaxBlockSize)
	}
	if m := c.attrString("mode", "DCR"); m != "DCR" && m != "CRD" {
		return nil, fmt.Errorf("mode %q is not supported", m)
	}
	n, ch, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	if op == "DepthToSpace" {
		if ch%(b*b) != 0 {
			return nil, fmt.Errorf("%d channels are not divisible by blocksize² %d", ch, b*b)
		}
		return []*value{{dt: x.dt, shape: []int64{n, ch / (b * b), h * b, w * b}}}, nil
	}
	if h%b != 0 || w%b != 0 {
		return nil, fmt.Errorf("spatial size %dx%d is not divisible by blocksize %d", h, w, b)
	}
	return []*value{{dt: x.dt, shape: []int64{n, ch * b * b, h / b, w / b}}}, nil
}

func (c *nodeCtx) concat() ([]*value, error) {
	if len(c.n.Input) == 0 {
		return nil, fmt.Errorf("no inputs")
	}
	first := c.in(0)
	if first == nil {
		return nil, fmt.Errorf("missing input")
	}
	axis, err := normAxis(c.attrInt("axis", 0), len(first.shape))
	if err != nil {
		return nil, err
	}
	out := append([]int64(nil), first.shape...)
	out[axis] = 0
	known, fromShape := true, false
	var ints []int64
	var floats []float64
	for i := range c.n.Input {
		v := c.in(i)
		if v == nil {
			return nil, fmt.Errorf("missing input #%d", i)
		}
		if len(v.shape) != len(out) {
			return nil, fmt.Errorf("input #%d has rank %d, want %d", i, len(v.shape), len(out))
		}
		for d := range out {
			if d != axis && v.shape[d] != out[d] {
				return nil, fmt.Errorf("input #%d shape %v does not match %v outside axis %d", i, v.shape, first.shape, axis)
			}
		}
		out[axis] += v.shape[axis]
		fromShape = fromShape || v.fromShape
		if !v.known || len(out) != 1 {
			known = false
		}
		ints = append(ints, v.ints...)
		floats = append(floats, v.floats...)
	}
	r, err := c.inf.newValue(first.dt, out)
	if err != nil {
		return nil, err
	}
	r.fromShape = fromShape
	if known && len(ints)+len(floats) <= maxKnown && (ints == nil || floats == nil) {
		r.ints, r.floats, r.known = ints, floats, true
	}
	return []*value{r}, nil
}

func (c *nodeCtx) split() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	axis, err := normAxis(c.attrInt("axis", 0), len(x.shape))
	if err != nil {
		return nil, err
	}
	nout := int64(len(c.n.Output))
	if nout < 1 {
		return nil, fmt.Errorf("Split needs at least one output")
	}
	var sizes []int64
	switch {
	case c.inf.opset >= 13 && c.in(1) != nil:
		if sizes, err = c.knownInts(1, "split"); err != nil {
			return nil, err
		}
	case c.inf.opset < 13:
		sizes, _ = c.attrInts("split")
	}
	dim := x.shape[axis]
	if sizes == nil {
		if no := c.attrInt("num_outputs", 0); no > 0 && no != nout {
			return nil, fmt.Errorf("num_outputs %d but %d outputs", no, nout)
		}
		chunk := dim / nout
		if c.inf.opset >= 18 && c.attr("num_outputs") != nil {
			chunk = (dim + nout - 1) / nout
		} else if dim%nout != 0 {
			return nil, fmt.Errorf("dimension %d cannot be split evenly into %d", dim, nout)
		}
		rest := dim
		for range nout {
			s := min(chunk, rest)
			sizes = append(sizes, s)
			rest -= s
		}
	}
	if int64(len(sizes)) != nout {
		return nil, fmt.Errorf("%d split sizes for %d outputs", len(sizes), nout)
	}
	var sum int64
	for _, s := range sizes {
		if s < 0 {
			return nil, fmt.Errorf("negative split size %d", s)
		}
		sum += s
	}
	if sum != dim {
		return nil, fmt.Errorf("split sizes %v do not add up to %d", sizes, dim)
	}
	outs := make([]*value, nout)
	for i, s := range sizes {
		sh := append([]int64(nil), x.shape...)
		sh[axis] = s
		outs[i] = &value{dt: x.dt, shape: sh}
	}
	return outs, nil
}

func clampI(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

func (c *nodeCtx) slice() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	starts, err := c.knownInts(1, "starts")
	if err != nil {
		return nil, err
	}
	ends, err := c.knownInts(2, "ends")
	if err != nil {
		return nil, err
	}
	if len(starts) != len(ends) {
		return nil, fmt.Errorf("starts and ends differ in length")
	}
	axes := make([]int64, len(starts))
	for i := range axes {
		axes[i] = int64(i)
	}
	if c.in(3) != nil {
		if axes, err = c.knownInts(3, "axes"); err != nil {
			return nil, err
		}
	}
	steps := make([]int64, len(starts))
	for i := range steps {
		steps[i] = 1
	}
	if c.in(4) != nil {
		if steps, err = c.knownInts(4, "steps"); err != nil {
			return nil, err
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("starts, ends, axes and steps differ in length")
	}
	out := append([]int64(nil), x.shape...)
	type rng struct{ start, step, n int64 }
	rs := make([]rng, len(out))
	for i, d := range out {
		rs[i] = rng{0, 1, d}
	}
	for i, a := range axes {
		ax, err := normAxis(a, len(out))
		if err != nil {
			return nil, err
		}
		dim, st, en, step := x.shape[ax], starts[i], ends[i], steps[i]
		if step == 0 {
			return nil, fmt.Errorf("slice step 0")
		}
		if st < 0 {
			st += dim
		}
		if en < 0 && en > math.MinInt64+dim {
			en += dim
		}
		var n int64
		if step > 0 {
			st, en = clampI(st, 0, dim), clampI(en, 0, dim)
			if en > st {
				n = (en - st + step - 1) / step
			}
		} else {
			st, en = clampI(st, 0, dim-1), clampI(en, -1, dim-1)
			if st > en {
				n = (st - en - step - 1) / -step
			}
		}
		out[ax] = n
		rs[ax] = rng{st, step, n}
	}
	r := &value{dt: x.dt, shape: out, fromShape: x.fromShape}
	if x.known && len(out) == 1 {
		for k := int64(0); k < rs[0].n; k++ {
			j := rs[0].start + k*rs[0].step
			if x.ints != nil {
				r.ints = append(r.ints, x.ints[j])
			} else if x.floats != nil {
				r.floats = append(r.floats, x.floats[j])
			}
		}
		r.known = true
	}
	return []*value{r}, nil
}

func (c *nodeCtx) reshape() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	spec, err := c.knownInts(1, "shape")
	if err != nil {
		return nil, err
	}
	total, err := numel(x.shape, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	allowZero := c.attrInt("allowzero", 0) != 0
	out := make([]int64, len(spec))
	infer := -1
	prod := int64(1)
	for i, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(x.shape) {
				return nil, fmt.Errorf("shape %v copies dimension %d of rank-%d input", spec, i, len(x.shape))
			}
			d = x.shape[i]
		case d < 0:
			return nil, fmt.Errorf("invalid dimension %d in shape %v", d, spec)
		}
		out[i] = d
		var ok bool
		if prod, ok = mulCheck(prod, d, math.MaxInt64); !ok {
			return nil, fmt.Errorf("shape %v overflows", spec)
		}
	}
	if infer >= 0 {
		if prod == 0 || total%prod != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", x.shape, spec)
		}
		out[infer] = total / prod
	} else if prod != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", x.shape, total, out)
	}
	r := &value{dt: x.dt, shape: out, fromShape: x.fromShape, known: x.known, ints: x.ints, floats: x.floats}
	return []*value{r}, nil
}

func (c *nodeCtx) transpose() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	perm, ok := c.attrInts("perm")
	if !ok {
		for i := len(x.shape) - 1; i >= 0; i-- {
			perm = append(perm, int64(i))
		}
	}
	if len(perm) != len(x.shape) {
		return nil, fmt.Errorf("perm %v does not match rank %d", perm, len(x.shape))
	}
	seen := make([]bool, len(perm))
	out := make([]int64, len(perm))
	for i, p := range perm {
		if p < 0 || p >= int64(len(perm)) || seen[p] {
			return nil, fmt.Errorf("invalid perm %v", perm)
		}
		seen[p] = true
		out[i] = x.shape[p]
	}
	r := &value{dt: x.dt, shape: out}
	if len(out) <= 1 {
		r.known, r.ints, r.floats, r.fromShape = x.known, x.ints, x.floats, x.fromShape
	}
	return []*value{r}, nil
}

func (c *nodeCtx) squeeze(op string) ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	axes, given, err := c.axesInputOrAttr(13, 1)
	if err != nil {
		return nil, err
	}
	var out []int64
	if op == "Squeeze" {
		drop := make([]bool, len(x.shape))
		for _, a := range axes {
			i, err := normAxis(a, len(x.shape))
			if err != nil {
				return nil, err
			}
			if x.shape[i] != 1 {
				return nil, fmt.Errorf("cannot squeeze dimension %d of size %d", i, x.shape[i])
			}
			drop[i] = true
		}
		for i, d := range x.shape {
			if !(drop[i] || (!given && d == 1)) {
				out = append(out, d)
			}
		}
	} else {
		if !given || len(axes) == 0 {
			return nil, fmt.Errorf("Unsqueeze needs axes")
		}
		rank := len(x.shape) + len(axes)
		ins := make([]bool, rank)
		for _, a := range axes {
			i, err := normAxis(a, rank)
			if err != nil {
				return nil, err
			}
			if ins[i] {
				return nil, fmt.Errorf("repeated axis %d", a)
			}
			ins[i] = true
		}
		j := 0
		for i := range rank {
			if ins[i] {
				out = append(out, 1)
			} else {
				out = append(out, x.shape[j])
				j++
			}
		}
	}
	if out == nil {
		out = []int64{}
	}
	return []*value{{dt: x.dt, shape: out, known: x.known, ints: x.ints, floats: x.floats, fromShape: x.fromShape}}, nil
}

func (c *nodeCtx) flatten() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	a := c.attrInt("axis", 1)
	r := int64(len(x.shape))
	if a < -r || a > r {
		return nil, fmt.Errorf("axis %d out of range", a)
	}
	if a < 0 {
		a += r
	}
	left, _ := numel(x.shape[:a], math.MaxInt64)
	right, _ := numel(x.shape[a:], math.MaxInt64)
	return []*value{{dt: x.dt, shape: []int64{left, right}}}, nil
}

func (c *nodeCtx) shapeOp() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	r := int64(len(x.shape))
	start, end := c.attrInt("start", 0), c.attrInt("end", r)
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = clampI(start, 0, r), clampI(end, 0, r)
	vals := []int64{}
	if end > start {
		vals = append(vals, x.shape[start:end]...)
	}
	return []*value{{dt: int32(onnxpb.TensorProto_INT64), shape: []int64{int64(len(vals))}, ints: vals, known: true, fromShape: true}}, nil
}

func (c *nodeCtx) gather() ([]*value, error) {
	x, idx := c.in(0), c.in(1)
	if x == nil || idx == nil {
		return nil, fmt.Errorf("missing input")
	}
	if len(x.shape) == 0 {
		return nil, fmt.Errorf("cannot gather from a scalar")
	}
	axis, err := normAxis(c.attrInt("axis", 0), len(x.shape))
	if err != nil {
		return nil, err
	}
	out := append(append(append([]int64(nil), x.shape[:axis]...), idx.shape...), x.shape[axis+1:]...)
	r, err := c.inf.newValue(x.dt, out)
	if err != nil {
		return nil, err
	}
	r.fromShape = x.fromShape
	ii, ok := intsOf(idx)
	if ok {
		for _, i := range ii {
			if i < -x.shape[axis] || i >= x.shape[axis] {
				return nil, fmt.Errorf("index %d out of range for dimension %d", i, x.shape[axis])
			}
		}
	}
	if ok && x.known && len(x.shape) == 1 {
		for _, i := range ii {
			if i < 0 {
				i += x.shape[0]
			}
			if x.ints != nil {
				r.ints = append(r.ints, x.ints[i])
			} else if x.floats != nil {
				r.floats = append(r.floats, x.floats[i])
			}
		}
		r.known = true
	}
	return []*value{r}, nil
}

func (c *nodeCtx) constant() ([]*value, error) {
	if len(c.n.Attribute) != 1 {
		return nil, fmt.Errorf("Constant needs exactly one value attribute")
	}
	a := c.n.Attribute[0]
	var v *value
	switch a.GetName() {
	case "value":
		if a.T == nil {
			return nil, fmt.Errorf("value attribute holds no tensor")
		}
		var err error
		if v, err = tensorValue(a.T, c.inf.lim.MaxTensorElements); err != nil {
			return nil, err
		}
	case "value_float":
		v = &value{dt: int32(onnxpb.TensorProto_FLOAT), shape: []int64{}, floats: []float64{float64(a.GetF())}, known: true}
	case "value_floats":
		f := make([]float64, len(a.GetFloats()))
		for i, x := range a.GetFloats() {
			f[i] = float64(x)
		}
		v = &value{dt: int32(onnxpb.TensorProto_FLOAT), shape: []int64{int64(len(f))}, floats: f, known: len(f) <= maxKnown}
	case "value_int":
		v = &value{dt: int32(onnxpb.TensorProto_INT64), shape: []int64{}, ints: []int64{a.GetI()}, known: true}
	case "value_ints":
		v = &value{dt: int32(onnxpb.TensorProto_INT64), shape: []int64{int64(len(a.GetInts()))}, ints: a.GetInts(), known: len(a.GetInts()) <= maxKnown}
	default:
		return nil, fmt.Errorf("Constant attribute %q is not supported", a.GetName())
	}
	v.isConst = true
	return []*value{v}, nil
}

func (c *nodeCtx) pad() ([]*value, error) {
	x := c.in(0)
	if x == nil {
		return nil, fmt.Errorf("missing input")
	}
	pads, err := c.knownInts(1, "pads")
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	axes := make([]int64, r)
	for i := range axes {
		axes[i] = int64(i)
	}
	if c.in(3) != nil {
		if axes, err = c.knownInts(3, "axes"); err != nil {
			return nil, err
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("%d pads for %d axes", len(pads), len(axes))
	}
	out := append([]int64(nil), x.shape...)
	for i, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		pb, pe := pads[i], pads[i+len(axes)]
		if pb > c.inf.lim.MaxPad || pe > c.inf.lim.MaxPad || pb < -c.inf.lim.MaxPad || pe < -c.inf.lim.MaxPad {
			return nil, fmt.Errorf("pads %v exceed the limit of %d per side", pads, c.inf.lim.MaxPad)
		}
		out[ax] += pb + pe
		if out[ax] < 0 {
			return nil, fmt.Errorf("pads %v make dimension %d negative", pads, ax)
		}
	}
	switch m := c.attrString("mode", "constant"); m {
	case "constant", "reflect", "edge", "wrap":
	default:
		return nil, fmt.Errorf("pad mode %q is not supported", m)
	}
	return []*value{{dt: x.dt, shape: out}}, nil
}

func (c *nodeCtx) resize() ([]*value, error) {
	x := c.in(0)
	if x == nil || len(x.shape) != 4 {
		return nil, fmt.Errorf("Resize input must have rank 4")
	}
	if c.attr("axes") != nil {
		return nil, fmt.Errorf("Resize axes attribute is not supported: give all four scales or sizes")
	}
	if p := c.attrString("keep_aspect_ratio_policy", "stretch"); p != "stretch" {
		return nil, fmt.Errorf("keep_aspect_ratio_policy %q is not supported", p)
	}
	switch m := c.attrString("mode", "nearest"); m {
	case "nearest", "linear", "cubic":
	default:
		return nil, fmt.Errorf("mode %q is not supported", m)
	}
	hasScales, hasSizes := c.present(2), c.present(3)
	if hasScales == hasSizes {
		return nil, fmt.Errorf("Resize needs exactly one of scales and sizes")
	}
	s := c.inf.scale
	out := make([]int64, 4)
	if hasScales {
		v := c.in(2)
		f, ok := floatsOf(v)
		if !ok {
			return nil, fmt.Errorf("Resize scales (%q) must be constant", c.n.Input[2])
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("Resize needs exactly 4 scales, got %d", len(f))
		}
		if f[0] != 1 || f[1] != 1 {
			return nil, fmt.Errorf("Resize scales %v must keep batch and channels (1, 1)", f)
		}
		for i := 2; i < 4; i++ {
			if !(f[i] > 0 && f[i] <= maxResizeScale) {
				return nil, fmt.Errorf("Resize scale %g outside (0,%d]", f[i], s)
			}
		}
		if f[2] > float64(s) || f[3] > float64(s) {
			// Not fatal, so the wrong output shape is named too.
			c.inf.soft = append(c.inf.soft, fmt.Sprintf("Resize scales %v outside (0,%d] (the challenge scale)", f[2:], s))
		}
		for i := range 4 {
			// As ORT: float product, truncated.
			out[i] = int64(float32(x.shape[i]) * float32(f[i]))
		}
	} else {
		v := c.in(3)
		sz, ok := intsOf(v)
		if !ok {
			return nil, fmt.Errorf("Resize sizes (%q) must be computed from tensor shapes", c.n.Input[3])
		}
		if len(sz) != 4 {
			return nil, fmt.Errorf("Resize needs exactly 4 sizes, got %d", len(sz))
		}
		if !v.fromShape {
			return nil, fmt.Errorf("constant Resize sizes %v are not allowed: use scales, or compute sizes from tensor shapes", sz)
		}
		if sz[0] != x.shape[0] || sz[1] != x.shape[1] {
			return nil, fmt.Errorf("Resize sizes %v must keep batch and channels %v", sz, x.shape[:2])
		}
		bound := s * max(c.inf.lrH, c.inf.lrW)
		for i := 2; i < 4; i++ {
			if sz[i] < 1 || sz[i] > bound {
				return nil, fmt.Errorf("Resize size %d outside 1..%d (challenge scale × LR size)", sz[i], bound)
			}
		}
		copy(out, sz)
	}
	r, err := c.inf.newValue(x.dt, out)
	if err != nil {
		return nil, err
	}
	if c.inf.profile {
		o := mustNumel(out)
		var fv int64
		switch c.attrString("mode", "nearest") {
		case "nearest":
			fv = o // fvcore upsample_nearest2d: one per output element
		case "linear":
			fv = sat(o, 4) // fvcore upsample_bilinear2d: four per output element
		}
		c.inf.addLayer(c.n, out, 0, 0, fv, 0, false)
	}
	return []*value{r}, nil
}

func (c *nodeCtx) matmul() ([]*value, error) {
	a, b := c.in(0), c.in(1)
	if a == nil || b == nil || len(a.shape) == 0 || len(b.shape) == 0 {
		return nil, fmt.Errorf("MatMul needs two non-scalar inputs")
	}
	as, bs := a.shape, b.shape
	if len(as) == 1 {
		as = []int64{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int64{bs[0], 1}
	}
	k := as[len(as)-1]
	if bs[len(bs)-2] != k {
		return nil, fmt.Errorf("MatMul inner dimensions %v and %v differ", a.shape, b.shape)
	}
	batch, err := broadcast(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	out := batch
	if len(a.shape) > 1 {
		out = append(out, as[len(as)-2])
	}
	if len(b.shape) > 1 {
		out = append(out, bs[len(bs)-1])
	}
	r, err := c.inf.newValue(a.dt, out)
	if err != nil {
		return nil, err
	}
	if c.inf.profile {
		macs := sat(mustNumel(out), k)
		var kair int64
		if b.isConst {
			kair = macs // a Linear module in PyTorch
		}
		c.inf.addLayer(c.n, out, 0, kair, macs, 0, false)
	}
	return []*value{r}, nil
}

func (c *nodeCtx) gemm() ([]*value, error) {
	a, b := c.in(0), c.in(1)
	if a == nil || b == nil || len(a.shape) != 2 || len(b.shape) != 2 {
		return nil, fmt.Errorf("Gemm needs two rank-2 inputs")
	}
	m, k := a.shape[0], a.shape[1]
	if c.attrInt("transA", 0) != 0 {
		m, k = k, m
	}
	k2, n := b.shape[0], b.shape[1]
	if c.attrInt("transB", 0) != 0 {
		k2, n = n, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("Gemm inner dimensions %v and %v differ", a.shape, b.shape)
	}
	if cc := c.in(2); cc != nil {
		if _, err := broadcast([]int64{m, n}, cc.shape); err != nil {
			return nil, err
		}
	}
	out := []int64{m, n}
	if c.inf.profile {
		macs := sat(sat(m, n), k)
		c.inf.addLayer(c.n, out, 0, macs, macs, 0, false)
	}
	return []*value{{dt: a.dt, shape: out}}, nil
}

func mustNumel(s []int64) int64 {
	n, err := numel(s, math.MaxInt64)
	if err != nil {
		return math.MaxInt64
	}
	return n
}

// sat multiplies or adds without wrapping: counts saturate at MaxInt64.
func sat(a, b int64) int64 {
	n, ok := mulCheck(a, b, math.MaxInt64)
	if !ok {
		return math.MaxInt64
	}
	return n
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func shapeString(s []int64) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(p, ",") + "]"
}
