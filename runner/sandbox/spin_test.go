package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

// TestNoSpinningAfterRun: once a response is in, the child's ORT threads
// burn no CPU (session.force_spinning_stop). The parent scores right after
// a response on every core, and with a baseline the other child runs next:
// threads left spinning took that CPU. Spinning stays on inside a run.
func TestNoSpinningAfterRun(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs for a 2-thread pool")
	}
	s := startCPU(t, 2, 3)
	defer s.Close()
	model, err := onnxbuild.ConvNet(4, 32, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(model); err != nil {
		t.Fatal(err)
	}
	const h, w = 96, 96
	pid := s.c.cmd.Process.Pid
	for img := range 3 {
		if _, err := s.Infer(fmt.Sprint(img), make([]float32, 3*h*w), h, w, 4*h, 4*w, make([]uint8, 3*16*h*w)); err != nil {
			t.Fatal(err)
		}
		// Blocked threads use nothing; a few wake-ups (Go's sysmon) stay
		// far below one spinning thread's 150 ms.
		if d := idleCPU(t, pid, 150*time.Millisecond); d > 15*time.Millisecond {
			t.Errorf("image %d: the idle child used %v of CPU in 150 ms after its response", img, d)
		}
	}
}

// TestNoSpinningAfterLoad: a session just created burns no CPU either
// (stopSpinning): a new pool's workers would spin ≈ 25 ms for work, while
// the parent decodes the images and the baseline's child starts.
func TestNoSpinningAfterLoad(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs for a 2-thread pool")
	}
	for i := range 3 {
		s := startCPU(t, 2, 1)
		model, err := onnxbuild.ConvNet(4, 32, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Load(model); err != nil {
			t.Fatal(err)
		}
		if d := idleCPU(t, s.c.cmd.Process.Pid, 150*time.Millisecond); d > 10*time.Millisecond {
			t.Errorf("session %d: the child used %v of CPU in the 150 ms after its session was ready", i, d)
		}
		// The session still runs, and its first run is the first to
		// compute anything.
		const h, w = 16, 16
		if _, err := s.Infer("img", make([]float32, 3*h*w), h, w, 4*h, 4*w, make([]uint8, 3*16*h*w)); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// idleCPU is the CPU time process pid uses over the next d, in which the
// test asks nothing of it.
func idleCPU(t *testing.T, pid int, d time.Duration) time.Duration {
	t.Helper()
	c0, err := taskCPU(pid)
	if err != nil {
		t.Skipf("no per-thread CPU time: %v", err)
	}
	time.Sleep(d)
	c1, err := taskCPU(pid)
	if err != nil {
		t.Fatal(err)
	}
	return c1 - c0
}

// taskCPU is the CPU time of every thread of process pid so far
// (/proc/PID/task/*/schedstat, ns).
func taskCPU(pid int) (time.Duration, error) {
	dirs, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	if err != nil || len(dirs) == 0 {
		return 0, fmt.Errorf("no threads of %d: %v", pid, err)
	}
	var sum time.Duration
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread has exited
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, fmt.Errorf("%s: %q", p, b)
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", p, err)
		}
		sum += time.Duration(ns)
	}
	return sum, nil
}
