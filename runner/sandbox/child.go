package sandbox

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/srarena/srarena/scoring"
	ort "github.com/yalue/onnxruntime_go"

	"github.com/srarena/srarena/runner/sandbox/ortmem"
	"golang.org/x/sys/unix"
)

// ChildArg is the hidden subcommand that runs the sandboxed child: the
// parent re-executes its own binary as "BINARY __sandbox-child".
const ChildArg = "__sandbox-child"

const stage2Arg = "stage2"

// Fixed descriptor numbers in the child (0–2 are the protocol and stderr).
const (
	fdExe    = 3 // our own executable, for the stage-2 exec
	fdORT    = 4 // the ONNX Runtime library, dlopened as /proc/self/fd/4
	fdStatus = 5 // /proc/self/status, opened before Landlock
	fdClear  = 6 // /proc/self/clear_refs, opened before Landlock
	// fdWatch is the read end of a pipe whose only write end the parent
	// holds and never writes: it reads EOF the moment the parent is gone,
	// however it ended, and the child then exits (watchParent).
	fdWatch = 7
	// fdOut is the shared output buffer (shm_linux.go), when the parent
	// has one.
	fdOut = 8
)

// childProbe, set only by test binaries, replaces the session when the
// "model" is probeModel: it reports what the sandbox lets it do.
var childProbe func() string

const probeModel = "\x00srarena-sandbox-probe"

// MaybeRunChild runs the child (or the cgroup reaper) and exits when
// os.Args asks for it. Call it
// first thing in TestMain so a test binary can serve as the child.
func MaybeRunChild() {
	if len(os.Args) > 1 && os.Args[1] == ChildArg {
		os.Exit(ChildMain(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == ReaperArg {
		os.Exit(ReaperMain(os.Args[2:]))
	}
}

// ChildMain is the sandboxed child. Stage 1 (no arguments) reads the
// configuration, sets rlimits, NO_NEW_PRIVS and Landlock on a single locked
// thread, then execve()s itself as stage 2 so that every thread of the
// process that loads ORT inherits the Landlock domain (landlock_restrict_self
// only covers the calling thread). Stage 2 loads ORT, adds seccomp (TSYNC),
// then reads the model and serves images. Errors go to stderr and, once the
// protocol is up, as an 'E' frame.
func ChildMain(args []string) int {
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "sandbox: "+format+"\n", a...) }
	if len(args) == 2 && args[0] == stage2Arg {
		return stage2(args[1], logf)
	}
	if err := stage1(logf); err != nil {
		logf("stage 1: %v", err)
		return 3
	}
	return 0 // not reached: stage1 execs or fails
}

func stage1(logf func(string, ...any)) error {
	runtime.LockOSThread() // Landlock and prctl below are per-thread until the exec
	if err := dieWithParent(); err != nil {
		return err
	}
	magic := make([]byte, len(protoMagic))
	if _, err := io.ReadFull(os.Stdin, magic); err != nil || string(magic) != protoMagic {
		return fmt.Errorf("bad handshake (%v)", err)
	}
	raw, err := readBlob(os.Stdin, maxConfigBytes) // os.Stdin is unbuffered: stage 2 reads the rest
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	// Opened now, used by stage 2: after Landlock /proc is out of reach.
	if cfg.StatusFD, err = openNoCloexec("/proc/self/status", unix.O_RDONLY, fdStatus); err != nil {
		logf("peak-memory probe unavailable: %v", err)
		cfg.StatusFD = -1
	}
	if cfg.ClearFD, err = openNoCloexec("/proc/self/clear_refs", unix.O_WRONLY, fdClear); err != nil {
		cfg.ClearFD = -1
	}
	var prot []string
	uid := os.Getuid()
	userNS := inUserNS()
	switch {
	case userNS:
		prot = append(prot, fmt.Sprintf("uid %d in a user namespace", uid))
	default:
		prot = append(prot, fmt.Sprintf("uid %d (no user namespace)", uid))
	}
	lims, err := setRlimits(cfg.AS)
	if err != nil {
		return err
	}
	prot = append(prot, "rlimits "+strings.Join(lims, ","))
	if err := noNewPrivs(); err != nil {
		return fmt.Errorf("PR_SET_NO_NEW_PRIVS: %w", err)
	}
	prot = append(prot, "no_new_privs")
	llABI := 0
	if cfg.Landlock {
		rules := []llRule{
			{fd: cfg.ExeFD, access: llRead | llExec},
			{path: cfg.ORTLib, access: llRead | llExec},
			// The dynamic loader and the C/C++ runtime ORT links against.
			{path: "/lib", access: llRead | llExec},
			{path: "/lib64", access: llRead | llExec},
			{path: "/usr/lib", access: llRead | llExec},
			{path: "/usr/lib64", access: llRead | llExec},
			{path: "/etc/ld.so.cache", access: llRead},
			// CPU topology for ORT's thread pool sizing.
			{path: "/sys/devices/system/cpu", access: llRead},
			{path: "/proc/cpuinfo", access: llRead},
		}
		if cfg.Device == DeviceCUDA {
			rules = append(rules, cudaRules(cfg.ORTDir)...)
		}
		if raceEnabled {
			// The race runtime of test binaries reads its own maps at start.
			rules = append(rules, llRule{path: "/proc/self", access: llRead})
		}
		abi, err := landlockRestrict(rules)
		if err != nil {
			// Reported, not fatal here: the parent decides (it refuses
			// unless the operator opted into an insecure sandbox).
			logf("landlock unavailable: %v", err)
			prot = append(prot, "landlock OFF ("+err.Error()+")")
		} else {
			llABI = abi
			prot = append(prot, fmt.Sprintf("landlock ABI %d (read-only: ORT library, system libraries; no TCP)", abi))
		}
	} else {
		prot = append(prot, "landlock OFF (disabled by the operator)")
	}
	enc, _ := json.Marshal(stage2Config{cfg, prot, uid, userNS, llABI})
	argv := []string{"srarena", ChildArg, stage2Arg, base64.RawURLEncoding.EncodeToString(enc)}
	exe := "/proc/self/fd/" + strconv.Itoa(cfg.ExeFD)
	err = unix.Exec(exe, argv, []string{}) // empty environment, again
	return fmt.Errorf("exec stage 2: %w", err)
}

// stage2Config is what stage 1 hands stage 2 on its command line.
type stage2Config struct {
	Config
	Prot        []string `json:"prot"`
	UID         int      `json:"uid"`
	UserNS      bool     `json:"user_ns"`
	LandlockABI int      `json:"landlock_abi"`
}

// inUserNS reports whether this process is in a user namespace other than
// the initial one, whose uid_map is the identity over the whole range.
func inUserNS() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false // unknown counts as no: the parent then wants another uid
	}
	f := strings.Fields(string(b))
	return !(len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295")
}

// cudaRules is what the CUDA execution provider needs under Landlock:
// read/execute on the ONNX Runtime directory (libonnxruntime_providers_shared.so
// and libonnxruntime_providers_cuda.so are dlopened from next to the core
// library) and read/write/ioctl on the NVIDIA device nodes (/dev/nvidiactl,
// /dev/nvidia0…, /dev/nvidia-uvm…). The CUDA, cuDNN and cuBLAS libraries must
// sit under /usr/lib or /usr/lib64 (or in ortDir): the child's environment is
// empty, so LD_LIBRARY_PATH does not reach it. Not verified on a GPU (none
// was available when this was written): a GPU worker that fails here needs
// another rule, not a weaker sandbox.
func cudaRules(ortDir string) []llRule {
	var rules []llRule
	if ortDir != "" {
		rules = append(rules, llRule{path: ortDir, access: llRead | llExec})
	}
	devs, _ := filepath.Glob("/dev/nvidia*")
	for _, d := range devs {
		rules = append(rules, llRule{path: d, access: llDevRW})
	}
	return rules
}

// childWriter frames messages to the parent.
type childWriter struct{ w *bufio.Writer }

func (c childWriter) errorf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if len(msg) > maxErrorBytes {
		msg = msg[:maxErrorBytes]
	}
	c.w.WriteByte(frameError)
	writeBlob(c.w, []byte(msg))
	c.w.Flush()
}

func stage2(encCfg string, logf func(string, ...any)) int {
	runtime.LockOSThread() // every ORT call, and every thread ORT creates, from this thread
	// Stage 1 may have exec'd from a thread other than the main one, and
	// the parent-death signal belongs to the thread that set it: set it
	// again here, in the process that runs the model.
	if err := dieWithParent(); err != nil {
		logf("%v", err)
		return 3
	}
	watchParent()
	out := childWriter{bufio.NewWriterSize(os.Stdout, 1<<20)}
	raw, err := base64.RawURLEncoding.DecodeString(encCfg)
	var cfg stage2Config
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		logf("stage 2 config: %v", err)
		return 3
	}
	unix.Close(cfg.ExeFD)
	prot := cfg.Prot

	// ONNX Runtime's telemetry (in the Linux release library: 1DS) would,
	// as the environment is created, look for a device id (running a shell
	// for `blkid; hostname`, reading /etc/machine-id), open an SQLite
	// database under ~/.cache and a debug log in /tmp: all denied here, but
	// tried, at a few ms of every start. Off, before the library loads;
	// the only variable the child's environment ever holds.
	os.Setenv("ORT_DISABLE_TELEMETRY", "1")
	ort.SetSharedLibraryPath(cfg.ORTLib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		out.errorf("initialising ONNX Runtime: %v", err)
		return 3
	}
	unix.Close(fdORT) // mapped now; the descriptor is not needed any more
	// Session options, with the CUDA provider, before the model: loading
	// the provider is an infrastructure matter, and it needs the filesystem
	// that layer 2 below takes away.
	so, err := sessionOptions(cfg.Threads, cfg.NoSpin, cfg.Device, cfg.GPU)
	if err != nil {
		out.errorf("%v", err)
		return 3
	}
	defer so.Destroy()
	if cfg.Landlock && cfg.LandlockABI > 0 {
		// Second layer, this thread and the ORT threads it will spawn only:
		// nothing on the filesystem from now on (CUDA: the device nodes).
		var rules []llRule
		if cfg.Device == DeviceCUDA {
			rules = cudaRules("")
		}
		if _, err := landlockRestrict(rules); err == nil {
			prot = append(prot, "landlock layer 2 (no filesystem access) on the inference threads")
		}
	}
	seccompOn := false
	if cfg.Seccomp {
		if err := installSeccomp(); err != nil {
			logf("seccomp unavailable: %v", err)
			prot = append(prot, "seccomp OFF ("+err.Error()+")")
		} else {
			seccompOn = true
			prot = append(prot, fmt.Sprintf("seccomp (%d syscalls denied: network, exec, ptrace, mount, bpf, ...)", len(deniedSyscalls)))
		}
	} else {
		prot = append(prot, "seccomp OFF (disabled by the operator)")
	}
	for _, p := range prot {
		logf("active: %s", p)
	}
	st := Status{UID: cfg.UID, UserNS: cfg.UserNS, LandlockABI: cfg.LandlockABI, Seccomp: seccompOn,
		ORTVersion: ort.GetVersion(), Protections: prot, Build: BuildStamp}
	j, _ := json.Marshal(st)
	out.w.WriteByte(frameSandbox)
	writeBlob(out.w, j)
	if err := out.w.Flush(); err != nil {
		return 3
	}

	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	n, err := getU64(in)
	if err != nil || n == 0 || n > MaxModelBytes {
		out.errorf("reading the model: bad length %d (%v)", n, err)
		return 3
	}
	model := make([]byte, n)
	if _, err := io.ReadFull(in, model); err != nil {
		out.errorf("reading the model: %v", err)
		return 3
	}
	if childProbe != nil && string(model) == probeModel {
		out.errorf("%s", childProbe())
		return 0
	}
	s, err := newSession(model, so, cfg.ORTLib)
	if err != nil {
		out.errorf("%v", err)
		return 2
	}
	s.lib, s.device, s.gpu = cfg.ORTLib, cfg.Device, cfg.GPU
	if cfg.OutFD == fdOut {
		s.shm = &childOut{fd: fdOut}
	}
	s.dataRange = cfg.DataRange
	if s.dataRange == 0 {
		s.dataRange = 1
	}
	info := Ready{Input: s.in, Output: s.out, SessionNS: s.loadNS, HWM: vmHWM(cfg.StatusFD), SessionOnce: s.once}
	j, _ = json.Marshal(info)
	out.w.WriteByte(frameReady)
	writeBlob(out.w, j)
	if err := out.w.Flush(); err != nil {
		return 3
	}
	for {
		h, err1 := getU32(in)
		w, err2 := getU32(in)
		if err := errors.Join(err1, err2); err != nil {
			return 3
		}
		if h == 0 && w == 0 {
			return 0
		}
		if h > MaxSide || w > MaxSide {
			out.errorf("input %dx%d too large", w, h)
			return 3
		}
		if err := s.serve(in, out, int(h), int(w), cfg.Scale, cfg.Runs, cfg.StatusFD, cfg.ClearFD); err != nil {
			out.errorf("%v", err)
			return 2
		}
	}
}

type session struct {
	s       *ort.DynamicAdvancedSession
	in, out string
	loadNS  int64
	once    bool // created once, without a temporary session (Ready.SessionOnce)
	buf     []byte
	// The input tensor's and the preallocated output tensor's values.
	inVals, outVals []float32
	// pix is the quantised output, reused from image to image, when it
	// goes through the pipe; shm the shared buffer, nil without one.
	pix       []uint8
	shm       *childOut
	dataRange float32
	// For the arena statistics (arenaPeak).
	lib, device string
	gpu         int
}

// arenaPeak is the peak the session's arena has had in use so far, bytes:
// GPU memory on "cuda", the CPU arena's otherwise; -1 when unknown.
func (s *session) arenaPeak() int64 {
	mem, dev := ortmem.MemCPU, 0
	if s.device == DeviceCUDA {
		mem, dev = ortmem.MemCUDA, s.gpu
	}
	st, err := ortmem.ArenaStats(s.lib, s.s, mem, dev)
	if err != nil {
		return -1
	}
	return st.MaxInUse
}

// sessionOptions are the options of every session: threads, full graph
// optimisation, ONNX format only, and on "cuda" the CUDA execution provider
// on device 0 (ort.md §3: Update is what loads the provider library, so a
// host without it fails here, before any model).
func sessionOptions(threads int, noSpin bool, device string, gpu int) (*ort.SessionOptions, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %v", err)
	}
	for _, e := range []error{
		so.SetIntraOpNumThreads(threads),
		so.SetInterOpNumThreads(1),
		so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll),
		so.SetLogSeverityLevel(ort.LoggingLevelError),
		// Only ONNX protobuf bytes, never the flatbuffer ORT format the
		// static validator does not parse.
		so.AddSessionConfigEntry("session.load_model_format", "ONNX"),
		so.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning(noSpin)),
		// Threads spin between a run's operators (ORT's default, fast)
		// but stop the moment Run returns: the parent scores right after a
		// run, on every core, and with a baseline the other child runs
		// next; threads left spinning took that CPU (scoring ≈ 25 ms
		// slower per evaluation, the neighbour's runs ≈ 1.5× slower).
		so.AddSessionConfigEntry("session.force_spinning_stop", "1"),
	} {
		if e != nil {
			so.Destroy()
			return nil, fmt.Errorf("session options: %v", e)
		}
	}
	if device == DeviceCUDA {
		if err := appendCUDA(so, gpu); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("CUDA execution provider unavailable: %v", err)
		}
	}
	return so, nil
}

// spinning is the value of ORT's session.intra_op.allow_spinning.
func spinning(noSpin bool) string {
	if noSpin {
		return "0"
	}
	return "1"
}

func appendCUDA(so *ort.SessionOptions, gpu int) error {
	co, err := ort.NewCUDAProviderOptions()
	if err != nil {
		return err
	}
	defer co.Destroy()
	// EXHAUSTIVE: the best conv algorithm, chosen during the warm-up runs
	// (never timed). kSameAsRequested: the arena grows only by what is
	// asked, so the memory limit is not hit by power-of-two rounding.
	if err := co.Update(map[string]string{
		"device_id":              strconv.Itoa(gpu),
		"cudnn_conv_algo_search": "EXHAUSTIVE",
		"arena_extend_strategy":  "kSameAsRequested",
	}); err != nil {
		return err
	}
	return so.AppendExecutionProviderCUDA(co)
}

func newSession(model []byte, so *ort.SessionOptions, lib string) (*session, error) {
	if in, out, ok := graphIO(model); ok {
		t0 := time.Now()
		ds, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{in}, []string{out}, so)
		if err != nil {
			return nil, fmt.Errorf("loading the model: %v", ortCause(err))
		}
		loadNS := time.Since(t0).Nanoseconds()
		ins, outs, nIn, nOut, err := ortmem.SessionIO(lib, ds)
		if err == nil && nIn == 1 && nOut == 1 && ins[0].Name == in && outs[0].Name == out &&
			ins[0].ONNXType == ortmem.ONNXTypeTensor && ins[0].ElemType == ortmem.ElemTypeFloat32 &&
			outs[0].ONNXType == ortmem.ONNXTypeTensor && outs[0].ElemType == ortmem.ElemTypeFloat32 {
			stopSpinning(ds)
			return &session{s: ds, in: in, out: out, loadNS: loadNS, once: true}, nil
		}
		// ORT sees the model otherwise: its own answer, and its own words
		// for what is wrong, come from the slow path.
		ds.Destroy()
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, fmt.Errorf("loading the model: %v", ortCause(err))
	}
	if len(ins) != 1 || len(outs) != 1 {
		return nil, fmt.Errorf("the model must have exactly one input and one output (it has %d and %d)", len(ins), len(outs))
	}
	for _, io := range []ort.InputOutputInfo{ins[0], outs[0]} {
		if io.OrtValueType != ort.ONNXTypeTensor || io.DataType != ort.TensorElementDataTypeFloat {
			return nil, fmt.Errorf("%q must be a float32 tensor (it is %v of %v)", io.Name, io.OrtValueType, io.DataType)
		}
	}
	t0 := time.Now()
	ds, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{ins[0].Name}, []string{outs[0].Name}, so)
	if err != nil {
		return nil, fmt.Errorf("loading the model: %v", ortCause(err))
	}
	loadNS := time.Since(t0).Nanoseconds()
	stopSpinning(ds)
	return &session{s: ds, in: ins[0].Name, out: outs[0].Name, loadNS: loadNS}, nil
}

// stopSpinning stops the spinning ORT's intra-op threads begin with. A new
// pool's workers spin for work (2^20 rounds, ≈ 25 ms of a core here) until
// a run ends: session.force_spinning_stop only turns spinning off as a
// Run returns. That spin took a core from the parent's decoding and the
// baseline child's start, which run meanwhile. A Run with an int64 tensor
// for the float32 input fails in ORT's input validation, before any node
// runs (nothing is computed, allocated or warmed up), and returning stops
// the spin. On an ORT that would run it after all, it would fail in the
// first node: never an output.
func stopSpinning(ds *ort.DynamicAdvancedSession) {
	bad, err := ort.NewTensor(ort.NewShape(1), []int64{0})
	if err != nil {
		return
	}
	defer bad.Destroy()
	ds.Run([]ort.Value{bad}, []ort.Value{nil}) // fails by design
}

func (s *session) serve(in *bufio.Reader, out childWriter, h, w, scale, runs, statusFD, clearFD int) error {
	nvals := 3 * h * w
	// The input and output tensors' memory is kept from image to image:
	// a new DIV2K output tensor was 33 MB for the Go runtime to clear
	// (or fault in) and then collect, every image.
	s.inVals = growSlice(s.inVals, nvals)
	data := s.inVals
	if err := readFloats(in, data, &s.buf); err != nil {
		return fmt.Errorf("reading input: %v", err)
	}
	input, err := ort.NewTensor(ort.NewShape(1, 3, int64(h), int64(w)), data)
	if err != nil {
		return fmt.Errorf("input tensor: %v", err)
	}
	defer input.Destroy()
	if clearFD >= 0 {
		unix.Pwrite(clearFD, []byte("5"), 0) // reset VmHWM: peak covers this image only
	}
	// The output goes into a tensor allocated once per image with the
	// shape the parent expects: no allocation and no copy of the output
	// inside the timed window. A model whose output has another shape
	// fails to run into it; it then runs with an output ORT allocates, so
	// the parent learns the real shape.
	var pre *ort.Tensor[float32]
	if scale > 0 {
		s.outVals = growSlice(s.outVals, 3*scale*h*scale*w)
		pre, err = ort.NewTensor(ort.NewShape(1, 3, int64(scale*h), int64(scale*w)), s.outVals)
		if err != nil {
			pre = nil
		}
	}
	var last ort.Value
	defer func() {
		if last != nil {
			last.Destroy()
		}
		if pre != nil {
			pre.Destroy()
		}
	}()
	for r := 0; r < runs; r++ {
		outputs := []ort.Value{nil}
		if pre != nil {
			outputs[0] = pre
		}
		c0 := cpuTime()
		t0 := time.Now()
		err := s.s.Run([]ort.Value{input}, outputs)
		dt := time.Since(t0)
		cpu := cpuTime() - c0
		if err != nil && pre != nil && r == 0 {
			// The parent learns of the failed run: the output the
			// retry gives must then have another shape than the one
			// preallocated (else the parent refuses the request), so
			// the run's CPU time is never hidden in a scored image.
			out.w.WriteByte(frameUntimed)
			putU64(out.w, uint64(max(dt.Nanoseconds(), 0)))
			putU64(out.w, uint64(max(cpu, 0)))
			pre.Destroy()
			pre = nil
			outputs[0] = nil
			c0 = cpuTime()
			t0 = time.Now()
			err = s.s.Run([]ort.Value{input}, outputs)
			dt = time.Since(t0)
			cpu = cpuTime() - c0
		}
		if err != nil {
			return fmt.Errorf("inference failed: %v", err)
		}
		if pre == nil {
			if last != nil {
				last.Destroy()
			}
			last = outputs[0]
		}
		out.w.WriteByte(frameTiming)
		putU64(out.w, uint64(dt.Nanoseconds()))
		putU64(out.w, uint64(max(cpu, 0)))
		if err := out.w.Flush(); err != nil {
			return err
		}
	}
	var t *ort.Tensor[float32]
	var ok bool
	if pre != nil {
		t, ok = pre, true
	} else {
		t, ok = last.(*ort.Tensor[float32])
	}
	if !ok {
		return fmt.Errorf("output %q is not a float32 tensor", s.out)
	}
	shape := t.GetShape()
	vals := t.GetData()
	out.w.WriteByte(frameOutput)
	putU32(out.w, uint32(len(shape)))
	for _, d := range shape {
		putU64(out.w, uint64(d))
	}
	putU64(out.w, uint64(vmHWM(statusFD)))
	putU64(out.w, uint64(s.arenaPeak()))
	oh, ow, ok := outputSize(shape, len(vals), h, w, scale)
	if !ok {
		// Not the shape the parent expects: it stops reading here.
		return out.w.Flush()
	}
	// Quantised here, after the timed runs, on every core: the parent
	// reads a quarter of the bytes and scores at once.
	t0 := time.Now()
	where := byte(outShared)
	pix := s.shm.get(3 * oh * ow)
	if pix == nil {
		where = outPipe
		if cap(s.pix) < 3*oh*ow {
			s.pix = make([]uint8, 3*oh*ow)
		}
		pix = s.pix[:3*oh*ow]
	}
	bad, err := scoring.QuantizeCHWInto(pix, vals, oh, ow, s.dataRange)
	if err != nil {
		return fmt.Errorf("quantising the output: %v", err)
	}
	kind := byte(badNaN)
	if bad >= 0 && math.IsInf(float64(vals[bad]), 1) {
		kind = badPosInf
	} else if bad >= 0 && math.IsInf(float64(vals[bad]), -1) {
		kind = badNegInf
	}
	putU64(out.w, uint64(int64(bad)))
	out.w.WriteByte(kind)
	putU64(out.w, uint64(time.Since(t0).Nanoseconds()))
	if bad < 0 {
		out.w.WriteByte(where)
		if where == outPipe {
			if _, err := out.w.Write(pix); err != nil {
				return err
			}
		}
	}
	return out.w.Flush()
}

// cpuTime is the CPU time of the whole process (every ORT thread), ns: a
// run's share of it does not grow when other processes take the CPU, as
// its wall time does (the runtime ratio's "cpu" clock, evaluate/ratio.go).
func cpuTime() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return ts.Nano()
}

// outputSize returns the output's height and width when its shape is
// 1×3×H×W with H·W·3 values and, for a known scale, H, W = scale·h, scale·w.
func outputSize(shape ort.Shape, n, h, w, scale int) (oh, ow int, ok bool) {
	if len(shape) != 4 || shape[0] != 1 || shape[1] != 3 || shape[2] <= 0 || shape[3] <= 0 ||
		shape[2] > 1<<20 || shape[3] > 1<<20 || 3*shape[2]*shape[3] != int64(n) {
		return 0, 0, false
	}
	oh, ow = int(shape[2]), int(shape[3])
	if scale > 0 && (oh != scale*h || ow != scale*w) {
		return 0, 0, false
	}
	return oh, ow, true
}

// vmHWM returns the process's peak resident set in bytes since the last
// clear_refs, or -1.
func vmHWM(fd int) int64 {
	if fd < 0 {
		return -1
	}
	b := make([]byte, 4096)
	n, err := unix.Pread(fd, b, 0)
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b[:n], []byte{'\n'}) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := strings.Fields(string(v))
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	return -1
}

// dieWithParent asks the kernel to SIGKILL this process when the thread
// that forked it exits (the parent keeps that thread for the child's whole
// life), and exits at once if the parent is already gone.
func dieWithParent() error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("PR_SET_PDEATHSIG: %w", err)
	}
	if parentGone() {
		os.Exit(3)
	}
	return nil
}

// parentGone polls the watch pipe: readable means EOF, since the parent
// never writes to it.
func parentGone() bool {
	fds := []unix.PollFd{{Fd: fdWatch, Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0
}

// watchParent exits the process (every thread, ORT's included) as soon as
// the watch pipe reads EOF: a second way to die with the parent, for the
// cases the death signal misses (it is tied to one thread of the parent,
// and cleared by credential changes). Without the pipe (a child started
// by hand) it does nothing.
func watchParent() {
	if _, err := unix.FcntlInt(fdWatch, unix.F_GETFD, 0); err != nil {
		return
	}
	go func() {
		var b [1]byte
		for {
			n, err := unix.Read(fdWatch, b[:])
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			if n <= 0 {
				os.Exit(137) // exit_group: ORT's threads go too
			}
		}
	}()
}

// ortCause is ONNX Runtime's own error under onnxruntime_go's one layer of
// wrapping ("Error creating C session: …", "Error creating temporary
// session: …"), so that a model that fails to load reads the same whichever
// way newSession created its session.
func ortCause(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}
