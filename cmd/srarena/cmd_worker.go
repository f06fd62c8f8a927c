package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/srarena/srarena/runner/worker"
	"github.com/srarena/srarena/store"
)

func init() {
	register(command{name: "worker", summary: "run an evaluation worker (needs DATABASE_URL and the ONNX Runtime library)", run: runWorker})
}

func runWorker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	svc, err := startService(ctx, "worker", "worker [flags]", args, stdout, stderr, false)
	if err != nil {
		return err
	}
	defer svc.close()
	cfg, log := svc.cfg, svc.log
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return err
	}
	if blobs, err = workerBlobs(blobs, cfg); err != nil {
		return err
	}
	st := store.New(svc.pool)
	client, w, err := newWorkerClient(svc.pool, st, blobs, cfg, log)
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	hctx, stopBeat := context.WithCancel(context.WithoutCancel(ctx))
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		w.RunHeartbeat(hctx, worker.HeartbeatOptions{Queue: cfg.Queue})
	}()
	defer func() { stopBeat(); <-beat }()
	log.Info("worker: started", "queue", cfg.Queue, "concurrency", cfg.Concurrency, "threads", cfg.Threads)
	<-ctx.Done()
	return stopWorker(client, log)
}

type stopper interface {
	StopAndCancel(ctx context.Context) error
}

// stopWorker cancels running evaluations (their jobs are retried by another
// worker) and waits for the workers to return.
func stopWorker(c stopper, log interface{ Info(string, ...any) }) error {
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.StopAndCancel(sctx); err != nil {
		return fmt.Errorf("worker: stop: %w", err)
	}
	log.Info("worker: stopped")
	return nil
}
