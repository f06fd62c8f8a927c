package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/internal/config"
	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/onnxmodel"
	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/runner/worker"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/web"
)

// openBlobs opens the configured blob store: DATA_DIR/blobs, or the S3
// bucket.
func openBlobs(ctx context.Context, cfg config.Config) (blob.Store, error) {
	if cfg.BlobStore != "s3" {
		return blob.NewDir(filepath.Join(cfg.DataDir, "blobs"))
	}
	return blob.NewS3(ctx, s3Config(cfg))
}

func s3Config(cfg config.Config) blob.S3Config {
	return blob.S3Config{
		Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region, Prefix: cfg.S3Prefix,
		PathStyle: cfg.S3PathStyle, CreateBucket: cfg.S3CreateBucket,
	}
}

// workerBlobs puts a bounded local cache in front of a remote store: every
// evaluation of a dataset reads the same hidden images.
func workerBlobs(blobs blob.Store, cfg config.Config) (blob.Store, error) {
	if cfg.BlobStore != "s3" {
		return blobs, nil
	}
	return blob.NewCache(blobs, cfg.BlobCacheDir, int64(cfg.BlobCacheMB)<<20)
}

// newInsertOnlyClient enqueues jobs without working them (the web side).
func newInsertOnlyClient(pool *pgxpool.Pool, log *slog.Logger) (*river.Client[pgx.Tx], error) {
	c, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: riverLogger(log)})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return c, nil
}

// newWorkerClient works evaluation jobs from cfg.Queue, and the periodic
// maintenance sweep. The returned worker's RunHeartbeat must run while the
// client does.
func newWorkerClient(pool *pgxpool.Pool, st *store.Store, blobs blob.Store, cfg config.Config, log *slog.Logger) (*river.Client[pgx.Tx], *worker.Worker, error) {
	lib := cfg.ORTLib
	if lib == "" {
		var err error
		if lib, err = sandbox.FindORT(); err != nil {
			return nil, nil, err
		}
	} else if _, err := os.Stat(lib); err != nil {
		return nil, nil, fmt.Errorf("ONNX Runtime library: %w", err)
	}
	opt := evaluate.Options{
		ORTLib:       lib,
		Threads:      cfg.Threads,
		Repeats:      cfg.Repeats,
		TotalTimeout: cfg.EvalTimeout,
		MemoryLimit:  int64(cfg.MemoryLimitMB) << 20,
		Device:       worker.DeviceForQueue(cfg.Queue),
		GPU:          cfg.GPU,
		Nice:         cfg.Nice,
		Realtime:     cfg.Realtime,
		// Operator opt-in only; the runner warns on every evaluation.
		InsecureSandbox: cfg.InsecureSandbox,
	}
	// The sandbox uid must be able to read the library (and, on CUDA, the
	// provider libraries beside it): say so now, not in every evaluation.
	if _, err := sandbox.PrepareORT(lib, opt.Device); err != nil {
		return nil, nil, fmt.Errorf("worker: ONNX Runtime for the sandbox: %w", err)
	}
	// What a crash of an earlier worker on this machine left behind.
	if cgs := sandbox.SweepLeftovers(); len(cgs) > 0 {
		log.Warn("worker: removed sandbox cgroups a crashed process left behind", "cgroups", cgs)
	}
	// Only a local directory has temporaries of its own; an S3 upload that
	// fails is aborted by the store, and tmp/ has a bucket lifecycle rule.
	if d, ok := blobs.(interface {
		SweepTemporaries(time.Duration) (int, error)
	}); ok {
		if n, err := d.SweepTemporaries(blob.TempMaxAge); err != nil {
			log.Warn("worker: sweeping upload temporaries", "err", err)
		} else if n > 0 {
			log.Warn("worker: removed upload temporaries an interrupted upload left behind", "files", n)
		}
	}
	w := worker.NewWorker(st, blobs, opt, log)
	sw := worker.NewSweeper(st, worker.SweeperOptions{EvalTimeout: cfg.EvalTimeout, Log: log})
	c, err := river.NewClient(riverpgxv5.New(pool), worker.RiverConfig(w, sw, cfg.Queue, cfg.Concurrency, riverLogger(log)))
	if err != nil {
		return nil, nil, fmt.Errorf("job queue: %w", err)
	}
	return c, w, nil
}

// newWebServer builds the web server; demoLogin lets the demo account log in
// (`srarena up` on loopback with its private database only).
func newWebServer(cfg config.Config, st *store.Store, blobs blob.Store, jobsClient domain.Jobs, log *slog.Logger, demoLogin bool) (*web.Server, error) {
	conns := cfg.MaxConnsPerIP
	if conns <= 0 {
		conns = -1 // web: negative is off, 0 the default
	}
	return web.New(web.Config{Addr: cfg.Addr, BaseURL: cfg.BaseURL, DemoLogin: demoLogin, MaxConnsPerIP: conns,
		TrustedProxies: cfg.TrustedProxies, MetricsToken: cfg.MetricsToken, MetricsAllow: cfg.MetricsAllow}, web.Deps{
		Log: log, Store: st, Blobs: blobs, Jobs: jobsClient, River: riverClientOf(jobsClient),
	})
}

// riverClientOf is the River client behind jobsClient, for River's UI;
// nil when it is something else (a test double).
func riverClientOf(j domain.Jobs) *river.Client[pgx.Tx] {
	c, _ := j.(*river.Client[pgx.Tx])
	return c
}

// seedDemo creates the demo challenge and its baseline on an empty database.
func seedDemo(ctx context.Context, st *store.Store, blobs blob.Store, jobsClient domain.Jobs) (bool, error) {
	return demo.Seed(ctx, st, blobs, func(ctx context.Context, tx pgx.Tx, challengeID, datasetID int64, model []byte, sha string) error {
		rep, err := onnxmodel.Inspect(model, onnxmodel.Options{Scale: 4})
		if err != nil {
			return err
		}
		if !rep.Valid {
			return fmt.Errorf("baseline model rejected: %w", rep.Err())
		}
		profile, err := json.Marshal(rep.Profile)
		if err != nil {
			return err
		}
		id, err := store.CreateBaselineSubmission(ctx, tx, challengeID, datasetID, "bicubic ×4 (baseline)", sha, int64(len(model)), profile)
		if err != nil {
			return err
		}
		_, err = jobsClient.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: id}, &river.InsertOpts{Queue: jobs.QueueCPU})
		return err
	})
}

// sweepSessions deletes expired sessions and old rate-limit events hourly
// until ctx ends. Every web
// server runs it; the DELETE is idempotent, so several at once do no harm.
func sweepSessions(ctx context.Context, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := st.DeleteExpiredSessions(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweeping expired sessions", "err", err)
		} else if n > 0 {
			log.Info("swept expired sessions", "count", n)
		}
		// Rate-limit events older than the longest window count for nothing.
		if _, err := st.RateSweep(ctx, time.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			log.Warn("sweeping rate-limit events", "err", err)
		}
		// Leases of processes that died, for users who did not upload since.
		if _, err := st.LeaseSweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweeping expired leases", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
