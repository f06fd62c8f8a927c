package evaluate

import (
	"os"
	"testing"

	"github.com/srarena/srarena/internal/ortlib"
	"github.com/srarena/srarena/runner/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.MaybeRunChild() // the test binary doubles as the sandboxed child
	os.Exit(m.Run())
}

// ortLib returns the ONNX Runtime library, skipping the test (failing under
// CI=true) when it is absent.
func ortLib(t testing.TB) string { return ortlib.Find(t) }
