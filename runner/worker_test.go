package runner

import (
	"bytes"
	"context"
	"errors"
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
	e.worker = NewWorker(e.st, e.blobs, Options{ORTLib: lib, Threads: 1, Repeats: 2}, slog.New(slog.NewTextHandler(&logs, nil)))
	t.Cleanup(func() { t.Logf("worker log:\n%s", logs.String()) })
	return e
}

func (e *workerEnv) putPNG(t *testing.T, img *scoring.Image) string {
	var b bytes.Buffer
	if err := scoring.EncodePNG(&b, img); err != nil {
		t.Fatal(err)
	}
	d, err := e.blobs.PutBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (e *workerEnv) submit(t *testing.T, model []byte) int64 {
	d, err := e.blobs.PutBytes(model)
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
	})

	t.Run("infrastructure failure retries then fails", func(t *testing.T) {
		model, _ := onnxbuild.Nearest(4)
		id := e.submit(t, model)
		// Lose an HR blob: an infrastructure problem, not the model's.
		var hr string
		e.pool.QueryRow(ctx, `SELECT hr_sha256 FROM dataset_images WHERE name = '0802'`).Scan(&hr)
		if err := e.blobs.Delete(hr); err != nil {
			t.Fatal(err)
		}
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
		for _, l := range s.logs {
			if strings.Contains(l, hr) || strings.Contains(l, "/") && strings.Contains(l, "blob") {
				t.Errorf("participant log leaks storage details: %q", l)
			}
		}
	})
}
