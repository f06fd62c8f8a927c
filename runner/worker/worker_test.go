package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/onnxmodel/onnxpb"
	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

type workerEnv struct {
	pool   *pgxpool.Pool
	st     *store.Store
	blobs  *blob.Dir
	worker *Worker
	lrs    []*scoring.Image
	hrs    []*scoring.Image
	ds     int64
	chal   int64
}

func newWorkerEnv(t *testing.T) *workerEnv {
	lib := ortLib(t)
	ctx := context.Background()
	e := &workerEnv{pool: pgtest.NewPool(t)}
	e.st = store.New(e.pool)
	var err error
	if e.blobs, err = blob.NewDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.pool.QueryRow(ctx, `INSERT INTO challenges (slug, title, scale, rules) VALUES ('esr', 'ESR', 4, '{}') RETURNING id`).Scan(&e.chal))
	must(e.pool.QueryRow(ctx, `INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'val', 'validation') RETURNING id`, e.chal).Scan(&e.ds))
	for i, name := range []string{"0801", "0802"} {
		lr := randImage(20+i, 16, uint64(10+i))
		hr := randImage(4*(20+i)+1, 64+3, uint64(20+i))
		e.lrs, e.hrs = append(e.lrs, lr), append(e.hrs, hr)
		must(e.pool.QueryRow(ctx, "SELECT 1").Scan(new(int)))
		_, err := e.pool.Exec(ctx, `INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, $2, $3, $4)`,
			e.ds, name, e.putPNG(t, lr), e.putPNG(t, hr))
		must(err)
	}
	var logs bytes.Buffer
	e.worker = NewWorker(e.st, e.blobs, evaluate.Options{ORTLib: lib, Threads: 1, Repeats: 2}, slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { t.Logf("worker log:\n%s", logs.String()) })
	return e
}

func (e *workerEnv) putPNG(t *testing.T, img *scoring.Image) string {
	var b bytes.Buffer
	if err := scoring.EncodePNG(&b, img); err != nil {
		t.Fatal(err)
	}
	d, err := blob.PutBytes(context.Background(), e.blobs, b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *workerEnv) submit(t *testing.T, model []byte) int64 {
	d, err := blob.PutBytes(context.Background(), e.blobs, model)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = e.pool.QueryRow(context.Background(), `
		INSERT INTO submissions (challenge_id, dataset_id, model_sha256, model_bytes) VALUES ($1, $2, $3, $4) RETURNING id`,
		e.chal, e.ds, d, len(model)).Scan(&id)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func job(id int64, attempt, max int) *river.Job[jobs.Evaluate] {
	return &river.Job[jobs.Evaluate]{JobRow: &rivertype.JobRow{ID: 1, Attempt: attempt, MaxAttempts: max}, Args: jobs.Evaluate{SubmissionID: id}}
}

type subState struct {
	status, message string
	attempts        int
	results         int
	psnr            float64
	logs            []string
}

func (e *workerEnv) state(t *testing.T, id int64) subState {
	ctx := context.Background()
	var s subState
	if err := e.pool.QueryRow(ctx, `SELECT status, message, attempts FROM submissions WHERE id = $1`, id).Scan(&s.status, &s.message, &s.attempts); err != nil {
		t.Fatal(err)
	}
	e.pool.QueryRow(ctx, `SELECT count(*), coalesce(max(psnr), 0) FROM results WHERE submission_id = $1`, id).Scan(&s.results, &s.psnr)
	rows, _ := e.pool.Query(ctx, `SELECT line FROM submission_logs WHERE submission_id = $1 ORDER BY id`, id)
	for rows.Next() {
		var l string
		rows.Scan(&l)
		s.logs = append(s.logs, l)
	}
	rows.Close()
	return s
}

func TestWorker(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()

	t.Run("finished", func(t *testing.T) {
		model, _ := onnxbuild.Nearest(4)
		id := e.submit(t, model)
		if err := e.worker.Work(ctx, job(id, 1, 25)); err != nil {
			t.Fatal(err)
		}
		s := e.state(t, id)
		var want []float64
		for i := range e.lrs {
			hr := scoring.ModCrop(e.hrs[i], 4)
			hr = scoring.Crop(hr, 0, 0, 4*e.lrs[i].W, 4*e.lrs[i].H)
			p, _ := scoring.PSNR(nearestUp(e.lrs[i], 4), hr, 4)
			want = append(want, p)
		}
		if s.status != store.StatusFinished || s.results != 1 || s.attempts != 1 || s.psnr != scoring.Mean(want) {
			t.Errorf("state %+v, want finished with PSNR %v", s, scoring.Mean(want))
		}
		t.Logf("logs: %q", s.logs)
		if len(s.logs) != 4 || !strings.Contains(s.logs[1], "0801") {
			t.Errorf("logs %q", s.logs)
		}
		// A finished submission is left alone when the job runs again.
		if err := e.worker.Work(ctx, job(id, 2, 25)); err != nil {
			t.Fatal(err)
		}
		if s2 := e.state(t, id); s2.attempts != 1 || s2.status != store.StatusFinished {
			t.Errorf("re-run changed the submission: %+v", s2)
		}
	})

	t.Run("model failure is final", func(t *testing.T) {
		model, _ := onnxbuild.Scaled(4, float32Nan())
		id := e.submit(t, model)
		err := e.worker.Work(ctx, job(id, 1, 25))
		var ce *river.JobCancelError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want JobCancel", err)
		}
		s := e.state(t, id)
		if s.status != store.StatusFailed || s.results != 0 || !strings.Contains(s.message, "output contains NaN at image 0801") {
			t.Errorf("state %+v", s)
		}
		// The model's own failure: charged.
		var oc string
		var charged bool
		e.pool.QueryRow(ctx, `SELECT outcome, charged FROM submissions WHERE id = $1`, id).Scan(&oc, &charged)
		if oc != "bad_output" || !charged {
			t.Errorf("outcome %q charged %v, want bad_output, charged", oc, charged)
		}
	})

	t.Run("infrastructure failure retries then fails", func(t *testing.T) {
		model, _ := onnxbuild.Nearest(4)
		id := e.submit(t, model)
		// Lose an HR blob: an infrastructure problem, not the model's.
		var hr string
		e.pool.QueryRow(ctx, `SELECT hr_sha256 FROM dataset_images WHERE name = '0802'`).Scan(&hr)
		if err := e.blobs.Delete(context.Background(), hr); err != nil {
			t.Fatal(err)
		}
		e.worker.images = newImageCache(ImageCacheBytes) // earlier subtests decoded it
		err := e.worker.Work(ctx, job(id, 1, 2))
		var ce *river.JobCancelError
		if err == nil || errors.As(err, &ce) {
			t.Fatalf("err = %v, want a retryable error", err)
		}
		if s := e.state(t, id); s.status != store.StatusRunning {
			t.Errorf("after a retryable failure: %+v", s)
		}
		if err := e.worker.Work(ctx, job(id, 2, 2)); err == nil {
			t.Fatal("want an error on the last attempt")
		}
		s := e.state(t, id)
		if s.status != store.StatusFailed || s.message != InternalErrorMessage || s.attempts != 2 || s.results != 0 {
			t.Errorf("after the last attempt: %+v", s)
		}
		// The platform's failure: visible as such, and not charged.
		var oc string
		var charged bool
		e.pool.QueryRow(ctx, `SELECT outcome, charged FROM submissions WHERE id = $1`, id).Scan(&oc, &charged)
		if oc != "platform_error" || charged {
			t.Errorf("outcome %q charged %v, want platform_error, not charged", oc, charged)
		}
		for _, l := range s.logs {
			if strings.Contains(l, hr) || strings.Contains(l, "/") && strings.Contains(l, "blob") {
				t.Errorf("participant log leaks storage details: %q", l)
			}
		}
	})
}

// submitWith inserts a submission on dataset ds with the given data range.
func (e *workerEnv) submitWith(t *testing.T, model []byte, ds int64, dataRange float32) int64 {
	id := e.submit(t, model)
	if _, err := e.pool.Exec(context.Background(), `UPDATE submissions SET dataset_id = $2, data_range = $3 WHERE id = $1`, id, ds, dataRange); err != nil {
		t.Fatal(err)
	}
	return id
}

// biasModel is ×4 nearest plus bias: unlike a purely linear model it scores
// differently when the input or output range is wrong.
func biasModel(t *testing.T, bias float32) []byte {
	g := onnxbuild.New("bias")
	g.AddInput(onnxbuild.ValueInfo(onnxbuild.Input, onnxpb.TensorProto_FLOAT, []onnxbuild.Dim{{Value: 1}, {Value: 3}, {Param: "h"}, {Param: "w"}}))
	g.AddOutput(onnxbuild.ValueInfo(onnxbuild.Output, onnxpb.TensorProto_FLOAT, []onnxbuild.Dim{{Value: 1}, {Value: 3}, {Param: "4h"}, {Param: "4w"}}))
	g.AddInitializer("scales", []int64{4}, []float32{1, 1, 4, 4})
	g.AddNode("Resize", []string{onnxbuild.Input, "", "scales"}, []string{"up"},
		onnxbuild.AttrString("mode", "nearest"), onnxbuild.AttrString("coordinate_transformation_mode", "asymmetric"),
		onnxbuild.AttrString("nearest_mode", "floor"))
	g.AddInitializer("bias", nil, []float32{bias})
	g.AddNode("Add", []string{"up", "bias"}, []string{onnxbuild.Output})
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWorkerOutcomes(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	var testDS int64
	if err := e.pool.QueryRow(ctx, `
		WITH d AS (INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'test', 'test') RETURNING id),
		     i AS (INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256)
		           SELECT d.id, name, lr_sha256, hr_sha256 FROM dataset_images, d WHERE dataset_id = $2)
		SELECT id FROM d`, e.chal, e.ds).Scan(&testDS); err != nil {
		t.Fatal(err)
	}
	nearest, _ := onnxbuild.Nearest(4)

	t.Run("validation logs scores, test hides them, sandbox stored", func(t *testing.T) {
		for _, tc := range []struct {
			ds     int64
			scores bool
		}{{e.ds, true}, {testDS, false}} {
			id := e.submitWith(t, nearest, tc.ds, 1)
			// Each split on its own: the default phase migration 0006 made
			// at the first submission lists both datasets, and a phase is
			// evaluated on all of its datasets (TestPhaseOnTwoDatasets).
			if _, err := e.pool.Exec(ctx, `DELETE FROM phase_datasets WHERE dataset_id = $1 AND NOT is_primary`, testDS); err != nil {
				t.Fatal(err)
			}
			if err := e.worker.Work(ctx, job(id, 1, 5)); err != nil {
				t.Fatal(err)
			}
			s := e.state(t, id)
			if len(s.logs) != 4 {
				t.Fatalf("logs %q", s.logs)
			}
			for _, l := range s.logs[1:3] {
				if !strings.Contains(l, " ms") || strings.Contains(l, "PSNR") != tc.scores || strings.Contains(l, "SSIM") != tc.scores {
					t.Errorf("split scores=%v: per-image line %q", tc.scores, l)
				}
			}
			if !strings.Contains(s.logs[3], "evaluation finished: PSNR ") {
				t.Errorf("final line %q", s.logs[3])
			}
			var sandbox, device string
			e.pool.QueryRow(ctx, `SELECT sandbox, device FROM results WHERE submission_id = $1`, id).Scan(&sandbox, &device)
			if !strings.Contains(sandbox, "seccomp (") || !strings.Contains(sandbox, "landlock ABI") || device != "cpu (1 threads)" {
				t.Errorf("results.sandbox %q, device %q", sandbox, device)
			}
		}
	})

	t.Run("data range 255 scores as its range-1 twin", func(t *testing.T) {
		one := e.submitWith(t, biasModel(t, 10.0/255), e.ds, 1)
		two := e.submitWith(t, biasModel(t, 10), e.ds, 255)
		wrong := e.submitWith(t, biasModel(t, 10), e.ds, 1) // the 255 model run as range 1
		for _, id := range []int64{one, two, wrong} {
			if err := e.worker.Work(ctx, job(id, 1, 5)); err != nil {
				t.Fatal(err)
			}
		}
		s1, s2, sw := e.state(t, one), e.state(t, two), e.state(t, wrong)
		if s1.status != store.StatusFinished || s1.psnr != s2.psnr {
			t.Errorf("range 1: %+v; range 255: %+v; want equal PSNR", s1, s2)
		}
		if sw.psnr >= s1.psnr-1 {
			t.Errorf("a range-255 model scored %v as range 1, close to %v: the range is not applied", sw.psnr, s1.psnr)
		}
	})

	t.Run("exact reproduction stores the capped PSNR", func(t *testing.T) {
		// A dataset whose HRs are the nearest upscale of their LRs.
		var ds int64
		e.pool.QueryRow(ctx, `INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'exact', 'validation') RETURNING id`, e.chal).Scan(&ds)
		lr := randImage(20, 16, 99)
		if _, err := e.pool.Exec(ctx, `INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, 'x', $2, $3)`,
			ds, e.putPNG(t, lr), e.putPNG(t, nearestUp(lr, 4))); err != nil {
			t.Fatal(err)
		}
		id := e.submitWith(t, nearest, ds, 1)
		if err := e.worker.Work(ctx, job(id, 1, 5)); err != nil {
			t.Fatal(err)
		}
		s := e.state(t, id)
		if s.status != store.StatusFinished || s.psnr != MaxPSNR {
			t.Errorf("state %+v, want finished at PSNR %v", s, MaxPSNR)
		}
		var per string
		e.pool.QueryRow(ctx, `SELECT per_image::text FROM results WHERE submission_id = $1`, id).Scan(&per)
		if !strings.Contains(per, `"psnr": 150`) && !strings.Contains(per, `"psnr":150`) {
			t.Errorf("per_image %s", per)
		}
		if last := s.logs[len(s.logs)-1]; !strings.Contains(last, "capped at 150 dB") {
			t.Errorf("final line %q", last)
		}
	})

	t.Run("missing model blob is final", func(t *testing.T) {
		model, _ := onnxbuild.Scaled(4, 0.5)
		id := e.submit(t, model)
		var sha string
		e.pool.QueryRow(ctx, `SELECT model_sha256 FROM submissions WHERE id = $1`, id).Scan(&sha)
		if err := e.blobs.Delete(context.Background(), sha); err != nil {
			t.Fatal(err)
		}
		err := e.worker.Work(ctx, job(id, 1, 5))
		var ce *river.JobCancelError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want JobCancel on the first attempt", err)
		}
		if s := e.state(t, id); s.status != store.StatusFailed || s.message != MissingModelMessage {
			t.Errorf("state %+v", s)
		}
	})

	t.Run("stale attempts cannot overwrite", func(t *testing.T) {
		id := e.submit(t, nearest)
		a1, _, _ := e.st.StartEvaluation(ctx, id, "w1")
		a2, _, _ := e.st.StartEvaluation(ctx, id, "w2") // rescued: a second worker runs it
		if ok, err := e.st.FinishEvaluation(ctx, &store.Result{SubmissionID: id, PSNR: 1, Device: "cpu"}, a1); ok || err != nil {
			t.Fatalf("stale finish applied=%v err=%v", ok, err)
		}
		if ok, err := e.st.FailEvaluation(ctx, id, a1, store.Failure{Outcome: "crashed", Charged: true, Message: "stale"}); ok || err != nil {
			t.Fatalf("stale fail applied=%v err=%v", ok, err)
		}
		if s := e.state(t, id); s.status != store.StatusRunning || s.results != 0 {
			t.Fatalf("a stale write changed %+v", s)
		}
		if ok, err := e.st.FinishEvaluation(ctx, &store.Result{SubmissionID: id, PSNR: 2, Device: "cpu", Sandbox: "x"}, a2); !ok || err != nil {
			t.Fatalf("current finish applied=%v err=%v", ok, err)
		}
		if ok, _ := e.st.FailEvaluation(ctx, id, a2, store.Failure{Outcome: "crashed", Charged: true, Message: "late"}); ok {
			t.Error("a fail after finish applied")
		}
		if s := e.state(t, id); s.status != store.StatusFinished || s.psnr != 2 {
			t.Errorf("state %+v", s)
		}
	})

	t.Run("panic before the start on the final attempt fails a queued submission", func(t *testing.T) {
		h := &ErrorHandler{Store: e.st, Log: slog.New(slog.DiscardHandler)}
		id := e.submit(t, nearest)
		row := &rivertype.JobRow{ID: 7, Kind: "evaluate", Attempt: 1, MaxAttempts: 2, EncodedArgs: []byte(fmt.Sprintf(`{"submission_id":%d}`, id))}
		h.HandlePanic(ctx, row, "boom", "trace")
		if s := e.state(t, id); s.status != store.StatusQueued {
			t.Fatalf("a non-final panic failed it: %+v", s)
		}
		row.Attempt = 2
		h.HandlePanic(ctx, row, "boom", "trace")
		if s := e.state(t, id); s.status != store.StatusFailed || s.message != InternalErrorMessage {
			t.Errorf("state %+v", s)
		}
		if r := h.HandleError(ctx, row, errors.New("x")); r != nil {
			t.Errorf("HandleError = %+v", r)
		}
	})

	t.Run("sweeper fails orphans only", func(t *testing.T) {
		old := func(id int64) {
			e.pool.Exec(ctx, `UPDATE submissions SET created_at = now() - interval '1 hour' WHERE id = $1`, id)
		}
		addJob := func(id int64, state string, finalizedAgo string) {
			_, err := e.pool.Exec(ctx, `
				INSERT INTO river_job (kind, args, state, queue, max_attempts, finalized_at)
				VALUES ('evaluate', jsonb_build_object('submission_id', $1::bigint), $2::river_job_state, 'eval_cpu', 5,
				        CASE WHEN $3 = '' THEN NULL ELSE now() - $3::interval END)`, id, state, finalizedAgo)
			if err != nil {
				t.Fatal(err)
			}
		}
		noJob := e.submit(t, nearest)
		old(noJob)
		discarded := e.submit(t, nearest)
		old(discarded)
		addJob(discarded, "discarded", "1 hour")
		e.st.StartEvaluation(ctx, discarded, "w")
		e.pool.Exec(ctx, `UPDATE submissions SET started_at = now() - interval '1 hour' WHERE id = $1`, discarded)
		live := e.submit(t, nearest)
		old(live)
		addJob(live, "retryable", "")
		fresh := e.submit(t, nearest) // its job may be inserted any moment
		justCancelled := e.submit(t, nearest)
		old(justCancelled)
		addJob(justCancelled, "cancelled", "10 seconds")
		// Admin re-run: an old discarded job and a new available one.
		rerun := e.submit(t, nearest)
		old(rerun)
		addJob(rerun, "discarded", "1 hour")
		addJob(rerun, "available", "")

		ids, err := SweepOrphans(ctx, e.st, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []int64{noJob, discarded}
		if fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("swept %v, want %v", ids, want)
		}
		for _, id := range want {
			if s := e.state(t, id); s.status != store.StatusFailed || s.message != InternalErrorMessage || len(s.logs) == 0 {
				t.Errorf("swept %d: %+v", id, s)
			}
		}
		for _, id := range []int64{live, fresh, justCancelled, rerun} {
			if s := e.state(t, id); s.status == store.StatusFailed {
				t.Errorf("%d swept although not orphaned", id)
			}
		}
	})
}

// TestPhaseThreads: a phase that names its ONNX Runtime threads overrides
// the worker's own setting (1 here), capped at the CPUs it may use, and the
// result's environment records what ran.
func TestPhaseThreads(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	model, _ := onnxbuild.Nearest(4)
	for _, tc := range []struct {
		phase *int
		want  int
	}{
		{nil, 1},
		{ptrInt(2), min(2, usableCPUs())},
		{ptrInt(256), usableCPUs()},
	} {
		var pid int64
		name := fmt.Sprintf("p%d", tc.want)
		if tc.phase == nil {
			name = "default"
		} else if *tc.phase == 256 {
			name = "many"
		}
		if err := e.pool.QueryRow(ctx, `INSERT INTO phases (challenge_id, name, ort_threads) VALUES ($1, $2, $3) RETURNING id`,
			e.chal, name, tc.phase).Scan(&pid); err != nil {
			t.Fatal(err)
		}
		d, err := blob.PutBytes(ctx, e.blobs, model)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := e.pool.QueryRow(ctx, `INSERT INTO submissions (challenge_id, phase_id, dataset_id, model_sha256, model_bytes)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, e.chal, pid, e.ds, d, len(model)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if err := e.worker.Work(ctx, job(id, 1, 5)); err != nil {
			t.Fatal(err)
		}
		var threads int
		if err := e.pool.QueryRow(ctx, `SELECT (environment->>'threads')::int FROM results WHERE submission_id = $1`, id).Scan(&threads); err != nil {
			t.Fatal(err)
		}
		if threads != tc.want {
			t.Errorf("phase %s: evaluated with %d threads, want %d", name, threads, tc.want)
		}
	}
}

func ptrInt(v int) *int { return &v }
