// Command s3testd runs a command (the test suite) next to one private
// SeaweedFS S3 server, so every test binary of a `make test` run shares a
// single server instead of each starting its own:
//
//	go run ./internal/s3test/s3testd -- go test ./...
//
// The command sees SRARENA_TEST_S3_URL; the server is stopped and its data
// removed when the command exits. Without the weed binary the command runs
// without the variable (tests then skip, or fail under CI=true).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/srarena/srarena/internal/s3test"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: s3testd -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	os.Exit(run(args))
}

func run(args []string) int {
	env := os.Environ()
	if _, err := s3test.WeedBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "s3testd:", err)
		if os.Getenv("CI") == "true" {
			return 1
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		srv, err := s3test.Start(ctx)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "s3testd:", err)
			return 1
		}
		defer srv.Stop()
		env = append(env, s3test.EnvURL+"="+srv.URL)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = env
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "s3testd:", err)
		return 1
	}
	return 0
}
