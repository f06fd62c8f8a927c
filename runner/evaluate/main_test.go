package evaluate

import (
	"os"
	"testing"

	"github.com/srarena/srarena/runner/sandbox"
)

func TestMain(m *testing.M) {
	sandbox.MaybeRunChild() // the test binary doubles as the sandboxed child
	os.Exit(m.Run())
}

// ortLib returns the ONNX Runtime library, skipping the test (failing under
// CI=true) when it is absent.
func ortLib(t testing.TB) string {
	t.Helper()
	lib, err := sandbox.FindORT()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (required under CI=true)", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return lib
}
