package main

import (
	"context"
	"io"

	"github.com/srarena/srarena/runner/sandbox"
)

// The sandboxed evaluation child: started only by evaluate.Evaluate, never by
// hand. It takes everything from its stdin (see runner/sandbox/proto.go).
func init() {
	register(command{
		name:    sandbox.ChildArg,
		summary: "internal: sandboxed ONNX Runtime child",
		hidden:  true,
		run: func(_ context.Context, args []string, _, _ io.Writer) error {
			if code := sandbox.ChildMain(args); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	})
}

// The cgroup reaper: started by the sandbox with its first child cgroup; it
// removes that process's child cgroups once it is gone (runner/sandbox/orphan.go).
func init() {
	register(command{
		name:    sandbox.ReaperArg,
		summary: "internal: removes a dead parent's sandbox cgroups",
		hidden:  true,
		run: func(_ context.Context, args []string, _, _ io.Writer) error {
			if code := sandbox.ReaperMain(args); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	})
}

// exitCode carries the child's status; the parent only looks at how the
// process ended, the text goes to stderr.
type exitCode int

func (c exitCode) Error() string { return "sandbox child failed" }
