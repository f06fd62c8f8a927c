package main

import (
	"context"
	"io"

	"github.com/srarena/srarena/store"
)

func init() {
	register(command{name: "serve", summary: "run the web server (needs DATABASE_URL; run `migrate` first)", run: runServe})
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	svc, err := startService(ctx, "serve", "serve [flags]", args, stdout, stderr, false)
	if err != nil {
		return err
	}
	defer svc.close()
	blobs, err := openBlobs(ctx, svc.cfg)
	if err != nil {
		return err
	}
	st := store.New(svc.pool)
	jobsClient, err := newInsertOnlyClient(svc.pool, svc.log)
	if err != nil {
		return err
	}
	// serve never lets the demo account in, whatever the database holds.
	srv, err := newWebServer(svc.cfg, st, blobs, jobsClient, svc.log, false)
	if err != nil {
		return err
	}
	go sweepSessions(ctx, st, svc.log)
	return srv.ListenAndServe(ctx)
}
