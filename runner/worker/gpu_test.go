package worker

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/store"
)

// TestGPUWorkerSmoke: a worker on eval_gpu (CUDA, GPU 0) finishes a
// submission. It needs a GPU with the CUDA provider libraries beside
// libonnxruntime.so.1, so it runs only with SRARENA_GPU_SMOKE=1
// (bench/gpu-smoke.sh sets it).
func TestGPUWorkerSmoke(t *testing.T) {
	if os.Getenv("SRARENA_GPU_SMOKE") != "1" {
		t.Skip("set SRARENA_GPU_SMOKE=1 on a GPU machine (bench/gpu-smoke.sh)")
	}
	ortLib(t)
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	blobDir := t.TempDir()
	blobs, err := blob.NewDir(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	env := &workerEnv{blobs: blobs}
	model, err := onnxbuild.Nearest(4)
	if err != nil {
		t.Fatal(err)
	}
	sha, err := blob.PutBytes(ctx, blobs, model)
	if err != nil {
		t.Fatal(err)
	}
	var user, chal, ds int64
	pool.QueryRow(ctx, `INSERT INTO users (email, username, password_hash) VALUES ('g@p.u', 'gpu', 'x') RETURNING id`).Scan(&user)
	pool.QueryRow(ctx, `INSERT INTO challenges (slug, title, scale, rules, queue) VALUES ('gpu', 'gpu', 4, '{}', 'eval_gpu') RETURNING id`).Scan(&chal)
	pool.QueryRow(ctx, `INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'val', 'validation') RETURNING id`, chal).Scan(&ds)
	lr, hr := randImage(64, 48, 1), randImage(256, 192, 2)
	if _, err := pool.Exec(ctx, `INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, 'x', $2, $3)`,
		ds, env.putPNG(t, lr), env.putPNG(t, hr)); err != nil {
		t.Fatal(err)
	}
	w := startWorkerProcess(t, "gpu-worker", dbURL, blobDir, "WORKER_QUEUE="+jobs.QueueGPU)
	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := st.CreateSubmission(ctx, store.NewSubmission{ChallengeID: chal, UserID: user, DatasetID: ds, ModelSHA256: sha,
		ModelBytes: int64(len(model))}, store.Quota{}, func(ctx context.Context, tx pgx.Tx, id int64) error {
		_, err := inserter.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: id}, &river.InsertOpts{Queue: jobs.QueueGPU})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var status, device, message string
	waitFor(t, 3*time.Minute, "the GPU worker to finish the submission", func() bool {
		pool.QueryRow(ctx, `SELECT status, message FROM submissions WHERE id = $1`, id).Scan(&status, &message)
		return status == "finished" || status == "failed"
	})
	pool.QueryRow(ctx, `SELECT device FROM results WHERE submission_id = $1`, id).Scan(&device)
	if status != "finished" || device != "cuda" {
		t.Fatalf("status %s (%s), device %q; want finished on cuda (worker %s)", status, message, device, w.id)
	}
	t.Logf("finished on %s, device %s", w.id, device)
}
