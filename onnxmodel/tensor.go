package onnxmodel

import (
	"encoding/binary"
	"math"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// maxKnown bounds the element count of tensors whose values are propagated.
// Shape arithmetic handles vectors of a handful of elements; propagating
// weights would only cost memory.
const maxKnown = 64

// value is what inference knows about one tensor: its element type and
// concrete shape, and for small integer or float tensors their values.
type value struct {
	dt    int32
	shape []int64
	// ints holds the values of a known integer or bool tensor, floats those
	// of a known floating tensor; at most one is non-nil.
	ints   []int64
	floats []float64
	known  bool
	// fromShape marks values computed from some tensor's Shape: they scale
	// with the input, unlike constants.
	fromShape bool
	// isConst marks initializers and Constant outputs (weights).
	isConst bool
}

func isFloatType(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_DOUBLE, onnxpb.TensorProto_FLOAT16, onnxpb.TensorProto_BFLOAT16:
		return true
	}
	return false
}

func isIntType(dt int32) bool {
	switch onnxpb.TensorProto_DataType(dt) {
	case onnxpb.TensorProto_INT64, onnxpb.TensorProto_INT32, onnxpb.TensorProto_INT16, onnxpb.TensorProto_INT8,
		onnxpb.TensorProto_UINT8, onnxpb.TensorProto_UINT16, onnxpb.TensorProto_UINT32, onnxpb.TensorProto_UINT64,
		onnxpb.TensorProto_BOOL:
		return true
	}
	return false
}

// tensorValue turns a checked TensorProto into a value, decoding the data
// of small tensors. n is the element count, already bounded by checkTensor.
func tensorValue(t *onnxpb.TensorProto, max int64) (*value, error) {
	n, err := numel(t.GetDims(), max)
	if err != nil {
		return nil, err
	}
	v := &value{dt: t.GetDataType(), shape: append([]int64(nil), t.GetDims()...), isConst: true}
	if n > maxKnown {
		return v, nil
	}
	raw := t.GetRawData()
	size := elemSize(v.dt)
	useRaw := len(raw) > 0
	if useRaw && int64(len(raw)) != n*size {
		return v, nil
	}
	switch onnxpb.TensorProto_DataType(v.dt) {
	case onnxpb.TensorProto_FLOAT:
		f := make([]float64, n)
		for i := range f {
			if useRaw {
				f[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
			} else if i < len(t.GetFloatData()) {
				f[i] = float64(t.GetFloatData()[i])
			} else {
				return v, nil
			}
		}
		v.floats, v.known = f, true
	case onnxpb.TensorProto_DOUBLE:
		f := make([]float64, n)
		for i := range f {
			if useRaw {
				f[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			} else if i < len(t.GetDoubleData()) {
				f[i] = t.GetDoubleData()[i]
			} else {
				return v, nil
			}
		}
		v.floats, v.known = f, true
	case onnxpb.TensorProto_INT64:
		x := make([]int64, n)
		for i := range x {
			if useRaw {
				x[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			} else if i < len(t.GetInt64Data()) {
				x[i] = t.GetInt64Data()[i]
			} else {
				return v, nil
			}
		}
		v.ints, v.known = x, true
	case onnxpb.TensorProto_INT32:
		x := make([]int64, n)
		for i := range x {
			if useRaw {
				x[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			} else if i < len(t.GetInt32Data()) {
				x[i] = int64(t.GetInt32Data()[i])
			} else {
				return v, nil
			}
		}
		v.ints, v.known = x, true
	}
	if v.ints == nil && v.floats == nil && n == 0 {
		v.known = true
	}
	return v, nil
}

// castValues converts known values to element type dt, as C casts do.
func castValues(in *value, dt int32) *value {
	out := &value{dt: dt, shape: in.shape, fromShape: in.fromShape}
	if !in.known {
		return out
	}
	switch {
	case isFloatType(dt):
		f := make([]float64, 0, len(in.ints)+len(in.floats))
		for _, x := range in.ints {
			f = append(f, float64(x))
		}
		f = append(f, in.floats...)
		if onnxpb.TensorProto_DataType(dt) == onnxpb.TensorProto_FLOAT {
			for i := range f {
				f[i] = float64(float32(f[i]))
			}
		}
		out.floats, out.known = f, true
	case onnxpb.TensorProto_DataType(dt) == onnxpb.TensorProto_INT64 || onnxpb.TensorProto_DataType(dt) == onnxpb.TensorProto_INT32:
		x := make([]int64, 0, len(in.ints)+len(in.floats))
		x = append(x, in.ints...)
		for _, f := range in.floats {
			if math.IsNaN(f) || f >= 9.2e18 || f <= -9.2e18 {
				return out
			}
			x = append(x, int64(f))
		}
		out.ints, out.known = x, true
	}
	return out
}

// intsOf returns the known values of v as integers.
func intsOf(v *value) ([]int64, bool) {
	if v == nil || !v.known {
		return nil, false
	}
	if v.floats != nil {
		x := make([]int64, len(v.floats))
		for i, f := range v.floats {
			if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				return nil, false
			}
			x[i] = int64(f)
		}
		return x, true
	}
	if v.ints == nil {
		return []int64{}, true
	}
	return v.ints, true
}

// floatsOf returns the known values of v as floats.
func floatsOf(v *value) ([]float64, bool) {
	if v == nil || !v.known {
		return nil, false
	}
	if v.ints != nil {
		f := make([]float64, len(v.ints))
		for i, x := range v.ints {
			f[i] = float64(x)
		}
		return f, true
	}
	if v.floats == nil {
		return []float64{}, true
	}
	return v.floats, true
}
