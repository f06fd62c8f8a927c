package main

import (
	"context"
	"fmt"
	"io"

	"github.com/srarena/srarena/migrations"
)

func init() {
	register(command{name: "migrate", summary: "apply database migrations (srarena's and River's)", run: runMigrate})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	svc, err := startService(ctx, "migrate", "migrate [--database-url URL]", args, stdout, stderr, false)
	if err != nil {
		return err
	}
	defer svc.close()
	applied, err := migrations.Up(ctx, svc.pool)
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	if err == nil && len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	return err
}
