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
	"github.com/srarena/srarena/store"
)

// platform is the site as `srarena up` runs it, in-process: demo seed, web
// server and one worker, wired by the same functions as `srarena up`.
type platform struct {
	url         string
	pool        *pgxpool.Pool
	startWorker func()
	// reseed runs the demo seed again (it must be a no-op).
	reseed func() (created bool, err error)
}

// startPlatform serves the seeded site. The worker waits for startWorker, so
// a test can look at submissions before any is evaluated.
func startPlatform(t *testing.T, ortLib string) *platform {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool := pgtest.NewPool(t)
	cfg := config.Config{
		DataDir: t.TempDir(), ORTLib: ortLib, Queue: "eval_cpu", Concurrency: 1, Threads: 2, Repeats: 2,
		EvalTimeout: 2 * time.Minute, MemoryLimitMB: 4096, BaseURL: "http://127.0.0.1",
	}
	blobs, err := openBlobs(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(pool)
	client, err := newWorkerClient(pool, st, blobs, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if created, err := seedDemo(ctx, st, blobs, client); err != nil || !created {
		t.Fatalf("seed: created=%v err=%v", created, err)
	}
	srv, err := newWebServer(cfg, st, blobs, client, log)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	var once sync.Once
	reseed := func() (bool, error) { return seedDemo(ctx, st, blobs, client) }
	return &platform{url: ts.URL, pool: pool, reseed: reseed, startWorker: func() {
		once.Do(func() {
			if err := client.Start(ctx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { client.StopAndCancel(context.Background()) })
		})
	}}
}
