package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srarena/srarena/internal/config"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/internal/s3test"
	"github.com/srarena/srarena/runner/worker"
	"github.com/srarena/srarena/store"
)

// platform is the site as `srarena up` runs it, in-process: demo seed, web
// server and one worker, wired by the same functions as `srarena up`.
type platform struct {
	url         string
	dbURL       string // for the operator commands
	startWorker func()
	// reseed runs the demo seed again (it must be a no-op).
	reseed func() (created bool, err error)
	pool   *pgxpool.Pool
	// bucket is the S3 bucket of an "s3" platform.
	bucket string
}

// startPlatform serves the seeded site. The worker waits for startWorker, so
// a test can look at submissions before any is evaluated.
func startPlatform(t *testing.T, ortLib string) *platform {
	t.Helper()
	return startPlatformOn(t, ortLib, "local")
}

// startPlatformOn is startPlatform with the blob store chosen: "local" (a
// directory) or "s3" (a fresh bucket of the real S3 test server, with
// credentials from the environment as in production).
func startPlatformOn(t *testing.T, ortLib, blobStore string) *platform {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dbURL := pgtest.URL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	cfg := config.Config{
		DataDir: t.TempDir(), ORTLib: ortLib, Queue: "eval_cpu", Concurrency: 1, Threads: 2, Repeats: 2,
		EvalTimeout: 2 * time.Minute, MemoryLimitMB: 4096, BaseURL: "http://127.0.0.1",
	}
	var bucket string
	if blobStore == "s3" {
		var endpoint string
		endpoint, bucket = s3test.Bucket(t)
		cfg.BlobStore, cfg.S3Endpoint, cfg.S3Bucket, cfg.S3Region, cfg.S3PathStyle = "s3", endpoint, bucket, "us-east-1", true
		cfg.BlobCacheDir, cfg.BlobCacheMB = t.TempDir(), 64
		t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cached, err := workerBlobs(blobs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(pool)
	client, w, err := newWorkerClient(pool, st, cached, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if created, err := seedDemo(ctx, st, blobs, client); err != nil || !created {
		t.Fatalf("seed: created=%v err=%v", created, err)
	}
	srv, err := newWebServer(cfg, st, blobs, client, log, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartQueueUI(ctx); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	var once sync.Once
	reseed := func() (bool, error) { return seedDemo(ctx, st, blobs, client) }
	return &platform{url: ts.URL, dbURL: dbURL, reseed: reseed, pool: pool, bucket: bucket, startWorker: func() {
		once.Do(func() {
			if err := client.Start(ctx); err != nil {
				t.Fatal(err)
			}
			// The worker's heartbeat, as `srarena worker` runs it: the
			// operations view and /metrics read its row.
			hctx, stopBeat := context.WithCancel(ctx)
			beat := make(chan struct{})
			go func() {
				defer close(beat)
				w.RunHeartbeat(hctx, worker.HeartbeatOptions{Queue: cfg.Queue, Interval: time.Second})
			}()
			t.Cleanup(func() { client.StopAndCancel(context.Background()); stopBeat(); <-beat })
		})
	}}
}
