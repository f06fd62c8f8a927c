package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// TestPhaseOnTwoDatasets: a phase listing a public validation set and a
// hidden test set is evaluated on both by a real worker, in one session;
// the combined result holds each split's PSNR and the mean of the two
// runtimes, each dataset's own result is stored, the SR outputs of the
// public validation images are stored (and none of the test images), and
// nothing participant-visible names a test image.
func TestPhaseOnTwoDatasets(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// The test set, created before the first submission so that the
	// challenge's default phase lists both datasets (migration 0006).
	var testDS int64
	must(e.pool.QueryRow(ctx, `INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'hidden-test', 'test') RETURNING id`, e.chal).Scan(&testDS))
	testLRs := []*scoring.Image{randImage(18, 14, 31), randImage(22, 12, 32), randImage(16, 16, 33)}
	testHRs := []*scoring.Image{randImage(4*18+2, 4*14, 41), randImage(4*22, 4*12+3, 42), randImage(4*16, 4*16, 43)}
	secret := []string{"zz-secret-c", "aa-secret-a", "mm-secret-b"} // name order: a, b, c
	for i, n := range secret {
		_, err := e.pool.Exec(ctx, `INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, $2, $3, $4)`,
			testDS, n, e.putPNG(t, testLRs[i]), e.putPNG(t, testHRs[i]))
		must(err)
	}
	must2 := func(_ any, err error) { t.Helper(); must(err) }
	must2(e.pool.Exec(ctx, `UPDATE datasets SET public = true, hr_public = true WHERE id = $1`, e.ds))

	model, _ := onnxbuild.Nearest(4)
	id := e.submit(t, model)
	var n int
	must(e.pool.QueryRow(ctx, `SELECT count(*) FROM phase_datasets pd JOIN submissions s ON s.phase_id = pd.phase_id WHERE s.id = $1`, id).Scan(&n))
	if n != 2 {
		t.Fatalf("the phase lists %d datasets, want 2", n)
	}
	must(e.worker.Work(ctx, job(id, 1, 5)))
	s := e.state(t, id)
	if s.status != store.StatusFinished {
		t.Fatalf("status %q: %s", s.status, s.message)
	}

	// Expected PSNRs, computed here from the images (nearest ×4).
	psnrOf := func(lrs, hrs []*scoring.Image) []float64 {
		var out []float64
		for i := range lrs {
			p, err := scoring.PSNR(nearestUp(lrs[i], 4), scoring.ModCrop(hrs[i], 4), 4)
			must(err)
			out = append(out, p)
		}
		return out
	}
	valWant := scoring.Mean(psnrOf(e.lrs, e.hrs))
	// The test set in name order: a (index 1), b (2), c (0).
	order := []int{1, 2, 0}
	var olr, ohr []*scoring.Image
	for _, i := range order {
		olr, ohr = append(olr, testLRs[i]), append(ohr, testHRs[i])
	}
	testPer := psnrOf(olr, ohr)
	testWant := scoring.Mean(testPer)

	parts, err := e.st.ResultDatasets(ctx, id)
	must(err)
	if len(parts) != 2 || parts[0].DatasetID != e.ds || parts[1].DatasetID != testDS {
		t.Fatalf("dataset results %+v, want val then test", parts)
	}
	if parts[0].Images != 2 || parts[1].Images != 3 {
		t.Errorf("images %d, %d; want 2, 3", parts[0].Images, parts[1].Images)
	}
	if parts[0].PSNR != valWant || parts[1].PSNR != testWant {
		t.Errorf("dataset PSNR %v, %v; want %v, %v", parts[0].PSNR, parts[1].PSNR, valWant, testWant)
	}
	res, err := e.st.ResultBySubmission(ctx, id)
	must(err)
	if res.PSNRVal == nil || res.PSNRTest == nil || res.RuntimeValMS == nil || res.RuntimeTestMS == nil {
		t.Fatalf("per-split columns missing: %+v", res)
	}
	// The combined numbers are the per-dataset ones (one dataset per
	// split), the runtime their mean, PSNR that of the primary split.
	if *res.PSNRVal != parts[0].PSNR || *res.PSNRTest != parts[1].PSNR || res.PSNR != parts[0].PSNR {
		t.Errorf("combined PSNR %v (val %v, test %v); dataset PSNRs %v, %v", res.PSNR, *res.PSNRVal, *res.PSNRTest, parts[0].PSNR, parts[1].PSNR)
	}
	if *res.RuntimeValMS != parts[0].RuntimeMS || *res.RuntimeTestMS != parts[1].RuntimeMS {
		t.Errorf("split runtimes %v, %v; dataset runtimes %v, %v", *res.RuntimeValMS, *res.RuntimeTestMS, parts[0].RuntimeMS, parts[1].RuntimeMS)
	}
	if want := (parts[0].RuntimeMS + parts[1].RuntimeMS) / 2; math.Abs(res.RuntimeMS-want) > 1e-12 {
		t.Errorf("runtime %v, want (val + test) / 2 = %v", res.RuntimeMS, want)
	}
	// The test set's per-image table names images by position only.
	var tper []struct {
		Name string  `json:"name"`
		PSNR float64 `json:"psnr"`
	}
	must(json.Unmarshal(parts[1].PerImage, &tper))
	if len(tper) != 3 || tper[0].Name != "image 1" || tper[2].Name != "image 3" || tper[0].PSNR != testPer[0] {
		t.Errorf("test per-image %s", parts[1].PerImage)
	}
	// Progress counted every dataset's images.
	var done, total int
	must(e.pool.QueryRow(ctx, `SELECT images_done, images_total FROM submissions WHERE id = $1`, id).Scan(&done, &total))
	if done != 5 || total != 5 {
		t.Errorf("progress %d of %d, want 5 of 5", done, total)
	}
	if !strings.Contains(strings.Join(s.logs, "\n"), "image 5/5") {
		t.Errorf("log has no \"image 5/5\": %q", s.logs)
	}

	// Nothing a participant sees names a test image.
	var per string
	must(e.pool.QueryRow(ctx, `SELECT per_image::text FROM results WHERE submission_id = $1`, id).Scan(&per))
	visible := append([]string{s.message, per, string(parts[1].PerImage)}, s.logs...)
	for _, v := range visible {
		if strings.Contains(v, "secret") {
			t.Errorf("participant-visible text names a hidden image: %q", v)
		}
	}

	// SR outputs: the two validation images, bit for bit, none of the test set.
	outs, err := e.st.CompareImages(ctx, id)
	must(err)
	if len(outs) != 2 {
		t.Fatalf("%d stored outputs, want 2", len(outs))
	}
	var nTest int
	must(e.pool.QueryRow(ctx, `SELECT count(*) FROM sr_outputs WHERE dataset_id = $1`, testDS).Scan(&nTest))
	if nTest != 0 {
		t.Errorf("%d SR outputs of the hidden test set stored", nTest)
	}
	for i, o := range outs {
		b, err := blob.ReadAll(ctx, e.blobs, o.PNGSHA256)
		must(err)
		img, err := scoring.DecodePNG(bytes.NewReader(b))
		must(err)
		if want := nearestUp(e.lrs[i], 4); !bytes.Equal(img.Pix, want.Pix) || img.W != want.W {
			t.Errorf("output %s is not the model's output", o.Name)
		}
		if o.PSNR == nil || !o.HRPublic {
			t.Errorf("output %+v: want its PSNR and HR public", o)
		}
	}

	// The store refuses an SR output of a hidden set outright.
	bad := &store.Result{SubmissionID: id, PSNR: 30, RuntimeMS: 1, Repeats: 1,
		Outputs: []store.SROutput{{DatasetID: testDS, ImageName: "aa-secret-a", PNGSHA256: strings.Repeat("ab", 32)}}}
	must2(e.pool.Exec(ctx, `UPDATE submissions SET status = 'running' WHERE id = $1`, id))
	if _, err := e.st.FinishEvaluation(ctx, bad, s.attempts); err == nil {
		t.Error("an SR output of a test set was stored")
	}
	must(e.pool.QueryRow(ctx, `SELECT count(*) FROM sr_outputs WHERE submission_id = $1`, id).Scan(&n))
	if n != 2 {
		t.Errorf("%d outputs after the refused write, want the 2 from before", n)
	}
}
