package evaluate

import (
	"time"

	"github.com/srarena/srarena/runner/sandbox"
)

// Phases says where an evaluation's wall time outside timed inference
// went, in milliseconds (`srarena eval --json` "phases_ms"). StartupMS and
// DecodeMS overlap (the images are decoded while the child starts and the
// model is checked); WaitMS is what of the start-up decoding did not hide,
// CheckModelMS what of the model check it did not hide. The serial parts,
// CheckModelMS + DecodeMS + WaitMS + InputMS + TransferMS + QuantizeMS +
// ScoreMS + CloseMS + OtherMS, add up to EvalWallMS − InferenceMS.
type Phases struct {
	CheckModelMS float64 `json:"check_model"` // reading and statically checking the model file (eval only), as far as decoding did not hide it
	StartupMS    float64 `json:"startup"`     // spawn until the session is ready (concurrent with decode)
	SandboxMS    float64 `json:"sandbox_up"`  // of which: spawn until the sandbox and ONNX Runtime are up, before the model
	DecodeMS     float64 `json:"decode"`      // reading and decoding the images (concurrent with the model check)
	WaitMS       float64 `json:"wait_child"`  // waiting for the child once the images were decoded
	InputMS      float64 `json:"input"`       // LR images to float32 tensors
	TransferMS   float64 `json:"transfer"`    // per image: request to response minus timed runs and quantisation (pipes, untimed child work)
	QuantizeMS   float64 `json:"quantize"`    // the child checking and quantising outputs (after the timed runs)
	ScoreMS      float64 `json:"score"`       // PSNR, PSNR-Y and SSIM
	CloseMS      float64 `json:"close"`       // ending the child (and the baseline's)
	OtherMS      float64 `json:"other"`       // the rest (baseline transfers, bookkeeping)
}

// addRuns books one Infer of the model: transfer and quantisation.
func (p *Phases) addRuns(r *sandbox.Runs) {
	rest := r.Wall - r.Quantize
	for _, d := range r.Times {
		rest -= d
	}
	p.TransferMS += msOf(max(rest, 0))
	p.QuantizeMS += msOf(r.Quantize)
}

// finish sets OtherMS so that the serial parts add up to the overhead.
func (p *Phases) finish(wall, inference float64) {
	p.OtherMS = wall - inference - (p.CheckModelMS + p.DecodeMS + p.WaitMS + p.InputMS + p.TransferMS + p.QuantizeMS + p.ScoreMS + p.CloseMS)
}

// since is the milliseconds since t.
func since(t time.Time) float64 { return msOf(time.Since(t)) }
