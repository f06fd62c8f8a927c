package evaluate

import (
	"errors"
	"fmt"

	"github.com/srarena/srarena/onnxmodel"
	"github.com/srarena/srarena/runner/outcome"
)

// Checked validates a model statically, as the upload handler does, and
// returns the re-serialised bytes the validator approved: ONNX Runtime only
// ever parses those, never the file as uploaded (a second field of the same
// number, or an unknown field, cannot smuggle anything past the check).
// It runs again in the worker because blobs may come from elsewhere than
// the upload form (a seed, an admin re-run, an old row under newer rules).
func Checked(model []byte, scale int) ([]byte, error) {
	rep, err := onnxmodel.Inspect(model, onnxmodel.Options{Scale: scale})
	if err != nil {
		return nil, fmt.Errorf("runner: inspecting model: %w", err)
	}
	if !rep.Valid || rep.Model == nil {
		verr := rep.Err()
		if verr == nil {
			verr = errors.New("model rejected")
		}
		return nil, outcome.Errorf(outcome.InvalidModel, "model rejected: %v", verr)
	}
	return rep.Model.Bytes(), nil
}
