package handlers

import (
	"encoding/json"
	"fmt"

	"github.com/srarena/srarena/onnxmodel"
)

// ONNXInspect is the InspectFunc of the platform: onnxmodel's static
// validation and complexity profile, pure Go.
func ONNXInspect(data []byte, scale int) (Inspection, error) {
	rep, err := onnxmodel.Inspect(data, onnxmodel.Options{Scale: scale})
	if err != nil {
		return Inspection{}, err
	}
	ins := Inspection{Valid: rep.Valid}
	for _, p := range rep.Problems {
		ins.Problems = append(ins.Problems, p.String())
	}
	if rep.Valid && rep.Profile != nil {
		b, err := json.Marshal(rep.Profile)
		if err != nil {
			return Inspection{}, fmt.Errorf("inspect: profile: %w", err)
		}
		ins.Profile = b
	}
	return ins, nil
}
