// Command pgtestd runs a command (the test suite) next to one private
// PostgreSQL cluster, so that every test binary of a `make test` run shares a
// single server instead of each starting its own:
//
//	go run ./internal/pgtest/pgtestd -- go test ./...
//
// The command sees SRARENA_TEST_DATABASE_URL; the cluster is stopped and
// removed when it exits, however it exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/srarena/srarena/internal/pgcluster"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: pgtestd -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp("", "srarena-pgtestd-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtestd:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // the unprivileged server must reach it
	c, err := pgcluster.New(dir, log)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		err = c.Start(ctx)
		cancel()
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "pgtestd:", err)
		}
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtestd:", err)
		return 1
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "SRARENA_TEST_DATABASE_URL="+c.URL("postgres"))
	// Ctrl-C reaches the command through the terminal; we only wait for it
	// to finish, then stop the cluster.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "pgtestd:", err)
		return 1
	}
	return 0
}
