package onnxmodel

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// maxWireDepth bounds message nesting. Legitimate models nest about 8 deep
// (model → graph → node → attribute → tensor → …); subgraphs are rejected
// anyway, and deep nesting is how nested-If bombs look on the wire.
const maxWireDepth = 64

var modelDesc = (&onnxpb.ModelProto{}).ProtoReflect().Descriptor()

// scanWire walks the protobuf wire format of b as a ModelProto and reports
// every singular field (or oneof) that occurs more than once in one message.
// Protobuf silently keeps the last scalar and merges messages, so a validator
// and ORT could disagree on what the model is (sandbox.md T6). It returns a
// non-nil error when b is not well-formed protobuf.
func scanWire(b []byte, ps *problems) error {
	return scanMessage(b, modelDesc, "model", 0, ps)
}

func scanMessage(b []byte, md protoreflect.MessageDescriptor, path string, depth int, ps *problems) error {
	if depth > maxWireDepth {
		return fmt.Errorf("%s: messages nested deeper than %d", path, maxWireDepth)
	}
	// Few messages have more than a handful of singular fields: a slice
	// beats a map here and keeps the scan allocation-light.
	var seen []protowire.Number
	var seenOneof []int
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("%s: %w", path, protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return fmt.Errorf("%s: field %d: %w", path, num, protowire.ParseError(m))
		}
		val := b[:m]
		b = b[m:]
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			continue // unknown: dropped when re-serialised
		}
		fpath := path + "." + string(fd.Name())
		if !fd.IsList() && !fd.IsMap() {
			if oo := fd.ContainingOneof(); oo != nil {
				idx := oo.Index()
				if containsInt(seenOneof, idx) {
					ps.add(fpath, "oneof %s set more than once (protobuf keeps only the last); re-export the model", oo.Name())
				} else {
					seenOneof = append(seenOneof, idx)
				}
			} else if containsNum(seen, num) {
				ps.add(fpath, "singular field appears more than once on the wire (protobuf would merge or keep the last); re-export the model")
			} else {
				seen = append(seen, num)
			}
		}
		if fd.Kind() == protoreflect.MessageKind && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(val)
			if err := scanMessage(v, fd.Message(), fpath, depth+1, ps); err != nil {
				return err
			}
		}
	}
	return nil
}

func containsNum(s []protowire.Number, n protowire.Number) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}

func containsInt(s []int, n int) bool {
	for _, x := range s {
		if x == n {
			return true
		}
	}
	return false
}
