package sandbox

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/runner/outcome"
)

// TestORTFromPrivateDirectory: a checkout under a 0700 directory (a home
// directory) works on CUDA too: the library is staged where the sandbox uid
// can read it, so the child gets as far as the CUDA provider (absent here)
// instead of "Permission denied" on the library.
func TestORTFromPrivateDirectory(t *testing.T) {
	lib := ortLib(t)
	private := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	copyLib := filepath.Join(private, "libonnxruntime.so.1")
	b, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyLib, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := CheckReadableByAll(copyLib); err == nil || !strings.Contains(err.Error(), "not searchable by other users") {
			t.Errorf("CheckReadableByAll(private copy) = %v", err)
		}
	}
	root, err := os.MkdirTemp("", "srarena-stage-test-") // t.TempDir is 0700: not for the sandbox uid
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	stagedLib, err := StageORT(copyLib, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckReadableByAll(stagedLib); err != nil {
		t.Fatalf("staged copy: %v", err)
	}
	again, err := StageORT(copyLib, root)
	if err != nil || again != stagedLib {
		t.Fatalf("staging again: %q, %v; want the same copy %q", again, err, stagedLib)
	}
	// Someone else's directory of that name is refused.
	if os.Getuid() == 0 {
		if err := os.Chmod(filepath.Dir(stagedLib), 0o777); err != nil {
			t.Fatal(err)
		}
		if _, err := StageORT(copyLib, root); err == nil {
			t.Error("a world-writable staging directory was used")
		}
		os.Chmod(filepath.Dir(stagedLib), 0o755)
	}

	// The whole CUDA path from the private copy.
	cfg, err := NewConfig(DeviceCUDA, copyLib, 1, 1, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := Start(t.Context(), Spec{ORTLib: copyLib, Config: cfg, MemoryLimit: 2 << 30, LoadTimeout: 30 * time.Second,
		Logf: func(s string) { t.Log(s) }})
	if err == nil {
		s.Close()
		t.Skip("CUDA works here: nothing more to check")
	}
	if outcome.IsFinal(err) || !strings.Contains(err.Error(), "CUDA execution provider unavailable") {
		t.Fatalf("err = %v, want the CUDA provider's absence, not a library the sandbox cannot read", err)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("took %v", el)
	}
}
