package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/onnxmodel/onnxpb"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// workCatching runs w.Work, returning a panic it lets through.
func workCatching(ctx context.Context, w *Worker, id int64, attempt, max int) (err error, panicked any) {
	defer func() { panicked = recover() }()
	return w.Work(ctx, job(id, attempt, max)), nil
}

// withHook is a copy of e.worker that runs hook.
func (e *workerEnv) withHook(hook func(stage string) error) *Worker {
	w := *e.worker
	w.hook = hook
	return &w
}

func TestMaxPSNRAboveEveryFinitePSNR(t *testing.T) {
	// A single 1-level error: PSNR = 10·log10(255²·N) for N compared values.
	hr := randImage(40, 24, 5)
	sr := &scoring.Image{W: hr.W, H: hr.H, Pix: append([]uint8(nil), hr.Pix...)}
	i := 3 * (10*hr.W + 10) // inside the border
	if sr.Pix[i] < 255 {
		sr.Pix[i]++
	} else {
		sr.Pix[i]--
	}
	got, err := scoring.PSNR(sr, hr, 4)
	if err != nil {
		t.Fatal(err)
	}
	formula := func(n float64) float64 { return 10 * math.Log10(255*255*n) }
	if n := float64(3 * (hr.W - 8) * (hr.H - 8)); math.Abs(got-formula(n)) > 1e-9 {
		t.Fatalf("one 1-level error: PSNR %v, formula %v", got, formula(n))
	}
	for _, side := range []float64{2040, 8192, 4 * sandbox.MaxSide} {
		if p := formula(3 * side * side); p >= MaxPSNR {
			t.Errorf("a single 1-level error on a %v² image scores %.1f dB ≥ MaxPSNR %v: the cap would rank it with an exact output", side, p, MaxPSNR)
		}
	}
}

func TestWorkerReview(t *testing.T) {
	e := newWorkerEnv(t)
	ctx := context.Background()
	nearest, _ := onnxbuild.Nearest(4)

	t.Run("warm-up count stored", func(t *testing.T) {
		id := e.submit(t, nearest)
		if err := e.worker.Work(ctx, job(id, 1, 5)); err != nil {
			t.Fatal(err)
		}
		var warmup int
		if err := e.pool.QueryRow(ctx, `SELECT warmup FROM results WHERE submission_id = $1`, id).Scan(&warmup); err != nil {
			t.Fatal(err)
		}
		if warmup != 1 { // Options.Warmup's default
			t.Errorf("results.warmup = %d, want 1", warmup)
		}
	})

	t.Run("test split hides image names and sizes", func(t *testing.T) {
		var ds int64
		if err := e.pool.QueryRow(ctx, `INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'hidden', 'test') RETURNING id`, e.chal).Scan(&ds); err != nil {
			t.Fatal(err)
		}
		// Inserted out of order: "image 1" is the first by name, a 260×16
		// LR (wider than the fixed-size model's 1024/4).
		big, bigHR := randImage(260, 16, 71), randImage(4*260+1, 64+3, 72)
		for _, im := range []struct {
			name   string
			lr, hr *scoring.Image
		}{{"zz-secret-beta", e.lrs[1], e.hrs[1]}, {"aa-secret-alpha", big, bigHR}} {
			if _, err := e.pool.Exec(ctx, `INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, $2, $3, $4)`,
				ds, im.name, e.putPNG(t, im.lr), e.putPNG(t, im.hr)); err != nil {
				t.Fatal(err)
			}
		}
		x2 := fixedSizeModel(t)
		nan, _ := onnxbuild.Scaled(4, float32Nan())
		for _, tc := range []struct {
			name   string
			model  []byte
			status string
			msg    string
		}{
			{"finished", nearest, store.StatusFinished, ""},
			{"wrong scale", x2, store.StatusFailed, "output is not ×4 the input size on image 1 of 2"},
			{"NaN", nan, store.StatusFailed, "output contains NaN at image 1 of 2"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := e.submitWith(t, tc.model, ds, 1)
				e.worker.Work(ctx, job(id, 1, 5))
				s := e.state(t, id)
				if s.status != tc.status || !strings.Contains(s.message, tc.msg) {
					t.Errorf("status %q message %q, want %q containing %q", s.status, s.message, tc.status, tc.msg)
				}
				var per string
				e.pool.QueryRow(ctx, `SELECT coalesce((SELECT per_image::text FROM results WHERE submission_id = $1), '')`, id).Scan(&per)
				visible := append([]string{s.message, per}, s.logs...)
				for _, v := range visible {
					for _, leak := range []string{"secret", "alpha", "beta"} {
						if strings.Contains(v, leak) {
							t.Errorf("participant-visible text names a hidden image: %q", v)
						}
					}
				}
				// Neither LR (16×260) nor output (1×3×64×1024) sizes.
				for _, leak := range []string{"16", "260", "64", "1024", "1040", "channel"} {
					if strings.Contains(s.message, leak) {
						t.Errorf("message %q reveals %q", s.message, leak)
					}
				}
				if tc.status != store.StatusFinished {
					return
				}
				var imgs []struct {
					Name string  `json:"name"`
					PSNR float64 `json:"psnr"`
				}
				if err := json.Unmarshal([]byte(per), &imgs); err != nil {
					t.Fatal(err)
				}
				if len(imgs) != 2 || imgs[0].Name != "image 1" || imgs[1].Name != "image 2" {
					t.Fatalf("per_image %s", per)
				}
				// "image 1" is aa-secret-alpha.
				hr := scoring.ModCrop(bigHR, 4)
				if want, _ := scoring.PSNR(nearestUp(big, 4), hr, 4); imgs[0].PSNR != want {
					t.Errorf("image 1 PSNR %v, want %v (the first image by name)", imgs[0].PSNR, want)
				}
			})
		}
	})

	t.Run("stale final-attempt job failing before its start keeps a newer run", func(t *testing.T) {
		id := e.submit(t, nearest)
		if _, _, err := e.st.StartEvaluation(ctx, id, "worker B"); err != nil {
			t.Fatal(err)
		}
		w := e.withHook(func(stage string) error {
			if stage == "input" {
				return errors.New("database hiccup")
			}
			return nil
		})
		if err := w.Work(ctx, job(id, 5, 5)); err == nil {
			t.Fatal("want the infrastructure error")
		}
		if s := e.state(t, id); s.status != store.StatusRunning || s.attempts != 1 {
			t.Errorf("a stale job failed worker B's run: %+v", s)
		}
		// Still queued: the final attempt fails it.
		q := e.submit(t, nearest)
		w.Work(ctx, job(q, 5, 5))
		if s := e.state(t, q); s.status != store.StatusFailed || s.message != InternalErrorMessage {
			t.Errorf("queued submission after a final pre-start failure: %+v", s)
		}
	})

	t.Run("stale panic handler keeps a running submission", func(t *testing.T) {
		h := &ErrorHandler{Store: e.st, Log: slog.New(slog.DiscardHandler)}
		id := e.submit(t, nearest)
		e.st.StartEvaluation(ctx, id, "worker B")
		row := &rivertype.JobRow{ID: 8, Kind: "evaluate", Attempt: 3, MaxAttempts: 3, EncodedArgs: []byte(fmt.Sprintf(`{"submission_id":%d}`, id))}
		h.HandlePanic(ctx, row, "boom", "trace")
		if s := e.state(t, id); s.status != store.StatusRunning {
			t.Errorf("HandlePanic failed another job's run: %+v", s)
		}
	})

	t.Run("panic after the start fails that attempt only", func(t *testing.T) {
		boom := func(stage string) error {
			if stage == "started" {
				panic("boom")
			}
			return nil
		}
		id := e.submit(t, nearest)
		if _, p := workCatching(ctx, e.withHook(boom), id, 1, 2); p == nil {
			t.Fatal("the panic must reach River")
		}
		if s := e.state(t, id); s.status != store.StatusRunning {
			t.Fatalf("a non-final panic failed it: %+v", s)
		}
		if _, p := workCatching(ctx, e.withHook(boom), id, 2, 2); p == nil {
			t.Fatal("the panic must reach River")
		}
		if s := e.state(t, id); s.status != store.StatusFailed || s.message != InternalErrorMessage || s.attempts != 2 {
			t.Errorf("after a final panic: %+v", s)
		}
		// Rescued meanwhile: worker B started attempt 2 before A panicked.
		id2 := e.submit(t, nearest)
		_, p := workCatching(ctx, e.withHook(func(stage string) error {
			if stage == "started" {
				e.st.StartEvaluation(ctx, id2, "worker B")
				panic("boom")
			}
			return nil
		}), id2, 2, 2)
		if p == nil {
			t.Fatal("the panic must reach River")
		}
		if s := e.state(t, id2); s.status != store.StatusRunning || s.attempts != 2 {
			t.Errorf("a stale panic failed worker B's run: %+v", s)
		}
	})

	t.Run("shutdown on the final attempt is not a failure", func(t *testing.T) {
		stop := errors.New("stop initiated") // what River's StopAndCancel uses as cause
		// Cancelled during the evaluation.
		id := e.submit(t, nearest)
		sctx, cancel := context.WithCancelCause(ctx)
		w := e.withHook(func(stage string) error {
			if stage == "started" {
				cancel(stop)
			}
			return nil
		})
		err := w.Work(sctx, job(id, 3, 3))
		var ce *river.JobCancelError
		if !errors.Is(err, context.Canceled) || errors.As(err, &ce) {
			t.Errorf("err = %v, want one wrapping context.Canceled (River's soft stop)", err)
		}
		if s := e.state(t, id); s.status != store.StatusRunning || s.attempts != 1 {
			t.Errorf("shutdown failed the submission: %+v", s)
		}
		// Cancelled before it started.
		q := e.submit(t, nearest)
		if err := e.worker.Work(sctx, job(q, 3, 3)); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
		if s := e.state(t, q); s.status != store.StatusQueued {
			t.Errorf("shutdown failed a queued submission: %+v", s)
		}
		// The job's own timeout on the final attempt is a failure.
		dctx, dcancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer dcancel()
		if err := e.worker.Work(dctx, job(q, 3, 3)); err == nil {
			t.Error("want an error")
		}
		if s := e.state(t, q); s.status != store.StatusFailed || s.message != InternalErrorMessage {
			t.Errorf("after the final attempt timed out: %+v", s)
		}
	})

	t.Run("sweeper spares runs that may be alive", func(t *testing.T) {
		addJob := func(id int64, state string, finalizedAgo string) {
			_, err := e.pool.Exec(ctx, `
				INSERT INTO river_job (kind, args, state, queue, max_attempts, finalized_at, scheduled_at)
				VALUES ('evaluate', jsonb_build_object('submission_id', $1::bigint), $2::river_job_state, 'eval_cpu', 5,
				        CASE WHEN $3 = '' THEN NULL ELSE now() - $3::interval END, now() + interval '1 hour')`, id, state, finalizedAgo)
			if err != nil {
				t.Fatal(err)
			}
		}
		running := func(startedAgo string) int64 {
			id := e.submit(t, nearest)
			if _, _, err := e.st.StartEvaluation(ctx, id, "w"); err != nil {
				t.Fatal(err)
			}
			if _, err := e.pool.Exec(ctx, `UPDATE submissions SET created_at = now() - interval '5 hours',
				started_at = now() - $2::interval WHERE id = $1`, id, startedAgo); err != nil {
				t.Fatal(err)
			}
			return id
		}
		// Worker A's stale return completed the job that worker B re-runs.
		rescued1m := running("1 minute")
		addJob(rescued1m, "completed", "10 minutes")
		rescued10m := running("10 minutes")
		addJob(rescued10m, "completed", "8 minutes")
		rescued35m := running("35 minutes") // within 30 min + 2 min + 5 min
		addJob(rescued35m, "completed", "8 minutes")
		stuck := running("3 hours") // no worker can still be on it
		addJob(stuck, "completed", "2 hours")
		long := running("90 minutes") // alive under a 2-hour evaluation limit
		addJob(long, "completed", "80 minutes")
		live := map[string]int64{}
		for _, state := range []string{"available", "scheduled", "retryable", "pending", "running"} {
			id := running("4 hours")
			addJob(id, state, "")
			live[state] = id
		}

		ids, err := SweepOrphans(ctx, e.st, 2*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != fmt.Sprint([]int64{stuck}) {
			t.Errorf("2-hour limit: swept %v, want [%d]", ids, stuck)
		}
		ids, err = SweepOrphans(ctx, e.st, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids) != fmt.Sprint([]int64{long}) {
			t.Errorf("default limit: swept %v, want [%d]", ids, long)
		}
		for name, id := range map[string]int64{"1m": rescued1m, "10m": rescued10m, "35m": rescued35m} {
			if s := e.state(t, id); s.status != store.StatusRunning {
				t.Errorf("run started %s ago swept: %+v", name, s)
			}
		}
		for state, id := range live {
			if s := e.state(t, id); s.status != store.StatusRunning {
				t.Errorf("submission with a %s job swept: %+v", state, s)
			}
		}
	})
}

// fixedSizeModel outputs ×4 the input, cropped to 1024×1024: right for the
// 256×256 input the model check profiles, wrong for larger images.
func fixedSizeModel(t *testing.T) []byte {
	g := onnxbuild.New("fixed")
	g.AddInput(onnxbuild.ValueInfo(onnxbuild.Input, onnxpb.TensorProto_FLOAT, []onnxbuild.Dim{{Value: 1}, {Value: 3}, {Param: "h"}, {Param: "w"}}))
	g.AddOutput(onnxbuild.ValueInfo(onnxbuild.Output, onnxpb.TensorProto_FLOAT, []onnxbuild.Dim{{Value: 1}, {Value: 3}, {Param: "4h"}, {Param: "4w"}}))
	g.AddInitializer("scales", []int64{4}, []float32{1, 1, 4, 4})
	g.AddNode("Resize", []string{onnxbuild.Input, "", "scales"}, []string{"up"}, onnxbuild.AttrString("mode", "nearest"))
	g.AddInt64Initializer("starts", []int64{2}, []int64{0, 0})
	g.AddInt64Initializer("ends", []int64{2}, []int64{1024, 1024})
	g.AddInt64Initializer("axes", []int64{2}, []int64{2, 3})
	g.AddNode("Slice", []string{"up", "starts", "ends", "axes"}, []string{onnxbuild.Output})
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
