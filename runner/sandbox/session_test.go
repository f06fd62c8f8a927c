package sandbox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/scoring"
)

// TestCloseEndsOrderly: Close on a session nobody called End on tells the
// child that no image follows and the child exits by itself at once; it
// used to wait 5 s and then kill it (End did nothing once Close had marked
// the session closed).
func TestCloseEndsOrderly(t *testing.T) {
	s := startCPU(t, 1, 1)
	model, _ := onnxbuild.Nearest(4)
	if err := s.Load(model); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Infer("img", make([]float32, 3*8*8), 8, 8, 32, 32, make([]uint8, 3*32*32)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	s.Close()
	if !Drain(5 * time.Second) {
		t.Fatal("the child was not reaped within 5 s of Close")
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Close and Drain took %v", d)
	}
	if s.c.waitErr != nil || s.c.killed.Load() != nil {
		t.Errorf("the child did not exit by itself: %v", s.c.waitErr)
	}
}

// TestCloseLeavesExitToDrain: after an orderly end Close returns the
// child's lifetime peak RSS (the largest high-water mark it reported) and
// leaves the child's exit (the kernel freeing its memory) to a goroutine;
// Drain then finds it reaped and its cgroup gone. That Close no longer waits is shown by
// bench/overhead.sh's "close" phase, not here.
func TestCloseLeavesExitToDrain(t *testing.T) {
	s := startCPU(t, 1, 1)
	cg := ""
	if s.c.cg != nil {
		cg = s.c.cg.dir
	}
	model, _ := onnxbuild.Nearest(4)
	if err := s.Load(model); err != nil {
		t.Fatal(err)
	}
	// A large image, then a small one.
	big, small := 512, 8
	r, err := s.Infer("big", make([]float32, 3*big*big), big, big, 4*big, 4*big, make([]uint8, 3*16*big*big))
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.Infer("small", make([]float32, 3*small*small), small, small, 4*small, 4*small, make([]uint8, 3*16*small*small))
	if err != nil {
		t.Fatal(err)
	}
	outBytes := int64(3 * 16 * big * big * 4) // the big image's float32 output tensor
	peak := s.Close()
	if peak < outBytes {
		t.Errorf("Close: peak %d bytes, below the big image's %d-byte output tensor", peak, outBytes)
	}
	if peak < r.HWM || peak < last.HWM || peak < s.Ready.HWM {
		t.Errorf("Close: peak %d bytes, below a high-water mark: loading %d, images %d and %d", peak, s.Ready.HWM, r.HWM, last.HWM)
	}
	if again := s.Close(); again != peak {
		t.Errorf("second Close: %d, first %d", again, peak)
	}
	if !Drain(5 * time.Second) {
		t.Fatal("the child was not reaped within 5 s of Close")
	}
	if s.c.waitErr != nil || s.c.killed.Load() != nil {
		t.Errorf("the child did not exit by itself: %v", s.c.waitErr)
	}
	if _, err := os.Stat(cg); cg != "" && !os.IsNotExist(err) {
		t.Errorf("cgroup %s after Drain: %v", cg, err)
	}
}

// startCPU starts a ×4 CPU session with threads ORT threads and runs runs
// per image.
func startCPU(t *testing.T, threads, runs int) *Session {
	t.Helper()
	lib := ortLib(t)
	cfg, err := NewConfig(DeviceCPU, lib, threads, runs, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scale = 4
	s, err := Start(context.Background(), Spec{ORTLib: lib, Config: cfg, MemoryLimit: 2 << 30, Logf: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDrainCounts: Drain times out while a child is still exiting, returns
// once the last one is reaped, and tolerates new exits arriving while a
// Drain that timed out is gone (a sync.WaitGroup reused so panics).
func TestDrainCounts(t *testing.T) {
	e := &exitCount{}
	if !e.wait(time.Millisecond) {
		t.Fatal("nothing exiting: false")
	}
	e.add()
	if e.wait(10 * time.Millisecond) {
		t.Fatal("a child exiting: true")
	}
	e.add() // arrives after a wait gave up
	done := make(chan bool)
	go func() { done <- e.wait(5 * time.Second) }()
	e.done()
	e.done()
	if !<-done {
		t.Fatal("after the last exit: false")
	}
	e.add()
	e.done()
	if !e.wait(time.Millisecond) {
		t.Fatal("after a second round: false")
	}
}

// TestReserve: once the shared output buffer is reserved for the largest
// output, images of any size up to it are served from the one mapping the
// parent made (no remap inside a request), and their outputs are right.
// The reserve is far larger than the images: the child must not populate
// all of it in the first (tiny) image's request, whose CPU the parent
// allows for that image only (a false "crashed" verdict otherwise).
func TestReserve(t *testing.T) {
	s := startCPU(t, 1, 1)
	defer s.Close()
	if s.c.shm == nil {
		t.Skip("no shared output buffer on this machine (memfd unavailable)")
	}
	model, _ := onnxbuild.Nearest(4)
	if err := s.Load(model); err != nil {
		t.Fatal(err)
	}
	if hostSwap() {
		t.Log("this host has swap, so the CPU-clock check is off: only the mapping and the outputs are checked")
	}
	largest := 256 << 20
	if err := s.Reserve(largest); err != nil {
		t.Fatal(err)
	}
	mapped := &s.c.shm.buf[0]
	for _, side := range []int{8, 24, 16} {
		lr := scoring.NewImage(side, side)
		for i := range lr.Pix {
			lr.Pix[i] = uint8(i*7 + side)
		}
		out := make([]uint8, 3*16*side*side)
		if _, err := s.Infer("img", scoring.ToCHW(lr), side, side, 4*side, 4*side, out); err != nil {
			t.Fatal(err)
		}
		if len(s.c.shm.buf) != largest || &s.c.shm.buf[0] != mapped {
			t.Fatalf("%d×%d: the output buffer was mapped again (%d bytes)", side, side, len(s.c.shm.buf))
		}
		for y := 0; y < 4*side; y++ {
			for x := 0; x < 4*side; x++ {
				for c := 0; c < 3; c++ {
					if got, want := out[3*(y*4*side+x)+c], lr.Pix[3*((y/4)*side+x/4)+c]; got != want {
						t.Fatalf("%d×%d: output (%d,%d,%d) = %d, want %d", side, side, x, y, c, got, want)
					}
				}
			}
		}
	}
}

// TestRenice: with Spec.Nice, every thread of the child (ORT's pool
// included) runs at that niceness once the model is loaded (set before it
// is sent, inherited by the threads created since), and
// Session.Nice says so; where lowering it is not allowed the threads keep
// their priority and Session.Nice is 0.
func TestRenice(t *testing.T) {
	s := loadedESPCN(t, Spec{Nice: -5})
	if !mayLowerNice() {
		if s.Nice != 0 {
			t.Fatalf("Session.Nice %d without the right to lower it", s.Nice)
		}
		t.Skip("not root: only the fallback checked")
	}
	if s.Nice != -5 {
		t.Fatalf("Session.Nice %d, want -5", s.Nice)
	}
	dir := "/proc/" + strconv.Itoa(s.c.cmd.Process.Pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) < 3 { // Go's threads and ORT's second intra-op thread
		t.Fatalf("only %d threads in the child", len(tasks))
	}
	for _, e := range tasks {
		b, err := os.ReadFile(dir + "/" + e.Name() + "/stat")
		if err != nil {
			continue // exited
		}
		if n := statNice(b); n != -5 {
			t.Errorf("thread %s has nice %d, want -5", e.Name(), n)
		}
	}
	if _, err := s.Infer("img", make([]float32, 3*8*8), 8, 8, 32, 32, make([]uint8, 3*32*32)); err != nil {
		t.Fatal(err)
	}
}

// loadedESPCN starts a child of spec (its priority settings and Logf) with
// 2 ORT threads on the CPU and loads an ESPCN ×4 into it; it closes with
// the test.
func loadedESPCN(t *testing.T, spec Spec) *Session {
	t.Helper()
	lib := ortLib(t)
	cfg, err := NewConfig(DeviceCPU, lib, 2, 1, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scale = 4
	spec.ORTLib, spec.Config, spec.MemoryLimit = lib, cfg, 2<<30
	if spec.Logf == nil {
		spec.Logf = func(string) {}
	}
	s, err := Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	model, _ := onnxbuild.ESPCN(4, 1)
	if err := s.Load(model); err != nil {
		t.Fatal(err)
	}
	return s
}

// statNice is the nice value in a /proc/…/stat line (field 19).
func statNice(stat []byte) int { return statField(stat, 19, 100) }

// statField is field n of a /proc/…/stat line (numbered as in proc(5):
// the fields after the ")" that ends the command name start at 3), or bad
// when it is not a number.
func statField(stat []byte, n, bad int) int {
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	v, err := strconv.Atoi(f[n-3])
	if err != nil {
		return bad
	}
	return v
}

// mayLowerNice says whether this process may lower a thread's niceness
// (root with CAP_SYS_NICE; a container's root may lack it): it tries on a
// thread of its own and puts the value back.
func mayLowerNice() bool {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b, err := os.ReadFile("/proc/thread-self/stat")
	if err != nil {
		return false
	}
	cur, tid := statNice(b), unix.Gettid()
	if unix.Setpriority(unix.PRIO_PROCESS, tid, cur-1) != nil {
		return false
	}
	unix.Setpriority(unix.PRIO_PROCESS, tid, cur)
	return true
}

// TestRealtime: with Spec.Realtime the child's main thread, which runs
// ORT, and the intra-op thread ORT creates from it run SCHED_FIFO, and
// Go's other threads do not (a Go thread spinning at a real-time priority
// could starve the thread it waits for); the session still runs.
func TestRealtime(t *testing.T) {
	s := loadedESPCN(t, Spec{Nice: -5, Realtime: true, Logf: func(l string) { t.Log(l) }})
	if !s.Realtime {
		if mayRealtime() {
			t.Fatal("Session.Realtime is false although this process may set SCHED_FIFO")
		}
		t.Skip("no real-time scheduling here (not root, or no real-time throttling): only the fallback checked")
	}
	pid := strconv.Itoa(s.c.cmd.Process.Pid)
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		t.Fatal(err)
	}
	var fifo, other []string
	for _, e := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + e.Name() + "/stat")
		if err != nil {
			continue // exited
		}
		if statPolicy(b) == unix.SCHED_FIFO {
			fifo = append(fifo, e.Name())
		} else {
			other = append(other, e.Name())
		}
	}
	// The main thread and ORT's one intra-op worker (2 threads: the caller
	// is the other).
	if len(fifo) != 2 || fifo[0] != pid && fifo[1] != pid {
		t.Errorf("SCHED_FIFO threads %v, want the main thread %s and one ORT worker", fifo, pid)
	}
	if len(other) == 0 {
		t.Errorf("every thread is real-time (%v): Go's threads must not be", fifo)
	}
	if _, err := s.Infer("img", make([]float32, 3*8*8), 8, 8, 32, 32, make([]uint8, 3*32*32)); err != nil {
		t.Fatal(err)
	}
}

// statPolicy is the scheduling policy in a /proc/…/stat line (field 41).
func statPolicy(stat []byte) int { return statField(stat, 41, -1) }

// mayRealtime says whether this process may put a thread under SCHED_FIFO
// with the kernel's real-time throttling on: it tries on a thread of its
// own, which then ends.
func mayRealtime() bool {
	if rtThrottled() != nil {
		return false
	}
	ok := make(chan bool)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: 1}
		ok <- unix.SchedSetAttr(0, &attr, 0) == nil
	}()
	return <-ok
}

// TestSessionOnce: the child creates one ORT session for an ordinary model
// (names from the protobuf, confirmed by ORT's view of that session): the
// slower path, a temporary session first, is for models ORT sees
// otherwise, and would hide a quick path that stopped working.
func TestSessionOnce(t *testing.T) {
	models := map[string][]byte{}
	models["espcn"], _ = onnxbuild.ESPCN(4, 1)
	models["nearest"], _ = onnxbuild.Nearest(4)
	if fixtures.Root() != "" || os.Getenv("CI") == "true" {
		b, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "models", "trained"), "rlfn_ntire_x4.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		models["rlfn"] = b
	}
	for name, m := range models {
		s := startCPU(t, 1, 1)
		if err := s.Load(m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !s.Ready.SessionOnce {
			t.Errorf("%s: the child asked a temporary session first", name)
		}
		s.Close()
	}
}
