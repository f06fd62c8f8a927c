package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/outcome"
)

// fakeChild is a compromised child (no ORT): it speaks the protocol but
// lies, to check the parent's own defences.
func fakeChild(mode string) int {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	magic := make([]byte, len(protoMagic))
	io.ReadFull(in, magic)
	raw, _ := readBlob(in, maxConfigBytes)
	var cfg Config
	json.Unmarshal(raw, &cfg)
	// A complete sandbox, as the real child reports it, except in the
	// modes that test the parent's refusal.
	st := Status{UID: sandboxUID, UserNS: true, LandlockABI: 7, Seccomp: true, ORTVersion: "1.30.0"}
	switch mode {
	case "weak", "weakok":
		// Claims the worker's uid: the parent's own uid is not known here,
		// so use one nobody runs as and rely on Landlock and seccomp missing.
		st = Status{UID: sandboxUID, ORTVersion: "1.30.0"}
	case "oldort":
		st.ORTVersion = "1.24.1"
	}
	j, _ := json.Marshal(st)
	out.WriteByte(frameSandbox)
	writeBlob(out, j)
	out.Flush()
	n, err := getU64(in)
	if err != nil {
		return 0 // the parent refused: no model
	}
	if mode == "weak" || mode == "oldort" {
		os.Exit(9) // the model was sent although the parent should have refused
	}
	io.CopyN(io.Discard, in, int64(n))
	j, _ = json.Marshal(Ready{})
	out.WriteByte(frameReady)
	writeBlob(out, j)
	out.Flush()
	h, _ := getU32(in)
	w, _ := getU32(in)
	io.CopyN(io.Discard, in, int64(12*h*w))
	switch mode {
	case "forge": // claims 10 s for a run that took none
		for r := 0; r < cfg.Runs; r++ {
			out.WriteByte(frameTiming)
			putU64(out, uint64(10*time.Second))
			putU64(out, uint64(10*time.Second)) // CPU time
		}
	case "cpuforge", "wallforge", "cpuonce":
		// Runs (burns 600 ms of CPU on one thread) and reports each run
		// as 1 ms of CPU time (cpuforge), or reports honest CPU time but
		// 1 ms of wall time per run (wallforge); then a valid output.
		// It serves every request so: the parent asks again once after a
		// mismatch. cpuonce forges the first request only and is honest
		// from then on, as an honest child looks whose one request the
		// machine disturbed.
		for req := 0; ; req++ {
			t0 := time.Now()
			burnCPU(600 * time.Millisecond)
			used := time.Since(t0)
			forge := mode != "cpuonce" || req == 0
			for r := 0; r < cfg.Runs; r++ {
				out.WriteByte(frameTiming)
				switch {
				case !forge:
					putU64(out, uint64(used)/uint64(cfg.Runs))
					putU64(out, uint64(used)/uint64(cfg.Runs))
				case mode == "wallforge":
					putU64(out, uint64(time.Millisecond))
					putU64(out, uint64(used)/uint64(cfg.Runs))
				default:
					putU64(out, uint64(time.Millisecond))
					putU64(out, uint64(time.Millisecond))
				}
			}
			validOutput(out, h, w)
			out.Flush()
			var err error
			if h, err = getU32(in); err != nil {
				return 0 // the parent is done
			}
			w, _ = getU32(in)
			io.CopyN(io.Discard, in, int64(12*h*w))
		}
	case "untimed", "untimedtwice", "untimedlate", "untimedshape":
		// As the real child does when its first run into the
		// preallocated output fails: a 300 ms untimed run, reported
		// honestly, then 1 µs runs. Honest only when the output then
		// has another shape (untimedshape); with the expected shape the
		// 300 ms would be hidden work. Reported twice, or after a timed
		// run, it is malformed.
		if mode == "untimedlate" {
			out.WriteByte(frameTiming)
			putU64(out, uint64(time.Microsecond))
			putU64(out, uint64(time.Microsecond))
		}
		for range 1 + b2i(mode == "untimedtwice") {
			t0 := time.Now()
			burnCPU(300 * time.Millisecond)
			out.WriteByte(frameUntimed)
			putU64(out, uint64(time.Since(t0)))
			putU64(out, uint64(time.Since(t0)))
		}
		for r := 0; r < cfg.Runs-b2i(mode == "untimedlate"); r++ {
			out.WriteByte(frameTiming)
			putU64(out, uint64(time.Microsecond))
			putU64(out, uint64(time.Microsecond))
		}
		if mode == "untimedshape" {
			outputHead(out, 1, 3, uint64(2*h), uint64(2*w))
		} else {
			validOutput(out, h, w)
		}
	case "huge": // claims a 2^40-element output
		out.WriteByte(frameTiming)
		putU64(out, 1000)
		putU64(out, 1000) // CPU time
		outputHead(out, 1, 3, 1<<20, 1<<20)
	case "badindex", "shortpix", "nan", "badwhere", "shmshrink": // the right shape (×4), then lies
		out.WriteByte(frameTiming)
		putU64(out, 1000)
		putU64(out, 1000) // CPU time
		outputHead(out, 1, 3, uint64(4*h), uint64(4*w))
		switch mode {
		case "badindex": // a non-finite value outside the output
			putU64(out, uint64(3*16*h*w))
			out.WriteByte(badNaN)
			putU64(out, 1)
		case "nan":
			putU64(out, 7)
			out.WriteByte(badPosInf)
			putU64(out, 1)
		case "shortpix": // fewer bytes than the output has, then exits
			putU64(out, ^uint64(0))
			out.WriteByte(0)
			putU64(out, 1)
			out.WriteByte(outPipe)
			out.Write(make([]byte, 3*16*h*w-1))
			out.Flush()
			syscall.Exit(0) // not os.Exit: under -race it waits a second first
		case "badwhere": // the output is neither on the pipe nor in the buffer
			putU64(out, ^uint64(0))
			out.WriteByte(0)
			putU64(out, 1)
			out.WriteByte(7)
		case "shmshrink":
			// Tries to pull the shared buffer from under the parent's
			// mapping (a read past the end of a file is SIGBUS) and to
			// seal it against the parent's next resize; then says the
			// output is in it, and keeps scribbling over it.
			if cfg.OutFD != fdOut {
				os.Exit(9)
			}
			if syscall.Ftruncate(fdOut, 0) == nil {
				os.Exit(10)
			}
			if _, _, e := syscall.Syscall(syscall.SYS_FCNTL, fdOut, 1033 /* F_ADD_SEALS */, 0x4|0x8 /* GROW, WRITE */); e == 0 {
				os.Exit(11)
			}
			b, err := syscall.Mmap(fdOut, 0, 3*16*int(h*w), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
			if err != nil {
				os.Exit(12)
			}
			for i := range b {
				b[i] = 7
			}
			putU64(out, ^uint64(0))
			out.WriteByte(0)
			putU64(out, 1)
			out.WriteByte(outShared)
			out.Flush()
			go func() {
				time.Sleep(20 * time.Millisecond) // the parent has copied by then
				for i := 0; ; i++ {
					b[i%len(b)]++
				}
			}()
		}
	case "garbage":
		out.WriteString("Zhello")
	case "hang":
		time.Sleep(time.Hour)
	}
	out.Flush()
	time.Sleep(200 * time.Millisecond)
	return 0
}

// outputHead writes the head of an output frame: its shape, no HWM and
// no arena peak.
func outputHead(out *bufio.Writer, dims ...uint64) {
	out.WriteByte(frameOutput)
	putU32(out, uint32(len(dims)))
	for _, d := range dims {
		putU64(out, d)
	}
	putU64(out, 0)
	putU64(out, 0) // arena peak
}

// validOutput writes the frame of a ×4 output of zeros, on the pipe.
func validOutput(out *bufio.Writer, h, w uint32) {
	outputHead(out, 1, 3, uint64(4*h), uint64(4*w))
	putU64(out, ^uint64(0)) // no non-finite value
	out.WriteByte(0)
	putU64(out, 1)
	out.WriteByte(outPipe)
	out.Write(make([]byte, 3*16*h*w))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// burnCPU keeps one thread busy for d of its own CPU time.
func burnCPU(d time.Duration) {
	var ts syscall.Timespec
	now := func() time.Duration {
		// Raw: Syscall would let the scheduler hand the P to a spinning M.
		syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 3 /* CLOCK_THREAD_CPUTIME_ID */, uintptr(unsafe.Pointer(&ts)), 0)
		return time.Duration(ts.Nano())
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for end := now() + d; now() < end; {
	}
}

func TestHostileChild(t *testing.T) {
	exe, model := fakeSetup(t)
	for _, tc := range []struct {
		mode, kind, msg string
		runs            int
		cpuCheck        bool // the verdict is the CPU-clock check's (off where memory may swap)
	}{
		{mode: "forge", kind: "crashed", msg: "impossible timings on image img"},
		{mode: "cpuforge", kind: "crashed", msg: "reported 1ms of CPU time for its runs on image img but used ", cpuCheck: true},
		{mode: "wallforge", kind: "crashed", msg: "reported 1ms of run time on image img for ", cpuCheck: true},
		{mode: "untimed", kind: "crashed", msg: "a failed first run on image img, then an output of exactly the expected shape"},
		{mode: "untimed", kind: "crashed", msg: "a failed first run on image img, then an output of exactly the expected shape", runs: 3},
		{mode: "untimedshape", kind: "bad_output", msg: "output is 1×3×16×16 for a 8×8 input on image img"},
		{mode: "untimedtwice", kind: "crashed", msg: "malformed response"},
		{mode: "untimedlate", kind: "crashed", msg: "malformed response", runs: 2},
		{mode: "huge", kind: "bad_output", msg: "output is 1×3×1048576×1048576 for a 8×8 input"},
		{mode: "garbage", kind: "crashed", msg: "malformed response"},
		{mode: "badindex", kind: "crashed", msg: "malformed response"},
		{mode: "shortpix", kind: "crashed", msg: "exited early on image img"},
		{mode: "badwhere", kind: "crashed", msg: "malformed response"},
		{mode: "hang", kind: "timeout", msg: "timed out after 1s on image img"},
	} {
		t.Run(fmt.Sprintf("%s/runs=%d", tc.mode, max(tc.runs, 1)), func(t *testing.T) {
			if tc.cpuCheck && hostSwap() {
				// Conservative: a cgroup v2 swap.max of 0 would turn the
				// check on again, which this test cannot know beforehand.
				t.Skip("this host has swap: the CPU-clock check is off (checkCPU)")
			}
			// 1 s for the child that hangs; the others get room for the
			// 600 ms of CPU some burn on a loaded machine (CI runs test
			// packages side by side), so that their verdict, not a
			// timeout, ends them.
			timeout := 4 * time.Second
			if tc.kind == "timeout" {
				timeout = time.Second
			}
			start := time.Now()
			_, err := runOnce(t, model, 8, 8, testRun{Command: []string{exe, "__fake-child-" + tc.mode}, ImageTimeout: timeout, Runs: tc.runs})
			var me *outcome.Error
			if !errors.As(err, &me) || string(me.Kind) != tc.kind || !strings.Contains(me.Msg, tc.msg) {
				t.Fatalf("err = %v, want %s containing %q", err, tc.kind, tc.msg)
			}
			if el := time.Since(start); el > timeout+4*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}

// TestCPUCheckRetry: a request whose claims fail the CPU-clock check once
// is made again, and the evaluation goes on with the second answer when
// that one holds (an honest child the machine disturbed once: cpuonce); a
// child that forges again is caught (cpuforge). Either way the operator
// is told.
func TestCPUCheckRetry(t *testing.T) {
	if hostSwap() {
		t.Skip("this host has swap: the CPU-clock check is off (checkCPU)")
	}
	exe, model := fakeSetup(t)
	for _, tc := range []struct {
		mode    string
		wantErr string
	}{
		{"cpuonce", ""},
		{"cpuforge", "reported 1ms of CPU time for its runs on image img but used "},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			var warned []string
			var mu sync.Mutex
			s, err := runOnce(t, model, 8, 8, testRun{Command: []string{exe, "__fake-child-" + tc.mode}, ImageTimeout: 4 * time.Second,
				Warnf: func(line string) { mu.Lock(); warned = append(warned, line); mu.Unlock() }})
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Infer: %v, want the second, honest answer", err)
			}
			if tc.wantErr != "" {
				var me *outcome.Error
				if !errors.As(err, &me) || me.Kind != outcome.Crashed || !strings.Contains(me.Msg, tc.wantErr) {
					t.Fatalf("err = %v, want crashed containing %q", err, tc.wantErr)
				}
			}
			if s == nil || s.CPURetries != 1 {
				t.Fatalf("session %v: want exactly one retry", s)
			}
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, l := range warned {
				if strings.Contains(l, "the image is run again") && strings.Contains(l, "reported 1ms of CPU time") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("operator warnings %q: want one about the retry", warned)
			}
		})
	}
}

// fakeSetup is this test binary, which serves as the fake children
// (__fake-child-MODE), and a model for them to pretend to run.
func fakeSetup(t *testing.T) (exe string, model []byte) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	model, _ = onnxbuild.Nearest(4)
	return exe, model
}

// startFake starts the fake child of mode (one run per image) and loads a
// model into it; the session closes with the test.
func startFake(t *testing.T, mode string) *Session {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	lib := ortLib(t)
	cfg, err := NewConfig(DeviceCPU, lib, 1, 1, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Spec{Command: []string{exe, "__fake-child-" + mode}, ORTLib: lib, Config: cfg,
		MemoryLimit: 2 << 30, Logf: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	model, _ := onnxbuild.Nearest(4)
	if err := s.Load(model); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFailClosed: a child that reports an incomplete sandbox or an old ONNX
// Runtime never gets the model, and the error is the platform's (retried,
// operator-facing), not the model's.
func TestFailClosed(t *testing.T) {
	exe, model := fakeSetup(t)
	for _, tc := range []struct {
		mode     string
		insecure bool
		want     string
	}{
		{"weak", false, "refusing to evaluate: the sandbox lacks "},
		{"oldort", false, "ONNX Runtime 1.24.1 is too old: versions before 1.30 are exploitable by crafted models; run make ort"},
		// The opt-in lets an incomplete sandbox through, but never an old ORT.
		{"oldort", true, "ONNX Runtime 1.24.1 is too old"},
	} {
		t.Run(fmt.Sprintf("%s insecure=%v", tc.mode, tc.insecure), func(t *testing.T) {
			var warned []string
			_, err := runOnce(t, model, 8, 8, testRun{Command: []string{exe, "__fake-child-" + tc.mode},
				Insecure: tc.insecure, Warnf: func(s string) { warned = append(warned, s) }})
			if err == nil || outcome.IsFinal(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an infrastructure error containing %q", err, tc.want)
			}
			if tc.mode == "weak" {
				for _, m := range []string{"Landlock", "seccomp"} {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error does not name missing %s: %v", m, err)
					}
				}
			}
			if tc.insecure && (len(warned) == 0 || !strings.Contains(warned[0], "InsecureSandbox")) {
				t.Errorf("no warning for InsecureSandbox: %q", warned)
			}
		})
	}
	// The insecure opt-in does let a weak sandbox evaluate, with a warning
	// naming what is missing.
	var warned []string
	_, err := runOnce(t, model, 8, 8, testRun{Command: []string{exe, "__fake-child-weakok"},
		Insecure: true, Warnf: func(s string) { warned = append(warned, s) }})
	if err == nil || !outcome.IsModelError(err) { // the fake child sends no output: a model error means the model was sent
		t.Fatalf("err = %v, want the evaluation to proceed", err)
	}
	if !strings.Contains(strings.Join(warned, "\n"), "INSECURE: evaluating although the sandbox lacks") {
		t.Errorf("warnings %q", warned)
	}
}

// TestChildNonFiniteReport: the child's report of a non-finite output value
// reaches the caller as Runs.Bad / BadInf (the caller words the verdict),
// and the output buffer is left alone.
func TestChildNonFiniteReport(t *testing.T) {
	s := startFake(t, "nan")
	out := make([]uint8, 3*32*32)
	for i := range out {
		out[i] = 42
	}
	r, err := s.Infer("img", make([]float32, 3*8*8), 8, 8, 32, 32, out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bad != 7 || !r.BadInf {
		t.Errorf("Bad %d BadInf %v, want 7 true", r.Bad, r.BadInf)
	}
	if out[0] != 42 || out[len(out)-1] != 42 {
		t.Error("the output buffer was written")
	}
	s.Fail()
}

// TestHostileSharedOutput: a child that tries to shrink or seal the shared
// output buffer fails to (a shrink would crash the parent with SIGBUS on
// its next read), and what it writes into the buffer after reporting the
// output does not reach the caller's copy.
func TestHostileSharedOutput(t *testing.T) {
	s := startFake(t, "shmshrink")
	out := make([]uint8, 3*32*32)
	r, err := s.Infer("img", make([]float32, 3*8*8), 8, 8, 32, 32, out)
	if err != nil {
		t.Fatalf("%v (exit %v)", err, s.c.waitErr)
	}
	if r.Bad != -1 {
		t.Fatalf("Bad %d", r.Bad)
	}
	snap := string(out)
	if strings.Trim(snap, "\x07") != "" {
		t.Errorf("the output is not the child's (all 7): %q…", snap[:8])
	}
	time.Sleep(50 * time.Millisecond) // the child keeps writing into the buffer
	if string(out) != snap {
		t.Error("the caller's output changed after Infer returned")
	}
	s.Fail()
}
