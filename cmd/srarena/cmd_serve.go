package main

import (
	"context"
	"fmt"
	"io"

	"github.com/srarena/srarena/internal/config"
	"github.com/srarena/srarena/store"
)

func init() {
	register(command{name: "serve", summary: "run the web server (needs DATABASE_URL; run `migrate` first)", run: runServe})
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags]", stdout)
	config.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := newLogger(stderr)
	pool, closeDB, err := openDB(ctx, cfg, false, log)
	if err != nil {
		return err
	}
	defer closeDB()
	blobs, err := openBlobs(cfg)
	if err != nil {
		return err
	}
	st := store.New(pool)
	jobsClient, err := newInsertOnlyClient(pool, log)
	if err != nil {
		return err
	}
	srv, err := newWebServer(cfg, st, blobs, jobsClient, log)
	if err != nil {
		return err
	}
	go sweepSessions(ctx, st, log)
	return srv.ListenAndServe(ctx)
}
