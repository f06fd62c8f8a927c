package main

import (
	"context"
	"fmt"
	"io"

	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/store"
)

func init() {
	register(command{name: "seed", summary: "create the demo challenge and queue its baseline when the database has no challenge (after migrate)", run: runSeed})
}

// runSeed is `srarena up`'s demo seed for deployments where web servers and
// workers are separate processes (docker-compose, the compose smoke test).
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	svc, err := startService(ctx, "seed", "seed [flags]", args, stdout, stderr, false)
	if err != nil {
		return err
	}
	defer svc.close()
	blobs, err := openBlobs(ctx, svc.cfg)
	if err != nil {
		return err
	}
	jobsClient, err := newInsertOnlyClient(svc.pool, svc.log)
	if err != nil {
		return err
	}
	created, err := seedDemo(ctx, store.New(svc.pool), blobs, jobsClient)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stdout, "created the demo challenge %s; its baseline is queued\n", demo.Slug)
	} else {
		fmt.Fprintln(stdout, "the database has a challenge already; nothing to do")
	}
	return nil
}
