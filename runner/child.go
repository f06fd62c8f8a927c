package runner

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	ort "github.com/yalue/onnxruntime_go"
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
)

// childProbe, set only by test binaries, replaces the session when the
// "model" is probeModel: it reports what the sandbox lets it do.
var childProbe func() string

const probeModel = "\x00srarena-sandbox-probe"

// MaybeRunChild runs the child and exits when os.Args asks for it. Call it
// first thing in TestMain so a test binary can serve as the child.
func MaybeRunChild() {
	if len(os.Args) > 1 && os.Args[1] == ChildArg {
		os.Exit(ChildMain(os.Args[2:]))
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
	magic := make([]byte, len(protoMagic))
	if _, err := io.ReadFull(os.Stdin, magic); err != nil || string(magic) != protoMagic {
		return fmt.Errorf("bad handshake (%v)", err)
	}
	raw, err := readBlob(os.Stdin, maxConfigBytes) // os.Stdin is unbuffered: stage 2 reads the rest
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var cfg childConfig
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
	if uid := os.Getuid(); uid != 0 {
		prot = append(prot, fmt.Sprintf("uid %d", uid))
	} else {
		prot = append(prot, "uid 0 (no user namespace)")
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
		if raceEnabled {
			// The race runtime of test binaries reads its own maps at start.
			rules = append(rules, llRule{path: "/proc/self", access: llRead})
		}
		abi, err := landlockRestrict(rules)
		if err != nil {
			logf("landlock unavailable: %v", err)
			prot = append(prot, "landlock OFF ("+err.Error()+")")
		} else {
			prot = append(prot, fmt.Sprintf("landlock ABI %d (read-only: ORT library, system libraries; no TCP)", abi))
		}
	}
	enc, _ := json.Marshal(struct {
		childConfig
		Prot []string `json:"prot"`
	}{cfg, prot})
	argv := []string{"srarena", ChildArg, stage2Arg, base64.RawURLEncoding.EncodeToString(enc)}
	exe := "/proc/self/fd/" + strconv.Itoa(cfg.ExeFD)
	err = unix.Exec(exe, argv, []string{}) // empty environment, again
	return fmt.Errorf("exec stage 2: %w", err)
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
	out := childWriter{bufio.NewWriterSize(os.Stdout, 1<<20)}
	raw, err := base64.RawURLEncoding.DecodeString(encCfg)
	var cfg struct {
		childConfig
		Prot []string `json:"prot"`
	}
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		logf("stage 2 config: %v", err)
		return 3
	}
	unix.Close(cfg.ExeFD)
	prot := cfg.Prot

	ort.SetSharedLibraryPath(cfg.ORTLib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		out.errorf("initialising ONNX Runtime: %v", err)
		return 3
	}
	unix.Close(fdORT) // mapped now; the descriptor is not needed any more
	if cfg.Landlock {
		// Second layer, this thread and the ORT threads it will spawn only:
		// nothing at all on the filesystem from now on.
		if _, err := landlockRestrict(nil); err == nil {
			prot = append(prot, "landlock layer 2 (no filesystem access) on the inference threads")
		}
	}
	if cfg.Seccomp {
		if err := installSeccomp(); err != nil {
			logf("seccomp unavailable: %v", err)
			prot = append(prot, "seccomp OFF ("+err.Error()+")")
		} else {
			prot = append(prot, fmt.Sprintf("seccomp (%d syscalls denied: network, exec, ptrace, mount, bpf, ...)", len(deniedSyscalls)))
		}
	}
	for _, p := range prot {
		logf("active: %s", p)
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
	s, err := newSession(model, cfg.Threads)
	if err != nil {
		out.errorf("%v", err)
		return 2
	}
	info := readyInfo{ORTVersion: ort.GetVersion(), Input: s.in, Output: s.out, SessionNS: s.loadNS, Protections: prot}
	j, _ := json.Marshal(info)
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
		if err := s.serve(in, out, int(h), int(w), cfg.Runs, cfg.StatusFD, cfg.ClearFD); err != nil {
			out.errorf("%v", err)
			return 2
		}
	}
}

type session struct {
	s       *ort.DynamicAdvancedSession
	in, out string
	loadNS  int64
	buf     []byte
}

func newSession(model []byte, threads int) (*session, error) {
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		return nil, fmt.Errorf("loading the model: %v", err)
	}
	if len(ins) != 1 || len(outs) != 1 {
		return nil, fmt.Errorf("the model must have exactly one input and one output (it has %d and %d)", len(ins), len(outs))
	}
	for _, io := range []ort.InputOutputInfo{ins[0], outs[0]} {
		if io.OrtValueType != ort.ONNXTypeTensor || io.DataType != ort.TensorElementDataTypeFloat {
			return nil, fmt.Errorf("%q must be a float32 tensor (it is %v of %v)", io.Name, io.OrtValueType, io.DataType)
		}
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %v", err)
	}
	defer so.Destroy()
	var lvl ort.GraphOptimizationLevel = ort.GraphOptimizationLevelEnableAll
	for _, e := range []error{
		so.SetIntraOpNumThreads(threads),
		so.SetInterOpNumThreads(1),
		so.SetGraphOptimizationLevel(lvl),
		so.SetLogSeverityLevel(ort.LoggingLevelError),
		// Only ONNX protobuf bytes, never the flatbuffer ORT format the
		// static validator does not parse.
		so.AddSessionConfigEntry("session.load_model_format", "ONNX"),
	} {
		if e != nil {
			return nil, fmt.Errorf("session options: %v", e)
		}
	}
	t0 := time.Now()
	ds, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{ins[0].Name}, []string{outs[0].Name}, so)
	if err != nil {
		return nil, fmt.Errorf("loading the model: %v", err)
	}
	return &session{s: ds, in: ins[0].Name, out: outs[0].Name, loadNS: time.Since(t0).Nanoseconds()}, nil
}

func (s *session) serve(in *bufio.Reader, out childWriter, h, w, runs, statusFD, clearFD int) error {
	nvals := 3 * h * w
	if cap(s.buf) < 4*nvals {
		s.buf = make([]byte, 4*nvals)
	}
	b := s.buf[:4*nvals]
	if _, err := io.ReadFull(in, b); err != nil {
		return fmt.Errorf("reading input: %v", err)
	}
	data := make([]float32, nvals)
	decodeFloats(data, b)
	input, err := ort.NewTensor(ort.NewShape(1, 3, int64(h), int64(w)), data)
	if err != nil {
		return fmt.Errorf("input tensor: %v", err)
	}
	defer input.Destroy()
	if clearFD >= 0 {
		unix.Pwrite(clearFD, []byte("5"), 0) // reset VmHWM: peak covers this image only
	}
	var last ort.Value
	defer func() {
		if last != nil {
			last.Destroy()
		}
	}()
	for r := 0; r < runs; r++ {
		outputs := []ort.Value{nil}
		t0 := time.Now()
		err := s.s.Run([]ort.Value{input}, outputs)
		dt := time.Since(t0)
		if err != nil {
			return fmt.Errorf("inference failed: %v", err)
		}
		if last != nil {
			last.Destroy()
		}
		last = outputs[0]
		out.w.WriteByte(frameTiming)
		putU64(out.w, uint64(dt.Nanoseconds()))
		if err := out.w.Flush(); err != nil {
			return err
		}
	}
	t, ok := last.(*ort.Tensor[float32])
	if !ok {
		return fmt.Errorf("output %q is not a float32 tensor", s.out)
	}
	shape := t.GetShape()
	out.w.WriteByte(frameOutput)
	putU32(out.w, uint32(len(shape)))
	for _, d := range shape {
		putU64(out.w, uint64(d))
	}
	putU64(out.w, uint64(vmHWM(statusFD)))
	buf := make([]byte, 0, 1<<16)
	vals := t.GetData()
	for i := 0; i < len(vals); i += 1 << 14 {
		buf = encodeFloats(buf[:0], vals[i:min(i+1<<14, len(vals))])
		if _, err := out.w.Write(buf); err != nil {
			return err
		}
	}
	return out.w.Flush()
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
