// Command srarena is the single binary of the platform: web server, worker,
// migrations, the all-in-one local mode and the offline tools. main only
// wires: each subcommand lives in its own cmd_*.go file and registers itself.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"

	"github.com/srarena/srarena/runner/sandbox"
)

// command is one subcommand. run gets the arguments after the subcommand
// name; it returns errUsage (wrapped or not) to have the usage printed.
type command struct {
	name    string
	summary string
	hidden  bool
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("srarena: duplicate command " + c.name)
	}
	commands[c.name] = c
}

var errUsage = errors.New("usage")

// exitError ends a command with a chosen exit status (the client commands:
// 1 the model was rejected or failed, 2 usage, authentication or network).
type exitError struct {
	code int
	err  error // printed; nil prints nothing more
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usage(w io.Writer) {
	fmt.Fprintln(w, "srarena: efficient image super-resolution challenges.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: srarena COMMAND [flags]   (srarena COMMAND --help for its flags)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n, c := range commands {
		if !c.hidden {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "srarena: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.run(ctx, args[1:], stdout, stderr)
	// Sandboxed children whose orderly exit nobody waited for
	// (sandbox.Session.Close) are reaped before this process goes, so that
	// no cgroup outlives it.
	sandbox.Drain(10 * time.Second)
	var ee *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintf(stderr, "srarena %s: %v\n", c.name, ee.err)
		}
		return ee.code
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "srarena %s: %v\n", c.name, err)
		return 2
	default:
		fmt.Fprintf(stderr, "srarena %s: %v\n", c.name, err)
		return 1
	}
}

// newFlagSet returns a FlagSet whose errors are returned, not fatal, and whose
// --help output goes to stdout.
func newFlagSet(name, synopsis string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: srarena %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// printJSON writes v indented, the --json output of every command.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
