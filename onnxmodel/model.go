// Package onnxmodel validates an untrusted ONNX super-resolution model and
// profiles its complexity (params, conv MACs, FLOPs by the KAIR and fvcore
// rules, activations, conv count) without running it. It is pure Go on the
// generated protobuf bindings, so the web server can call it without cgo.
//
// The entry point is Inspect. A model that passes validation is re-serialised
// (Model.Bytes) and only those bytes may be handed to ONNX Runtime: protobuf
// merges repeated singular fields and keeps unknown fields, so the original
// upload could mean something other than what was validated.
package onnxmodel

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/srarena/srarena/onnxmodel/onnxpb"
)

// Limits bound what a model may contain. Zero fields take the defaults of
// DefaultLimits, so Limits{} is usable.
type Limits struct {
	// MaxFileBytes caps the upload, checked before parsing.
	MaxFileBytes int64
	// MaxNodes caps the number of nodes of the main graph.
	MaxNodes int
	// MaxInitializerBytes caps the total size of initializers and Constant
	// node tensors.
	MaxInitializerBytes int64
	// MaxTensorElements caps the element count of every tensor, constant or
	// inferred at the profiling size: it bounds broadcasting, Pad and Resize
	// bombs that no single attribute reveals.
	MaxTensorElements int64
	// MaxPad bounds each Pad amount (absolute value).
	MaxPad int64
	// MaxBlockSize bounds DepthToSpace/SpaceToDepth blocksize (ORT crashed
	// on overflowing block sizes, sandbox.md T8).
	MaxBlockSize int64
	// MinOpset/MaxOpset: the accepted default-domain opset range.
	MinOpset, MaxOpset int64
	// MinIRVersion/MaxIRVersion: the accepted IR version range.
	MinIRVersion, MaxIRVersion int64
}

// DefaultLimits are the limits used for zero fields of Limits. Opset 11–21
// accepts every PyTorch export from 1.8 on (sandbox.md §2 opset notes); IR
// 4–10 is what those opsets are written with.
var DefaultLimits = Limits{
	MaxFileBytes:        64 << 20,
	MaxNodes:            5000,
	MaxInitializerBytes: 64 << 20,
	MaxTensorElements:   1 << 28,
	MaxPad:              64,
	MaxBlockSize:        8,
	MinOpset:            11,
	MaxOpset:            21,
	MinIRVersion:        4,
	MaxIRVersion:        10,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxFileBytes > 0 {
		d.MaxFileBytes = l.MaxFileBytes
	}
	if l.MaxNodes > 0 {
		d.MaxNodes = l.MaxNodes
	}
	if l.MaxInitializerBytes > 0 {
		d.MaxInitializerBytes = l.MaxInitializerBytes
	}
	if l.MaxTensorElements > 0 {
		d.MaxTensorElements = l.MaxTensorElements
	}
	if l.MaxPad > 0 {
		d.MaxPad = l.MaxPad
	}
	if l.MaxBlockSize > 0 {
		d.MaxBlockSize = l.MaxBlockSize
	}
	if l.MinOpset > 0 {
		d.MinOpset = l.MinOpset
	}
	if l.MaxOpset > 0 {
		d.MaxOpset = l.MaxOpset
	}
	if l.MinIRVersion > 0 {
		d.MinIRVersion = l.MinIRVersion
	}
	if l.MaxIRVersion > 0 {
		d.MaxIRVersion = l.MaxIRVersion
	}
	return d
}

// Problem is one reason a model is rejected. Where names the node, tensor or
// field concerned (for example `node "Conv_3" (Conv)`, `initializer "w"`,
// `model.opset_import`); Msg says what is wrong in words for a participant.
type Problem struct {
	Where string `json:"where"`
	Msg   string `json:"msg"`
}

func (p Problem) String() string {
	if p.Where == "" {
		return p.Msg
	}
	return p.Where + ": " + p.Msg
}

// ValidationError lists every problem found in a model.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid ONNX model: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Model is a validated ONNX model.
type Model struct {
	pb    *onnxpb.ModelProto
	bytes []byte
}

// Proto returns the parsed model. Callers must not modify it.
func (m *Model) Proto() *onnxpb.ModelProto { return m.pb }

// Bytes returns the re-serialised model: exactly what was validated, without
// unknown fields or duplicated singular fields. Hand these bytes, never the
// upload, to ONNX Runtime.
func (m *Model) Bytes() []byte { return m.bytes }

// problems collects Problems with a cap, so that a model with a million bad
// nodes does not produce a million messages.
type problems struct {
	list []Problem
	more int
}

const maxProblems = 50

func (ps *problems) add(where, format string, args ...any) {
	if len(ps.list) >= maxProblems {
		ps.more++
		return
	}
	ps.list = append(ps.list, Problem{Where: where, Msg: fmt.Sprintf(format, args...)})
}

func (ps *problems) result() []Problem {
	if ps.more > 0 {
		return append(ps.list, Problem{Msg: fmt.Sprintf("and %d more problems", ps.more)})
	}
	return ps.list
}

func marshal(m *onnxpb.ModelProto) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnxmodel: re-serialise: %w", err)
	}
	return b, nil
}

func nodeWhere(i int, n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return fmt.Sprintf("node %q (%s)", n.GetName(), n.GetOpType())
	}
	return fmt.Sprintf("node #%d (%s)", i, n.GetOpType())
}
