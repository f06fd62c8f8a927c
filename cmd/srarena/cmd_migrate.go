package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/srarena/srarena/internal/config"
	"github.com/srarena/srarena/migrations"
)

func init() {
	register(command{name: "migrate", summary: "apply database migrations (srarena's and River's)", run: runMigrate})
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", "migrate [--database-url URL]", stdout)
	config.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(fs)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	pool, closeDB, err := openDB(ctx, cfg, false, log)
	if err != nil {
		return err
	}
	defer closeDB()
	applied, err := migrations.Up(ctx, pool)
	for _, name := range applied {
		fmt.Fprintln(stdout, "applied", name)
	}
	if err == nil && len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
	}
	return err
}
