// Package sandbox runs an ONNX model in an isolated child process and
// speaks the child protocol (proto.go) with it.
//
// The parent (this package, in the worker or `srarena eval`) never loads
// ONNX Runtime. It re-executes its own binary as `__sandbox-child`, hands it
// only the model bytes and the input tensors, and gets output tensors and
// per-run timings back. The parent enforces every limit (session-creation,
// per-run and total timeouts by SIGKILL of the child, output size, cgroup
// memory limit), makes sure the child never outlives it (orphan.go), and
// turns child deaths into messages a participant can act on
// (*outcome.Error). What is done with the outputs (timing protocol,
// scoring) is package evaluate's business.
package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/srarena/srarena/runner/outcome"
	"github.com/srarena/srarena/scoring"
)

// Spec says how to start a child and what limits to hold it to.
type Spec struct {
	// Command is the child's argv; default {os.Executable(), ChildArg}, or
	// the srarena-sandbox of the same build next to it (exe.go).
	Command []string
	// ORTLib is the ONNX Runtime library (handed over as a descriptor on
	// the CPU; by path, which must be readable by the sandbox uid, on CUDA).
	ORTLib string
	// Config is what the child is told (threads, runs per image, layers).
	Config Config
	// MemoryLimit is the cgroup memory cap, bytes (also named in messages).
	MemoryLimit int64
	// LoadTimeout bounds start + session creation; ImageTimeout one run;
	// TotalTimeout (0: none besides ctx) the whole session.
	LoadTimeout, ImageTimeout, TotalTimeout time.Duration
	// Hidden: failure messages give no image size, output position or ORT
	// message (test sets).
	Hidden bool
	// InsecureSandbox lets a child without its own uid, Landlock or seccomp
	// be used (logged through Warnf); otherwise such a child is refused.
	InsecureSandbox bool
	// Nice, when not 0, is the niceness the child's threads get before the
	// model is sent (negative: ahead of the machine's other work; see
	// renice). Lowering it needs root or CAP_SYS_NICE; without, the
	// threads keep the worker's (Session.Nice says which held).
	Nice int
	// Realtime puts the child's main thread, which runs the model, and the
	// threads it creates from then on (ONNX Runtime's intra-op threads,
	// not Go's) under SCHED_FIFO before the model is sent, so that no
	// normal thread on the machine preempts a timed run (see realtime).
	// It needs root or CAP_SYS_NICE and the kernel's real-time throttling;
	// without, the threads keep Nice (Session.Realtime says which held).
	Realtime bool
	// Logf receives operator-level lines; Warnf the ones needing attention.
	Logf, Warnf func(string)
}

// Session is a started child that passed the sandbox checks.
type Session struct {
	spec   Spec
	c      *child
	w      *bufio.Writer
	mu     sync.Mutex
	timer  *time.Timer
	phase  string // for crash messages: "while loading the model", "on image X"
	done   bool
	closed bool
	ended  bool // End sent the end of the session
	// maxIn, maxOut: the largest input (floats) and output (bytes) sent
	// so far; a larger one makes the child grow its buffers (checkCPU).
	maxIn, maxOut int
	life          int64 // the child's peak RSS so far (Ready.HWM, Runs.HWM), bytes; Close's result
	stop          func() bool

	// Status is what the child reported before it saw the model.
	Status Status
	// Ready is what it reported once the session existed (after Load).
	Ready Ready
	// Startup is spawn until the child's sandbox was up; LoadTime is
	// spawn until the session was ready (after Load).
	Startup, LoadTime time.Duration
	// Nice is the niceness the child's threads run at: Spec.Nice when
	// Start could set it, 0 otherwise.
	Nice int
	// Realtime says whether the model's threads run SCHED_FIFO
	// (Spec.Realtime, where Start could set it).
	Realtime bool
	// CPURetries counts the requests Infer made again after their claims
	// failed the CPU-clock check once.
	CPURetries int
	t0         time.Time
}

// Start spawns the child, sends it its configuration and checks the
// sandbox it reports (fail closed). Any error is the platform's.
func Start(ctx context.Context, spec Spec) (*Session, error) {
	if spec.Logf == nil {
		spec.Logf = func(string) {}
	}
	if spec.Warnf == nil {
		spec.Warnf = spec.Logf
	}
	if spec.LoadTimeout <= 0 {
		spec.LoadTimeout = 60 * time.Second
	}
	if spec.ImageTimeout <= 0 {
		spec.ImageTimeout = 60 * time.Second
	}
	if spec.InsecureSandbox {
		spec.Warnf("sandbox: InsecureSandbox is set: this evaluation runs even if the child lacks a uid of its own, Landlock or seccomp")
	}
	if len(spec.Command) == 0 {
		argv, sibling, err := defaultCommand(ChildArg)
		if err != nil {
			return nil, fmt.Errorf("sandbox: own executable: %w", err)
		}
		spec.Command = argv
		if sibling {
			s, err := start(ctx, spec, true)
			if err == nil || ctx.Err() != nil {
				return s, err
			}
			// Not started, or from another build: srarena itself then.
			exe, err2 := os.Executable()
			if err2 != nil {
				return nil, err
			}
			spec.Command = []string{exe, ChildArg}
			s, err2 = start(ctx, spec, false)
			if err2 != nil {
				return nil, err2 // not the sibling's fault, then
			}
			// It was the sibling's: this process starts itself from now on
			// (~30 ms more per evaluation).
			siblingOff.Store(true)
			spec.Warnf(fmt.Sprintf("sandbox: %s next to srarena is not usable (%v); srarena starts itself as the child from now on: build both with make build", SiblingName, err))
			return s, nil
		}
	}
	return start(ctx, spec, false)
}

// start is Start with spec.Command set; sibling says it is srarena-sandbox,
// which must then report this build's stamp.
func start(ctx context.Context, spec Spec, sibling bool) (*Session, error) {
	if spec.Config.Device == DeviceCUDA {
		// ORT loads the CUDA provider by path, as the sandbox uid.
		lib, err := PrepareORT(spec.ORTLib, DeviceCUDA)
		if err != nil {
			return nil, err
		}
		spec.ORTLib, spec.Config.ORTLib, spec.Config.ORTDir = lib, lib, filepath.Dir(lib)
	}
	t0 := time.Now()
	c, err := startChild(spec.Command, spec.ORTLib, spec.MemoryLimit, spec.Logf, spec.Warnf)
	if err != nil {
		return nil, err
	}
	s := &Session{spec: spec, c: c, t0: t0, w: bufio.NewWriterSize(c.stdin, 1<<20)}
	total := spec.TotalTimeout
	s.stop = context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && total > 0 {
			c.kill(outcome.Errorf(outcome.Timeout, "evaluation timed out after %s (limit for the whole set)", fmtDur(total)))
		} else {
			c.kill(fmt.Errorf("sandbox: evaluation cancelled: %w", context.Cause(ctx)))
		}
	})
	cfg := spec.Config
	if c.shm != nil {
		cfg.OutFD = fdOut
	}
	raw, _ := json.Marshal(cfg)
	s.phase = "while loading the model"
	s.arm(spec.LoadTimeout, outcome.Errorf(outcome.Timeout, "loading the model timed out after %s", fmtDur(spec.LoadTimeout)))
	// Writes fail only if the child is gone; the read below reports why.
	io.WriteString(s.w, protoMagic)
	writeBlob(s.w, raw)
	s.w.Flush()

	// Until the child has the model it is our own code: what it says about
	// its sandbox is the truth, and any failure is the platform's.
	st, err := s.readStatus()
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Status = *st
	c.waitJoin(spec.Logf) // the memory limit holds before the model is sent
	if sibling && st.Build != BuildStamp {
		s.Close()
		return nil, fmt.Errorf("it is from another build (stamp %q, srarena's %q)", Sanitize(st.Build, 40), BuildStamp)
	}
	if miss := sandboxMissing(*st, os.Getuid()); len(miss) > 0 {
		if !spec.InsecureSandbox {
			s.Close()
			return nil, fmt.Errorf("runner: refusing to evaluate: the sandbox lacks %s (active: %s). "+
				"Run the worker as root or allow unprivileged user namespaces, on a kernel with Landlock (≥ 5.13, lsm=landlock) and seccomp; "+
				"or accept the risk with the insecure-sandbox option", strings.Join(miss, ", "), strings.Join(st.Protections, "; "))
		}
		spec.Warnf("sandbox: INSECURE: evaluating although the sandbox lacks " + strings.Join(miss, ", "))
	}
	if err := checkORTVersion(st.ORTVersion); err != nil {
		s.Close()
		return nil, err
	}
	if spec.Nice != 0 {
		// Now, while the child is still our own code, blocked reading the
		// model: later, a hostile child could let a thread (or itself)
		// exit between the listing and the call and have its number
		// taken by another process's, which would be reniced instead.
		// The threads it creates from here on, ORT's among them, inherit
		// the niceness from the thread that creates them.
		if err := c.renice(spec.Nice); err != nil {
			spec.Logf("sandbox: the model's threads keep their priority: " + err.Error())
		} else {
			s.Nice = spec.Nice
		}
	}
	if spec.Realtime {
		if err := c.realtime(); err != nil {
			spec.Logf("sandbox: the model's threads are not real-time: " + err.Error())
		} else {
			s.Realtime = true
		}
	}
	s.Startup = time.Since(t0)
	return s, nil
}

// Protections describes the active sandbox, for the record.
func (s *Session) Protections() []string {
	out := []string{s.c.sandbox}
	as := s.spec.Config.AS
	switch {
	case s.c.cg != nil:
		kind := "v2 memory.max"
		if s.c.cg.v1 {
			kind = "v1 memory.limit_in_bytes"
		}
		out = append(out, fmt.Sprintf("cgroup %s = %s", kind, fmtBytes(s.spec.MemoryLimit)))
	case as > 0:
		out = append(out, fmt.Sprintf("no cgroup: memory limit is RLIMIT_AS = %s only", fmtBytes(int64(as))))
	default:
		out = append(out, "no cgroup and no RLIMIT_AS: host memory is not limited")
		s.spec.Warnf("sandbox: no cgroup and no RLIMIT_AS (device " + s.spec.Config.Device + "): the model's host memory is not limited")
	}
	for _, p := range s.Status.Protections {
		out = append(out, Sanitize(p, 200))
	}
	return out
}

// ORTVersion is the ONNX Runtime version the child reported, sanitised.
func (s *Session) ORTVersion() string { return Sanitize(s.Status.ORTVersion, 40) }

// Load sends the model and waits for the session. Errors from here on may
// be the model's (*outcome.Error) or the platform's.
func (s *Session) Load(model []byte) error {
	if len(model) == 0 || len(model) > MaxModelBytes {
		return outcome.Errorf(outcome.LoadError, "model is %d bytes; it must be between 1 byte and %s", len(model), fmtBytes(MaxModelBytes))
	}
	putU64(s.w, uint64(len(model)))
	s.w.Write(model)
	s.w.Flush()
	if err := s.expect(frameReady, true); err != nil {
		return err
	}
	rb, err := readBlob(s.c.stdout, maxReadyBytes)
	if err != nil {
		return s.failure(err)
	}
	if err := json.Unmarshal(rb, &s.Ready); err != nil {
		return s.failure(errFrame)
	}
	s.disarm()
	s.LoadTime = time.Since(s.t0)
	s.life = max(s.life, s.Ready.HWM)
	return nil
}

// Runs is what one Infer measured.
type Runs struct {
	// Times are the child's session.Run durations, in order (warm-up first);
	// CPU the process CPU time each of them took (all ORT threads).
	Times, CPU []time.Duration
	// HWM is the child's peak RSS during the image, bytes (-1 unknown).
	HWM int64
	// ArenaPeak is the peak ONNX Runtime's arena has had in use so far in
	// the session (GPU memory on "cuda"), bytes (-1 unknown).
	ArenaPeak int64
	// Wall is request to response, parent-measured, transfers included.
	Wall time.Duration
	// Bad is the CHW index of the output's first NaN or ±Inf (BadInf: an
	// infinity), or -1: then out holds the output; otherwise out is left
	// as it was.
	Bad    int
	BadInf bool
	// Quantize is how long the child took to check and quantise the
	// output (after the timed runs, inside Wall).
	Quantize time.Duration
}

// Reserve makes the buffer the child writes its outputs into hold outBytes
// now, before the first request, when the caller knows its largest output
// (3·sh·sw bytes): a later, larger image would otherwise grow it, and both
// processes would map and fault it in again inside that request (≈ 5 ms in
// the child, and on a VM whose memory the host backs lazily up to 25 ms in
// the parent, for a DIV2K output). Without a shared buffer it does nothing.
func (s *Session) Reserve(outBytes int) error {
	if s.c.shm == nil || outBytes <= 0 {
		return nil
	}
	return s.c.shm.ensure(outBytes)
}

// Infer sends a 1×3×h×w input (CHW float32), lets the child run it
// Config.Runs times, and reads its 1×3×sh×sw output, quantised by the child
// to 8-bit RGB (scoring.QuantizeCHW with Config.DataRange), into out: the
// Pix of an sh×sw scoring.Image, 3·sh·sw bytes. An output with a NaN or
// ±Inf is reported in Runs.Bad, not as an error: what to tell the
// participant is the caller's business. name is how messages call the image.
//
// A request whose claims fail the CPU-clock check (checkCPU) is made once
// more, and only a second failure ends the session: under a CPU hog an
// honest child once used 34 ms of CPU time more than its runs (69 ms
// against 35) on a Set5 image, in one request of about 2,000, where the
// allowance is 20 ms, and the failure fell on the model (crashed, charged).
// A forging child forges again and is caught; one that forges only now and
// then gains nothing, since only a request that passes is ever returned.
func (s *Session) Infer(name string, in []float32, h, w, sh, sw int, out []uint8) (*Runs, error) {
	r, err := s.infer(name, in, h, w, sh, sw, out)
	var m cpuMismatch
	if !errors.As(err, &m) {
		return r, err
	}
	s.CPURetries++
	s.spec.Warnf(fmt.Sprintf("sandbox: %s; the image is run again (a second mismatch ends the evaluation)", m.err.Msg))
	r, err = s.infer(name, in, h, w, sh, sw, out)
	if errors.As(err, &m) {
		s.done = true
		return nil, m.err
	}
	return r, err
}

// cpuMismatch is a request whose claims failed checkCPU; the session
// itself is intact (the whole response was read).
type cpuMismatch struct{ err *outcome.Error }

func (m cpuMismatch) Error() string { return m.err.Error() }

func (s *Session) infer(name string, in []float32, h, w, sh, sw int, out []uint8) (*Runs, error) {
	if len(in) != 3*h*w || len(out) != 3*sh*sw {
		return nil, fmt.Errorf("sandbox: Infer: %d inputs for %d×%d, %d outputs for %d×%d", len(in), w, h, len(out), sw, sh)
	}
	c := s.c
	s.phase = "on image " + name
	timeout := outcome.Errorf(outcome.Timeout, "timed out after %s on image %s", fmtDur(s.spec.ImageTimeout), name)
	s.arm(s.spec.ImageTimeout, timeout)
	start := time.Now()
	if c.shm != nil {
		// The buffer holds the output before the child may write it.
		if err := c.shm.ensure(len(out)); err != nil {
			s.disarm()
			return nil, err
		}
	}
	cpu0, cpuOK := c.cpuTime()
	putU32(s.w, uint32(h))
	putU32(s.w, uint32(w))
	writeFloats(s.w, in) // fails only if the child is gone; the read below says why
	s.w.Flush()

	r := &Runs{HWM: -1, ArenaPeak: -1, Bad: -1}
	// claimed, claimedCPU: the timed runs the child reports (checkCPU
	// holds them against the kernel's count); inWindow adds an untimed
	// run, which must fit in the parent's window too.
	var claimed, claimedCPU, inWindow time.Duration
	untimed := false
	for i := 0; i < s.spec.Config.Runs; i++ {
		typ, err := s.frame(false, frameTiming, frameUntimed)
		if err != nil {
			return nil, err
		}
		if typ == frameUntimed && (i > 0 || untimed) {
			return nil, s.failure(errFrame)
		}
		v, err := getU64(c.stdout)
		if err != nil {
			return nil, s.failure(err)
		}
		cv, err := getU64(c.stdout)
		if err != nil {
			return nil, s.failure(err)
		}
		d, cpu := time.Duration(v), time.Duration(cv)
		inWindow += d
		// The child times only session.Run; everything it claims happened
		// inside the parent's window. A claim that does not fit is forged.
		if d < 0 || d == 0 && typ == frameTiming || inWindow > time.Since(start) || cpu < 0 {
			s.done = true
			return nil, outcome.Errorf(outcome.Crashed, "the model process reported impossible timings on image %s", name)
		}
		if typ == frameUntimed {
			untimed = true
			i--
			continue
		}
		claimed += d
		claimedCPU += cpu
		// CPU time is the whole child process's: the Go runtime's own
		// threads (a garbage collection after the previous image's
		// quantisation) can add a few ms to a sub-millisecond run of a
		// tiny model. That is the platform's noise, not the model's
		// fault, so it is bounded, never charged: at most Threads ORT
		// threads plus the caller's were busy for the run's wall time.
		if limit := time.Duration(s.spec.Config.Threads+1) * d; cpu > limit {
			cpu = limit
		}
		r.Times = append(r.Times, d)
		r.CPU = append(r.CPU, cpu)
		s.arm(s.spec.ImageTimeout, timeout) // per run
	}
	if err := s.expect(frameOutput, false); err != nil {
		return nil, err
	}
	rank, err := getU32(c.stdout)
	if err != nil {
		return nil, s.failure(err)
	}
	if rank > maxRank {
		return nil, s.failure(errFrame)
	}
	dims := make([]int64, rank)
	for i := range dims {
		v, err := getU64(c.stdout)
		if err != nil {
			return nil, s.failure(err)
		}
		dims[i] = int64(v)
	}
	hwm, err := getU64(c.stdout)
	if err != nil {
		return nil, s.failure(err)
	}
	arena, err := getU64(c.stdout)
	if err != nil {
		return nil, s.failure(err)
	}
	want := []int64{1, 3, int64(sh), int64(sw)}
	if !equal(dims, want) {
		s.done = true
		if s.spec.Hidden {
			// The shape would tell the hidden image's size.
			return nil, outcome.Errorf(outcome.BadOutput, "output is not %s the input size on image %s (expected 1×3×%d·H×%d·W for a 1×3×H×W input)",
				scaleWord(sh, h), name, sh/max(h, 1), sw/max(w, 1))
		}
		return nil, outcome.Errorf(outcome.BadOutput, "output is %s for a %d×%d input on image %s; expected %s = 1×3×%d×%d",
			fmtDims(dims), h, w, name, scaleWord(sh, h), sh, sw)
	}
	if untimed {
		// ORT refuses a preallocated output only when the model's has
		// another shape or type, so an honest model whose first run
		// failed into it never gets here with the expected shape. A
		// child that does would have run once outside the timed runs:
		// its claims are not to be trusted.
		s.done = true
		return nil, outcome.Errorf(outcome.Crashed, "the model process reported a failed first run on image %s, then an output of exactly the expected shape; runs must not fail and succeed by turns", name)
	}
	bad, err1 := getU64(c.stdout)
	kind, err2 := c.stdout.ReadByte()
	qns, err3 := getU64(c.stdout)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, s.failure(err)
	}
	switch b := int64(bad); {
	case b == -1:
		// Exactly the size the parent computed; never what the child claims.
		where, err := c.stdout.ReadByte()
		if err != nil {
			return nil, s.failure(err)
		}
		switch {
		case where == outPipe:
			if _, err := io.ReadFull(c.stdout, out); err != nil {
				return nil, s.failure(err)
			}
		case where == outShared && c.shm != nil && len(c.shm.buf) >= len(out):
			// Our own copy: what the child writes from now on is not scored.
			copy(out, c.shm.buf[:len(out)])
		default:
			return nil, s.failure(errFrame)
		}
	case b >= 0 && b < int64(len(out)) && kind <= badNegInf:
		r.Bad, r.BadInf = int(b), kind != badNaN
	default:
		return nil, s.failure(errFrame)
	}
	if d := time.Duration(qns); d > 0 && d <= time.Since(start) {
		r.Quantize = d
	}
	r.Wall = time.Since(start)
	if cpu1, ok := c.cpuTime(); ok && cpuOK {
		runs := len(r.Times)
		grew := 3*h*w > s.maxIn || len(out) > s.maxOut
		s.maxIn, s.maxOut = max(s.maxIn, 3*h*w), max(s.maxOut, len(out))
		if err := s.checkCPU(name, cpu1-cpu0, claimed, claimedCPU, runs, grew, 4*3*h*w+5*len(out), len(out)); err != nil {
			return nil, cpuMismatch{err}
		}
	}
	s.disarm()
	if int64(hwm) > 0 {
		r.HWM = int64(hwm)
		s.life = max(s.life, r.HWM)
	}
	if int64(arena) > 0 {
		r.ArenaPeak = int64(arena)
	}
	return r, nil
}

// checkCPU holds a request's claims against the kernel's count of the
// child's CPU time over it (used): the child times its own runs, so a
// compromised child (ONNX Runtime subverted by a crafted model) could
// report them faster than they were; the CPU it burned it cannot hide.
// Forgery is thereby bounded, not ruled out: a child may still hide the
// allowance below per request, and nothing here stops a compromised child
// from answering repeated runs of one input from memory (honest CPU, no
// work): only one run per image (the official protocol) is fully held.
// On cuda the driver's own threads work outside the runs, so there is no
// check there; nor where the child's memory may be swapped out
// (decompressing zswap pages is CPU time).
//
// The allowance is generous, because a false alarm fails an honest
// model: what the child does outside its runs (reading moved bytes of
// input and output, growing buffers for a larger image, quantising) at
// ≥ 2.8× the most this took honestly on a loaded 2-core machine (14.5 ms
// for a first DIV2K image, 2 ms for a Set5 image); the portable
// quantiser's CPU at 1.7× what it takes on amd64 where the vector kernel
// is not used (arm64); and one scheduler tick (≤ 10 ms) per run and ORT
// worker thread, since the child's reading of its process clock after a
// run misses the time of other threads still on a CPU since their last
// tick (Linux brings only the calling thread's count up to date).
func (s *Session) checkCPU(name string, used, claimedWall, claimedCPU time.Duration, runs int, grew bool, moved, outBytes int) *outcome.Error {
	if s.spec.Config.Device != DeviceCPU || !s.c.noSwap() {
		return nil
	}
	mib := func(n int) time.Duration { return time.Duration(n) * time.Millisecond / (1 << 20) }
	slack := 10*time.Millisecond + mib(moved)/2
	if grew {
		slack = 25*time.Millisecond + 3*mib(moved)/2
	}
	if !scoring.QuantizeSIMD() {
		slack += 4 * mib(outBytes)
	}
	threads := max(s.spec.Config.Threads, 1)
	slack += time.Duration(runs*(threads-1)) * 10 * time.Millisecond
	if raceEnabled { // a race-built child (tests) copies and allocates ≈ 10× slower
		slack *= 10
	}
	if used-claimedCPU > slack {
		return outcome.Errorf(outcome.Crashed, "the model process reported %s of CPU time for its runs on image %s but used %s",
			fmtDur(claimedCPU.Round(time.Millisecond/10)), name, fmtDur(used.Round(time.Millisecond/10)))
	}
	// No run is shorter than its CPU time spread over every thread the
	// process could run at once: ORT's and the caller's. A request that
	// grew the child's buffers may also have started Go's garbage
	// collector, whose workers take every idle core.
	par := threads + 1
	if grew {
		par = max(par, runtime.NumCPU())
	}
	if claimedWall < (used-slack)/time.Duration(par) {
		return outcome.Errorf(outcome.Crashed, "the model process reported %s of run time on image %s for %s of CPU time on %d threads",
			fmtDur(claimedWall.Round(time.Millisecond/10)), name, fmtDur(used.Round(time.Millisecond/10)), s.spec.Config.Threads)
	}
	return nil
}

// Fail marks the session as ended by a verdict of the caller (a bad output
// found after Infer), so Close kills the child without waiting.
func (s *Session) Fail() { s.done = true }

// End tells the child that no image follows, so that it exits by itself
// (Close calls it). After End, Infer must not be called.
func (s *Session) End() {
	if s.closed || s.ended || s.done || s.LoadTime == 0 || s.c.killed.Load() != nil {
		return
	}
	s.ended = true
	s.disarm()
	s.phase = "after the last image"
	putU32(s.w, 0)
	putU32(s.w, 0)
	s.w.Flush()
	s.c.stdin.Close()
}

// Close ends the session: orderly (H=W=0, the child exits by itself) after
// a complete run, by SIGKILL otherwise; it removes the child's cgroup and
// logs its stderr. It returns the child's peak RSS over its whole life,
// bytes, 0 if unknown: the largest of the high-water marks it reported
// after loading and for each image (the kernel's VmHWM), else getrusage's.
//
// After an orderly end on the CPU, Close does not wait for the child to be
// gone: its exit is the kernel freeing its memory (≈ 60 ms for the 550 MB
// of an RLFN child on DIV2K images, on a 2-core VM), which delays no
// result. A goroutine reaps it and removes its cgroup; Drain waits for
// those. On cuda the exit frees GPU memory the next job on the GPU may
// need, so Close waits there (WaitsOnClose).
func (s *Session) Close() int64 {
	if s.closed {
		return s.life
	}
	s.disarm()
	if !s.done && s.LoadTime > 0 && s.c.killed.Load() == nil {
		if !s.WaitsOnClose() {
			s.stop() // a cancelled context must not SIGKILL the exiting child
			s.End()
			s.closed = true
			s.logStderr()
			exiting.add()
			go func() {
				defer exiting.done()
				s.c.finish(5 * time.Second)
			}()
			return max(s.life, 0)
		}
		s.End() // before closed is set: End does nothing on a closed session
		select {
		case <-s.c.waitDone:
		case <-time.After(5 * time.Second):
		}
	}
	s.closed = true
	select {
	case <-s.c.waitDone: // reaped: its pid may belong to someone else by now
	default:
		s.c.kill(nil)
	}
	s.c.finish(5 * time.Second)
	s.stop()
	s.logStderr()
	if s.life <= 0 {
		s.life = s.c.maxRSS()
	}
	return s.life
}

// WaitsOnClose says whether an orderly Close waits for the child's exit
// (cuda); a caller may then End the session early, while it still works.
func (s *Session) WaitsOnClose() bool { return s.spec.Config.Device == DeviceCUDA }

// logStderr logs what the child wrote to stderr so far.
func (s *Session) logStderr() {
	for _, line := range strings.Split(Sanitize(s.c.stderr.String(), 64<<10), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			s.spec.Logf("child: " + line)
		}
	}
}

// exiting counts the children whose orderly exit Close did not wait for.
// (A sync.WaitGroup would panic when a Close adds while a Drain that
// timed out still waits.)
var exiting = &exitCount{}

type exitCount struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0
}

func (e *exitCount) add() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == 0 {
		e.idle = make(chan struct{})
	}
	e.n++
}

func (e *exitCount) done() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n--; e.n == 0 {
		close(e.idle)
	}
}

// Drain waits, at most timeout, until every child Close left exiting is
// reaped and its cgroup removed; it reports whether they all were. A
// process about to exit calls it (`srarena eval` after its report), so
// that no cgroup outlives it.
func Drain(timeout time.Duration) bool { return exiting.wait(timeout) }

func (e *exitCount) wait(timeout time.Duration) bool {
	e.mu.Lock()
	if e.n == 0 {
		e.mu.Unlock()
		return true
	}
	idle := e.idle
	e.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}

// arm (re)starts the watchdog: after d the child is killed with reason.
func (s *Session) arm(d time.Duration, reason *outcome.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(d, func() { s.c.kill(reason) })
}

func (s *Session) disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timer != nil {
		s.timer.Stop()
	}
}

// failure turns a broken conversation with the child into an error: the
// reason the parent killed it, an OOM kill, a crash signal, or garbage.
func (s *Session) failure(cause error) error {
	s.disarm()
	s.done = true
	c := s.c
	if errors.Is(cause, errFrame) {
		c.kill(outcome.Errorf(outcome.Crashed, "the model process sent a malformed response %s", s.phase))
	} else {
		// EOF: the child is dying on its own; let it, so its exit status
		// tells why, but never wait long.
		select {
		case <-c.waitDone:
		case <-time.After(2 * time.Second):
			c.kill(outcome.Errorf(outcome.Crashed, "the model process stopped responding %s", s.phase))
		}
	}
	<-c.waitDone
	if r := c.killed.Load(); r != nil && *r != nil {
		if k, ok := outcome.Of(*r); ok && k == outcome.Timeout && c.cg.oomKilled() {
			return s.oom()
		}
		return *r
	}
	if c.cg.oomKilled() {
		return s.oom()
	}
	if memoryText(c.stderr.String()) {
		return s.oom()
	}
	var ee *exec.ExitError
	if errors.As(c.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig := ws.Signal()
			if sig == syscall.SIGKILL {
				return s.oom() // nobody else SIGKILLs it: the kernel's OOM killer did
			}
			return outcome.Errorf(outcome.Crashed, "the model crashed ONNX Runtime (%s) %s", sigName(sig), s.phase)
		}
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			return outcome.Errorf(outcome.Crashed, "the model process exited unexpectedly (status %d) %s", ws.ExitStatus(), s.phase)
		}
	}
	if errors.Is(cause, errFrame) {
		return outcome.Errorf(outcome.Crashed, "the model process sent a malformed response %s", s.phase)
	}
	if c.waitErr == nil {
		return outcome.Errorf(outcome.Crashed, "the model process exited early %s", s.phase)
	}
	return fmt.Errorf("sandbox: child %s: %w (%v)", s.phase, cause, c.waitErr)
}

func (s *Session) oom() *outcome.Error {
	return outcome.Errorf(outcome.OOM, "model process was killed after exceeding the %s memory limit %s", fmtBytes(s.spec.MemoryLimit), s.phase)
}

func memoryText(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "bad_alloc") || strings.Contains(s, "failed to allocate") ||
		strings.Contains(s, "out of memory") || strings.Contains(s, "cannot allocate memory")
}

func sigName(s syscall.Signal) string {
	names := map[syscall.Signal]string{syscall.SIGSEGV: "SIGSEGV", syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS",
		syscall.SIGILL: "SIGILL", syscall.SIGFPE: "SIGFPE", syscall.SIGXFSZ: "SIGXFSZ", syscall.SIGSYS: "SIGSYS", syscall.SIGXCPU: "SIGXCPU"}
	if n, ok := names[s]; ok {
		return n
	}
	return "signal " + strconv.Itoa(int(s))
}

// expect reads the next frame's type: want, else the child's own error
// frame (loading says whether the model was still being loaded), else a
// protocol failure.
func (s *Session) expect(want byte, loading bool) error {
	_, err := s.frame(loading, want)
	return err
}

// frame reads the type of the next frame, one of want; an 'E' frame
// becomes the child's error (worded for loading or for an image).
func (s *Session) frame(loading bool, want ...byte) (byte, error) {
	typ, err := s.c.stdout.ReadByte()
	if err != nil {
		return 0, s.failure(err)
	}
	if typ == frameError {
		return 0, s.childError(loading)
	}
	if !slices.Contains(want, typ) {
		return 0, s.failure(errFrame)
	}
	return typ, nil
}

// childError maps an 'E' frame to a participant message.
func (s *Session) childError(loading bool) error {
	b, err := readBlob(s.c.stdout, maxErrorBytes)
	if err != nil {
		return s.failure(err)
	}
	msg := Sanitize(string(b), 600)
	s.done = true
	if memoryText(msg) {
		// ORT refused an allocation (RLIMIT_AS, arena): the process lives,
		// but the model needs more than it may have.
		need := ""
		if i := strings.Index(msg, "buffer of size "); i >= 0 && !s.spec.Hidden {
			if n, err := strconv.ParseInt(strings.Fields(msg[i+len("buffer of size "):] + " x")[0], 10, 64); err == nil {
				need = fmt.Sprintf(" (it asked for %s at once)", fmtBytes(n))
			}
		}
		return outcome.Errorf(outcome.OOM, "the model needs more memory than the %s limit %s%s", fmtBytes(s.spec.MemoryLimit), s.phase, need)
	}
	if loading {
		return outcome.Errorf(outcome.LoadError, "ONNX Runtime could not load the model: %s", msg)
	}
	if s.spec.Hidden {
		// ORT's messages quote tensor shapes: the hidden image's size.
		return outcome.Errorf(outcome.RuntimeError, "inference failed %s (ONNX Runtime's message is withheld on a test set; run the model on the validation set to see it)", s.phase)
	}
	return outcome.Errorf(outcome.RuntimeError, "inference failed %s: %s", s.phase, msg)
}

// readStatus reads the child's 'S' frame. Anything else is the platform's
// fault: an 'E' frame (ORT or the CUDA provider failed to load) or a death
// before the model was sent.
func (s *Session) readStatus() (*Status, error) {
	c := s.c
	infra := func(format string, a ...any) error {
		s.disarm()
		return fmt.Errorf("runner: sandbox child failed before the model was sent: "+format, a...)
	}
	typ, err := c.stdout.ReadByte()
	if err != nil {
		select {
		case <-c.waitDone:
		case <-time.After(2 * time.Second):
		}
		return nil, infra("%v (%v; stderr: %s)", err, c.waitErr, Sanitize(c.stderr.String(), 600))
	}
	switch typ {
	case frameSandbox:
	case frameError:
		b, err := readBlob(c.stdout, maxErrorBytes)
		if err != nil {
			return nil, infra("%w", err)
		}
		return nil, infra("%s", Sanitize(string(b), 600))
	default:
		return nil, infra("unexpected frame %q", typ)
	}
	b, err := readBlob(c.stdout, maxStatusBytes)
	if err != nil {
		return nil, infra("%w", err)
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, infra("sandbox status: %w", err)
	}
	return &st, nil
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// scaleWord is "×4" for an output 4 times the input's side.
func scaleWord(out, in int) string {
	if in <= 0 {
		return "×?"
	}
	return "×" + strconv.Itoa(out/in)
}

func fmtDims(d []int64) string {
	if len(d) == 0 {
		return "a scalar"
	}
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(s, "×")
}
