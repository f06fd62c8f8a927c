package outcome

import (
	"fmt"
	"testing"
)

func TestKinds(t *testing.T) {
	model := map[Kind]bool{InvalidModel: true, LoadError: true, RuntimeError: true, Crashed: true, Timeout: true, OOM: true, BadOutput: true}
	for _, k := range All {
		if !k.Valid() {
			t.Errorf("%s not valid", k)
		}
		if k.ModelCaused() != model[k] {
			t.Errorf("%s: ModelCaused %v", k, k.ModelCaused())
		}
		if k.Charged() != (model[k] || k == Succeeded) {
			t.Errorf("%s: Charged %v", k, k.Charged())
		}
	}
	if Kind("internal").Valid() {
		t.Error("an unknown kind is valid")
	}
	err := fmt.Errorf("wrapped: %w", Errorf(MissingModel, "gone"))
	if !IsFinal(err) || IsModelError(err) {
		t.Errorf("missing model: final %v, model's %v", IsFinal(err), IsModelError(err))
	}
	if k, ok := Of(err); !ok || k != MissingModel {
		t.Errorf("Of = %v %v", k, ok)
	}
}
