package sandbox

import "google.golang.org/protobuf/encoding/protowire"

// Field numbers of the ONNX protobuf (onnx.proto3) that graphIO reads.
const (
	fieldModelGraph             = 7  // ModelProto.graph
	fieldGraphInitializer       = 5  // GraphProto.initializer (TensorProto)
	fieldGraphInput             = 11 // GraphProto.input (ValueInfoProto)
	fieldGraphOutput            = 12 // GraphProto.output
	fieldGraphSparseInitializer = 15 // GraphProto.sparse_initializer (SparseTensorProto)
	fieldValueInfoName          = 1  // ValueInfoProto.name
	fieldTensorName             = 8  // TensorProto.name
	fieldSparseValues           = 1  // SparseTensorProto.values (TensorProto)
)

// graphIO reads from the model's protobuf the name of its one graph input
// that is not an initializer and of its one output; ok is false unless
// there is exactly one of each. The session is created with these names
// and ONNX Runtime then says what its inputs and outputs really are
// (ortmem.SessionIO): this parse only spares the second session that
// asking ORT first would need (onnxruntime_go's
// GetInputOutputInfoWithONNXData builds one, as costly as the real one:
// 8–36 ms on the fixtures). Whatever it gets wrong, ORT's answer catches.
func graphIO(model []byte) (in, out string, ok bool) {
	var inputs, outputs []string
	inits := map[string]bool{}
	okParse := eachField(model, func(num protowire.Number, v []byte) bool {
		if num != fieldModelGraph {
			return true
		}
		// A repeated graph field merges: its lists add up.
		return eachField(v, func(num protowire.Number, v []byte) bool {
			switch num {
			case fieldGraphInput, fieldGraphOutput:
				name, ok := lastString(v, fieldValueInfoName)
				if num == fieldGraphInput {
					inputs = append(inputs, name)
				} else {
					outputs = append(outputs, name)
				}
				return ok
			case fieldGraphInitializer:
				name, ok := lastString(v, fieldTensorName)
				inits[name] = true
				return ok
			case fieldGraphSparseInitializer:
				vals, ok := lastBytes(v, fieldSparseValues)
				if ok {
					var name string
					name, ok = lastString(vals, fieldTensorName)
					inits[name] = true
				}
				return ok
			}
			return true
		})
	})
	if !okParse {
		return "", "", false
	}
	var real []string
	for _, name := range inputs {
		if !inits[name] {
			real = append(real, name)
		}
	}
	if len(real) != 1 || len(outputs) != 1 || real[0] == "" || outputs[0] == "" {
		return "", "", false
	}
	return real[0], outputs[0], true
}

// eachField calls f with every length-delimited field of the message b
// (others are skipped); false when b is malformed or f says stop.
func eachField(b []byte, f func(protowire.Number, []byte) bool) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		if typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 || !f(num, v) {
				return false
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return false
		}
		b = b[m:]
	}
	return true
}

// lastBytes is the last occurrence of the length-delimited field num of
// message b (protobuf keeps the last of a singular field), nil if none.
func lastBytes(b []byte, num protowire.Number) ([]byte, bool) {
	var last []byte
	ok := eachField(b, func(n protowire.Number, v []byte) bool {
		if n == num {
			last = v
		}
		return true
	})
	return last, ok
}

func lastString(b []byte, num protowire.Number) (string, bool) {
	v, ok := lastBytes(b, num)
	return string(v), ok
}
