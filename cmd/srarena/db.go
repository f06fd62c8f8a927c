package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srarena/srarena/internal/config"
	"github.com/srarena/srarena/internal/pgcluster"
)

// openDB connects to cfg.DatabaseURL. With embedded set and no URL, it starts
// the private cluster under DataDir/pg; stop then shuts it down.
func openDB(ctx context.Context, cfg config.Config, embedded bool, log *slog.Logger) (*pgxpool.Pool, func(), error) {
	url := cfg.DatabaseURL
	stop := func() {}
	if url == "" {
		if !embedded {
			return nil, nil, errors.New("DATABASE_URL (or --database-url) is required; `srarena up` starts a private database instead")
		}
		cl, err := pgcluster.New(filepath.Join(cfg.DataDir, "pg"), log)
		if err != nil {
			return nil, nil, err
		}
		if err := cl.Start(ctx); err != nil {
			// pg_ctl may have started the server before the failure (or
			// the Ctrl-C): leave nothing running behind us.
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cl.Stop(sctx)
			return nil, nil, err
		}
		url = cl.URL("srarena")
		stop = func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := cl.Stop(sctx); err != nil {
				log.Error("stopping PostgreSQL", "err", err)
			} else {
				log.Info("PostgreSQL stopped")
			}
		}
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	return pool, func() { pool.Close(); stop() }, nil
}

// service is what the long-running commands (serve, worker, up, migrate)
// start from: configuration, a logger and the database.
type service struct {
	cfg   config.Config
	log   *slog.Logger
	pool  *pgxpool.Pool
	close func()
}

// startService parses the shared flags and opens the database; with
// embedded, an unset DATABASE_URL starts the private cluster.
func startService(ctx context.Context, name, synopsis string, args []string, stdout, stderr io.Writer, embedded bool) (*service, error) {
	fs := newFlagSet(name, synopsis, stdout)
	config.Register(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	log := newLogger(stderr)
	pool, closeDB, err := openDB(ctx, cfg, embedded, log)
	if err != nil {
		return nil, err
	}
	return &service{cfg: cfg, log: log, pool: pool, close: closeDB}, nil
}
