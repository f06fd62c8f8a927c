package main

import (
	"context"
	"errors"
	"fmt"
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
