package runner

import (
	"os"
	"strings"
	"testing"

	"github.com/srarena/srarena/internal/pgtest"
)

func TestMain(m *testing.M) {
	MaybeRunChild() // the test binary doubles as the sandboxed child
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "__fake-child-") {
		os.Exit(fakeChild(strings.TrimPrefix(os.Args[1], "__fake-child-")))
	}
	os.Exit(pgtest.Main(m))
}

// ortLib returns the ONNX Runtime library, skipping the test (failing under
// CI=true) when it is absent.
func ortLib(t testing.TB) string {
	t.Helper()
	lib, err := FindORT()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (required under CI=true)", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return lib
}
