package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/migrations"
	"github.com/srarena/srarena/runner/worker"
	"github.com/srarena/srarena/store"
)

// The demo login is printed on every start; it is for local use only.
const (
	demoUser     = "demo"
	demoEmail    = handlers.DemoEmail
	demoPassword = "demo-password"
)

func init() {
	register(command{name: "up", summary: "run everything locally: private PostgreSQL, migrations, demo challenge, web, one worker", run: runUp})
}

func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	svc, err := startService(ctx, "up", "up [flags]", args, stdout, stderr, true)
	if err != nil {
		return err
	}
	defer svc.close()
	cfg, log, pool := svc.cfg, svc.log, svc.pool
	if _, err := migrations.Up(ctx, pool); err != nil {
		return err
	}
	blobs, err := openBlobs(ctx, cfg)
	if err != nil {
		return err
	}
	cached, err := workerBlobs(blobs, cfg)
	if err != nil {
		return err
	}
	st := store.New(pool)
	client, w, err := newWorkerClient(pool, st, cached, cfg, log)
	if err != nil {
		return err
	}
	if cfg.Seed {
		created, err := seedDemo(ctx, st, blobs, client)
		if err != nil {
			return err
		}
		if created {
			log.Info("seeded the demo challenge; its baseline is queued for evaluation", "challenge", demo.Slug)
		}
	}
	// The well-known demo password is only acceptable for the private
	// database on a loopback address: never on a shared database or a
	// reachable port.
	demoLogin := cfg.Seed && cfg.DatabaseURL == "" && isLoopback(cfg.Addr)
	if demoLogin {
		hasher, err := handlers.NewHasher(handlers.DefaultArgon2)
		if err != nil {
			return err
		}
		hash, err := hasher.Hash(demoPassword)
		if err != nil {
			return err
		}
		if err := st.EnsureUser(ctx, demoEmail, demoUser, hash, true); err != nil {
			return err
		}
	}
	srv, err := newWebServer(cfg, st, blobs, client, log, demoLogin)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	if err := client.Start(ctx); err != nil {
		ln.Close()
		return fmt.Errorf("worker: %w", err)
	}

	base := strings.TrimRight(cfg.BaseURL, "/")
	if strings.HasSuffix(base, ":0") || cfg.BaseURL == "http://"+cfg.Addr {
		base = "http://" + ln.Addr().String()
	}
	fmt.Fprintf(stdout, "srarena is up: %s\n", base)
	if cfg.Seed {
		fmt.Fprintf(stdout, "  demo challenge: %s/c/%s/leaderboard\n", base, demo.Slug)
	}
	if demoLogin {
		fmt.Fprintf(stdout, "  demo login:     %s / %s   (organizer rights; local use only)\n", demoUser, demoPassword)
	}
	fmt.Fprintln(stdout, "Ctrl-C stops the server, the worker and PostgreSQL.")

	g, gctx := errgroup.WithContext(ctx)
	go sweepSessions(gctx, st, log)
	go w.RunHeartbeat(gctx, worker.HeartbeatOptions{Queue: cfg.Queue})
	g.Go(func() error { return srv.Serve(gctx, ln) })
	g.Go(func() error {
		<-gctx.Done()
		return stopWorker(client, log)
	})
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// isLoopback reports whether a listen address only accepts local connections.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
