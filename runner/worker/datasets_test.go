package worker

import (
	"math"
	"testing"

	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/store"
)

// TestPlanCombines: per split, the combined figures are the means over
// that split's datasets (each weighted alike, whatever its size), the
// runtime is the mean over the splits, results.psnr is the primary
// dataset's split's, and an empty listed dataset is left out.
func TestPlanCombines(t *testing.T) {
	ds := func(id int64, split string, n int) store.EvalDataset {
		d := store.EvalDataset{Dataset: store.Dataset{ID: id, Name: split, Split: split}}
		for i := 0; i < n; i++ {
			d.Images = append(d.Images, store.DatasetImage{Name: string(rune('a' + i))})
		}
		return d
	}
	pl := newPlan([]store.EvalDataset{ds(1, "test", 1), ds(2, "validation", 1), ds(3, "validation", 3), ds(4, "validation", 0)})
	if len(pl.sets) != 3 || pl.total != 5 || !pl.multi {
		t.Fatalf("plan: %d sets, %d images", len(pl.sets), pl.total)
	}
	img := func(psnr, ms float64) evaluate.ImageResult {
		return evaluate.ImageResult{PSNR: psnr, PSNRY: psnr, SSIM: 0.5, RuntimeMS: ms, RunsMS: []float64{ms, ms}}
	}
	rep := &evaluate.Report{Images: []evaluate.ImageResult{
		img(20, 40),                        // test
		img(30, 10),                        // validation 2
		img(24, 4), img(26, 6), img(28, 8), // validation 3: mean PSNR 26, runtime 6
	}}
	res, err := pl.result(7, rep)
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if !near(*res.PSNRVal, (30+26)/2.0) || !near(*res.PSNRTest, 20) {
		t.Errorf("PSNR val %v test %v, want 28 and 20", *res.PSNRVal, *res.PSNRTest)
	}
	if !near(*res.RuntimeValMS, (10+6)/2.0) || !near(*res.RuntimeTestMS, 40) || !near(res.RuntimeMS, (8+40)/2.0) {
		t.Errorf("runtime val %v test %v combined %v, want 8, 40, 24", *res.RuntimeValMS, *res.RuntimeTestMS, res.RuntimeMS)
	}
	if res.PSNR != 20 { // the primary dataset is the test set
		t.Errorf("results.psnr %v, want the test split's 20", res.PSNR)
	}
	if len(res.Datasets) != 3 || res.Datasets[2].Images != 3 || !near(res.Datasets[2].PSNR, 26) {
		t.Errorf("datasets %+v", res.Datasets)
	}
	if len(res.Outputs) != 0 {
		t.Errorf("outputs of non-public sets: %+v", res.Outputs)
	}
}
