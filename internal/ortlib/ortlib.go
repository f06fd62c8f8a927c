// Package ortlib finds the ONNX Runtime library for tests outside the
// sandbox package: absent, it skips the test with a message, except under
// CI=true, where the absence is a failure (as internal/fixtures does for
// the fixtures). The sandbox package's own tests keep a copy: they cannot
// import a package that imports theirs.
package ortlib

import (
	"os"
	"testing"

	"github.com/srarena/srarena/runner/sandbox"
)

// Find returns the library's path (sandbox.FindORT), or skips tb.
func Find(tb testing.TB) string {
	tb.Helper()
	lib, err := sandbox.FindORT()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (required under CI=true)", err)
		}
		tb.Skipf("skipping: %v", err)
	}
	return lib
}
