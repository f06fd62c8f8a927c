// Command srarena-sandbox is srarena's sandboxed child (and cgroup reaper)
// and nothing else. srarena starts it instead of re-executing itself when
// it lies next to srarena and comes from the same build (the same
// sandbox.BuildStamp, set by `make build` and the Dockerfile): it links
// only package sandbox and ONNX Runtime's bindings, so each of its start-ups
// (stage 1, stage 2, the reaper) costs ~3 ms instead of srarena's ~16 ms
// of package initialisation (templates, River, Prometheus, pgx, …), on the
// cores that decode the images meanwhile.
package main

import (
	"fmt"
	"os"

	"github.com/srarena/srarena/runner/sandbox"
)

func main() {
	sandbox.MaybeRunChild() // exits when os.Args asks for the child or the reaper
	fmt.Fprintln(os.Stderr, "srarena-sandbox: srarena starts this program itself; it takes no commands")
	os.Exit(2)
}
