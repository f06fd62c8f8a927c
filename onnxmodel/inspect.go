package onnxmodel

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// Options configure Inspect. Zero values take defaults: scale 4, profile at
// LR 256×256 (the NTIRE 2022 ESR convention), DefaultLimits.
type Options struct {
	// Scale is the challenge's upscaling factor s: the output must be
	// [1,3,s·H,s·W].
	Scale int
	// ProfileH and ProfileW are the LR size for the complexity profile.
	ProfileH, ProfileW int
	Limits             Limits
}

// Report is the outcome of Inspect.
type Report struct {
	Valid     bool      `json:"valid"`
	Problems  []Problem `json:"errors"`
	Opset     int64     `json:"opset"`
	IRVersion int64     `json:"ir_version"`
	// Profile is set for valid models only.
	Profile *Profile `json:"profile,omitempty"`
	// Model is set for valid models only; hand Model.Bytes() to ORT.
	Model *Model `json:"-"`
}

// Err returns a *ValidationError for an invalid report, nil otherwise.
func (r *Report) Err() error {
	if r.Valid {
		return nil
	}
	return &ValidationError{Problems: r.Problems}
}

// checkSize is a second LR size at which the interface is checked when the
// input is dynamic: a model that only works at the profiling size (a
// constant Reshape, say) would fail on real images.
const checkH, checkW = 48, 64

// Inspect validates data as an upload for a ×opt.Scale challenge and, when
// it is valid, profiles it. Invalid models give a Report with Valid false
// and the problems; the error is only for failures of Inspect itself.
func Inspect(data []byte, opt Options) (*Report, error) {
	lim := opt.Limits.withDefaults()
	scale := int64(opt.Scale)
	if scale == 0 {
		scale = 4
	}
	if scale < 1 || scale > 16 {
		return nil, fmt.Errorf("onnxmodel: scale %d out of range 1..16", scale)
	}
	ph, pw := int64(opt.ProfileH), int64(opt.ProfileW)
	if ph == 0 {
		ph = 256
	}
	if pw == 0 {
		pw = 256
	}
	if ph < 1 || pw < 1 || ph > 1<<14 || pw > 1<<14 {
		return nil, fmt.Errorf("onnxmodel: profile size %dx%d out of range", ph, pw)
	}
	rep := &Report{}
	var ps problems
	if int64(len(data)) > lim.MaxFileBytes {
		ps.add("file", "%d bytes, more than the limit of %d", len(data), lim.MaxFileBytes)
		rep.Problems = ps.result()
		return rep, nil
	}
	if err := scanWire(data, &ps); err != nil {
		ps.add("file", "not a valid ONNX model (malformed protobuf: %v)", err)
		rep.Problems = ps.result()
		return rep, nil
	}
	m := &onnxpb.ModelProto{}
	// Unknown fields are dropped: ORT must only see what was validated.
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, m); err != nil {
		ps.add("file", "not a valid ONNX model: %v", err)
		rep.Problems = ps.result()
		return rep, nil
	}
	rep.IRVersion = m.GetIrVersion()
	opset := validateStructure(m, lim, &ps)
	rep.Opset = opset
	if len(ps.list) > 0 {
		rep.Problems = ps.result()
		return rep, nil
	}
	g := m.GetGraph()
	in, fixed := checkInterface(g, &ps)
	if len(ps.list) > 0 {
		rep.Problems = ps.result()
		return rep, nil
	}
	if fixed[0] > 0 {
		ph, pw = fixed[0], fixed[1]
	}
	prof, err := inferAt(g, in, opset, scale, ph, pw, lim, true, &ps, "")
	if err != nil {
		return nil, err
	}
	if len(ps.list) == 0 && fixed[0] == 0 && (ph != checkH || pw != checkW) {
		if _, err := inferAt(g, in, opset, scale, checkH, checkW, lim, false, &ps, fmt.Sprintf("at LR %dx%d: ", checkH, checkW)); err != nil {
			return nil, err
		}
	}
	if len(ps.list) > 0 {
		rep.Problems = ps.result()
		return rep, nil
	}
	b, err := marshal(m)
	if err != nil {
		return nil, err
	}
	prof.Params = countParams(g)
	rep.Valid, rep.Profile, rep.Model = true, prof, &Model{pb: m, bytes: b}
	rep.Problems = []Problem{}
	return rep, nil
}

// Validate is Inspect for callers that only want the verdict: it returns
// the model or a *ValidationError.
func Validate(data []byte, opt Options) (*Model, error) {
	rep, err := Inspect(data, opt)
	if err != nil {
		return nil, err
	}
	if err := rep.Err(); err != nil {
		return nil, err
	}
	return rep.Model, nil
}

// checkInterface requires exactly one float32 [1,3,H,W] input and one
// float32 output (sandbox.md T10). It returns the input's name and its
// fixed H, W (zero when dynamic).
func checkInterface(g *onnxpb.GraphProto, ps *problems) (string, [2]int64) {
	var fixed [2]int64
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var inputs []*onnxpb.ValueInfoProto
	for _, vi := range g.GetInput() {
		if !inits[vi.GetName()] { // IR < 4 lists initializers as inputs
			inputs = append(inputs, vi)
		}
	}
	if len(inputs) != 1 {
		ps.add("graph.input", "the model must have exactly one input (float32 [1,3,H,W]), it has %d", len(inputs))
		return "", fixed
	}
	if len(g.GetOutput()) != 1 {
		names := make([]string, len(g.GetOutput()))
		for i, o := range g.GetOutput() {
			names[i] = o.GetName()
		}
		ps.add("graph.output", "the model must have exactly one output (float32 [1,3,sH,sW]), it has %d: %q", len(names), names)
	}
	for _, o := range g.GetOutput() {
		tt := o.GetType().GetTensorType()
		if tt == nil || tt.GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
			ps.add(fmt.Sprintf("output %q", o.GetName()), "must be a float32 tensor, not %s", typeString(o.GetType()))
		}
	}
	in := inputs[0]
	where := fmt.Sprintf("input %q", in.GetName())
	tt := in.GetType().GetTensorType()
	if tt == nil || tt.GetElemType() != int32(onnxpb.TensorProto_FLOAT) {
		ps.add(where, "must be a float32 tensor, not %s", typeString(in.GetType()))
		return in.GetName(), fixed
	}
	dims := tt.GetShape().GetDim()
	if tt.GetShape() == nil || len(dims) != 4 {
		ps.add(where, "must have shape [1,3,H,W] (rank 4), it has rank %d", len(dims))
		return in.GetName(), fixed
	}
	for i, want := range []int64{1, 3} {
		if dv, ok := dims[i].GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && dv.DimValue != want {
			ps.add(where, "dimension %d is %d, want %d (shape [1,3,H,W])", i, dv.DimValue, want)
		}
	}
	var n int
	for i := 2; i < 4; i++ {
		if dv, ok := dims[i].GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
			if dv.DimValue < 1 || dv.DimValue > 1<<14 {
				ps.add(where, "dimension %d is %d", i, dv.DimValue)
			}
			fixed[i-2] = dv.DimValue
			n++
		}
	}
	if n == 1 {
		ps.add(where, "H and W must be both fixed or both dynamic")
	}
	return in.GetName(), fixed
}

func typeString(t *onnxpb.TypeProto) string {
	if t == nil {
		return "an untyped value"
	}
	if tt := t.GetTensorType(); tt != nil {
		return dtypeName(tt.GetElemType())
	}
	return "a non-tensor type"
}

// inferAt binds the input at LR h×w, infers the graph, and checks the output
// is [1,3,s·h,s·w].
func inferAt(g *onnxpb.GraphProto, input string, opset, scale, h, w int64, lim Limits, profile bool, ps *problems, prefix string) (*Profile, error) {
	inf := &inferrer{lim: lim, opset: opset, scale: scale, lrH: h, lrW: w, profile: profile,
		vals: make(map[string]*value, len(g.GetNode())+len(g.GetInitializer())+1)}
	for _, t := range g.GetInitializer() {
		v, err := tensorValue(t, lim.MaxTensorElements)
		if err != nil {
			ps.add(fmt.Sprintf("initializer %q", t.GetName()), "%v", err)
			return nil, nil
		}
		inf.vals[t.GetName()] = v
	}
	inShape := []int64{1, 3, h, w}
	inf.vals[input] = &value{dt: int32(onnxpb.TensorProto_FLOAT), shape: inShape}
	before := len(ps.list)
	if !inf.run(g, ps, prefix) {
		return nil, nil
	}
	o := g.GetOutput()[0]
	v := inf.vals[o.GetName()]
	where := prefix + fmt.Sprintf("output %q", o.GetName())
	want := []int64{1, 3, scale * h, scale * w}
	switch {
	case v == nil:
		ps.add(where, "is not produced by any node")
		return nil, nil
	case v.dt != int32(onnxpb.TensorProto_FLOAT):
		ps.add(where, "is %s, must be float32", dtypeName(v.dt))
	case !slices.Equal(v.shape, want):
		ps.add(where, "has shape %s for LR input %s, want %s (×%d)", shapeString(v.shape), shapeString(inShape), shapeString(want), scale)
	}
	if tt := o.GetType().GetTensorType(); tt != nil && tt.GetShape() != nil {
		dims := tt.GetShape().GetDim()
		if len(dims) != len(v.shape) {
			ps.add(where, "declared rank %d differs from the inferred shape %s", len(dims), shapeString(v.shape))
		} else {
			for i, d := range dims {
				if dv, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && dv.DimValue != v.shape[i] {
					ps.add(where, "declared dimension %d is %d but the graph computes %d", i, dv.DimValue, v.shape[i])
				}
			}
		}
	}
	if len(ps.list) > before || !profile {
		return nil, nil
	}
	p := &Profile{InputShape: inShape, OutputShape: v.shape, Nodes: len(g.GetNode())}
	inf.summarise(p)
	return p, nil
}
