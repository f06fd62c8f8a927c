package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"
)

// The parent and the sandboxed child speak a small framed binary protocol
// over the child's stdin (parent → child) and stdout (child → parent). All
// integers are little-endian. The child is treated as hostile once it has
// seen the model: every length it sends is checked against a bound the
// parent computed itself before anything is allocated.
//
//	parent → child
//	  magic "SRARENA1"
//	  u32 n, n bytes of JSON Config          (n ≤ maxConfigBytes)
//	  (waits for 'S')
//	  u64 n, n bytes of model                      (n ≤ MaxModelBytes)
//	  per image: u32 H, u32 W, 3·H·W float32 CHW   (H = W = 0 ends the session)
//
//	child → parent, frames of one type byte and a payload
//	  'S' u32 n, n bytes of JSON Status     sandbox up, ORT initialised: sent
//	                                               before the child has seen the model,
//	                                               so it is still trustworthy; the
//	                                               parent sends the model only if the
//	                                               sandbox and ORT version pass
//	  'R' u32 n, n bytes of JSON Ready         session created
//	  'U' i64 ns, i64 cpu ns                       at most once, before the first 'T': a
//	                                               run into the preallocated output
//	                                               failed (its shape or type is not
//	                                               the model's); the output must then
//	                                               not have the expected shape
//	  'T' i64 ns, i64 cpu ns                       one inference run (warm-up runs first):
//	                                               wall time and the process's CPU time
//	  'O' u32 rank, rank·i64 dims, i64 hwm,        output of the last run (hwm: peak RSS;
//	      i64 arena peak,                          arena: ORT's, GPU on cuda, -1 unknown); the rest is
//	      [i64 bad, u8 kind, u64 ns, data]         there only if dims are 1×3×H×W with
//	                                               H, W = Scale·h, Scale·w (any H, W
//	                                               if Scale is 0), and read only if
//	                                               they are exactly what the parent
//	                                               expects. The child quantises the
//	                                               output itself, after the timed
//	                                               runs, as scoring.QuantizeCHW does
//	                                               (Config.DataRange), checking every
//	                                               value on the way: bad is the CHW
//	                                               index of the first NaN/±Inf (kind
//	                                               badNaN/badPosInf/badNegInf), or -1;
//	                                               ns is how long that took; data, only
//	                                               when bad is -1, is H·W·3 bytes of
//	                                               8-bit RGB, interleaved (an Image's
//	                                               Pix): a quarter of the float32 bytes;
//	                                               it is preceded by u8 where: 0, the
//	                                               bytes follow on the pipe; 1, they
//	                                               are in the shared output buffer
//	                                               (Config.OutFD, shm_linux.go), which
//	                                               the parent made that large before
//	                                               the request
//	  'E' u32 n, n bytes of message                the child gives up (load/run error)
const (
	protoMagic = "SRARENA4" // 2: 8-bit outputs; 3: in a shared buffer; 4: 'U' frames

	frameSandbox = 'S'
	frameReady   = 'R'
	frameTiming  = 'T'
	frameUntimed = 'U'
	frameOutput  = 'O'
	frameError   = 'E'

	maxConfigBytes = 64 << 10
	maxReadyBytes  = 64 << 10
	maxStatusBytes = 64 << 10
	maxErrorBytes  = 8 << 10
	maxRank        = 8

	// Kinds of a non-finite output value ('O' frame).
	badNaN    = 0
	badPosInf = 1
	badNegInf = 2

	// Where the 8-bit output is ('O' frame).
	outPipe   = 0
	outShared = 1

	// MaxModelBytes bounds the model the parent will send (ModelProto itself
	// is limited to 2 GiB; uploads are capped far lower).
	MaxModelBytes = 1 << 30
	// MaxSide bounds each LR side so that H·W·3·4 and the ×scale output fit
	// comfortably in memory and int arithmetic.
	MaxSide = 1 << 13
)

// Config is everything the child learns from the parent besides the
// model and the LR tensors. It must never carry secrets or dataset paths.
type Config struct {
	ORTLib  string `json:"ort_lib"` // path the child dlopens, normally /proc/self/fd/N
	Threads int    `json:"threads"` // ORT intra-op threads
	Runs    int    `json:"runs"`    // warm-up + repeats per image
	// NoSpin makes ORT's intra-op threads sleep instead of spinning while
	// they wait for work inside a run (evaluate's Options.Spin). Between
	// runs they never spin (session.force_spinning_stop, child.go).
	NoSpin bool `json:"no_spin,omitempty"`
	Scale  int  `json:"scale"` // output side / input side (0: unknown, no preallocated output)
	// DataRange is the model's pixel range (1 or 255; 0 means 1): the
	// child quantises outputs with it.
	DataRange float32 `json:"data_range,omitempty"`
	AS        uint64  `json:"as"`        // RLIMIT_AS in bytes, 0 = leave alone
	Landlock  bool    `json:"landlock"`  // apply Landlock
	Seccomp   bool    `json:"seccomp"`   // install the seccomp filter
	ExeFD     int     `json:"exe_fd"`    // fd of our own executable, for the stage-2 exec
	StatusFD  int     `json:"status_fd"` // set by stage 1 for stage 2
	ClearFD   int     `json:"clear_fd"`  // set by stage 1 for stage 2
	// OutFD is the shared output buffer's descriptor (0: none; outputs
	// then go through the pipe).
	OutFD int `json:"out_fd,omitempty"`
	// Device is "cpu" or "cuda" (the CUDA execution provider on device 0).
	Device string `json:"device"`
	// GPU is the CUDA device the child uses (Device "cuda"): a worker is
	// bound to one GPU.
	GPU int `json:"gpu"`
	// ORTDir is the ONNX Runtime library's directory, read-only under
	// Landlock, for Device "cuda" only: the CUDA provider libraries are
	// dlopened from next to the core library.
	ORTDir string `json:"ort_dir,omitempty"`
}

// Status is what the child reports once its sandbox is complete and
// ONNX Runtime is initialised, before it reads the model. The parent checks
// it (fail closed) before sending the model.
type Status struct {
	UID         int      `json:"uid"`          // getuid() in the child
	UserNS      bool     `json:"user_ns"`      // the child is in a user namespace of its own
	LandlockABI int      `json:"landlock_abi"` // 0: Landlock not active
	Seccomp     bool     `json:"seccomp"`      // the seccomp filter is installed
	ORTVersion  string   `json:"ort_version"`  // ort.GetVersion()
	Build       string   `json:"build"`        // the child program's BuildStamp
	Protections []string `json:"protections"`  // human-readable, for the record
}

// Ready is what the child reports once the session exists.
// Everything about the sandbox and ORT comes earlier, in Status: by
// now the child has parsed the model and may be lying.
type Ready struct {
	Input     string `json:"input"`
	Output    string `json:"output"`
	SessionNS int64  `json:"session_ns"`
	// HWM is the child's peak RSS up to now (loading the model), bytes;
	// -1 unknown. The per-image marks (Runs.HWM) start from a reset.
	HWM int64 `json:"hwm"`
	// SessionOnce: the child created one session, with the names read
	// from the model and confirmed by ORT (newSession's quick path); false
	// when it asked a temporary session first. For tests and the log only.
	SessionOnce bool `json:"session_once"`
}

var errFrame = errors.New("malformed frame")

func putU32(w io.Writer, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	_, err := w.Write(b[:])
	return err
}

func putU64(w io.Writer, v uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, err := w.Write(b[:])
	return err
}

func getU32(r io.Reader) (uint32, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b[:]), nil
}

func getU64(r io.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// readBlob reads a u32-length-prefixed blob of at most max bytes.
func readBlob(r io.Reader, max int) ([]byte, error) {
	n, err := getU32(r)
	if err != nil {
		return nil, err
	}
	if int64(n) > int64(max) {
		return nil, fmt.Errorf("%w: %d-byte blob exceeds %d", errFrame, n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

func writeBlob(w io.Writer, b []byte) error {
	if err := putU32(w, uint32(len(b))); err != nil {
		return err
	}
	_, err := w.Write(b)
	return err
}

// encodeFloats appends v as little-endian float32 to dst.
func encodeFloats(dst []byte, v []float32) []byte {
	for _, f := range v {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(f))
	}
	return dst
}

// growSlice returns s resliced to n elements, reallocated only when its
// capacity is short (the contents are then not kept).
func growSlice[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// nativeLE says the machine stores a float32 as the protocol does, so the
// values can be copied as bytes (amd64, arm64).
var nativeLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// floatBytes is v's memory as bytes; only when nativeLE.
func floatBytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}

// writeFloats writes v as little-endian float32.
func writeFloats(w io.Writer, v []float32) error {
	if nativeLE {
		_, err := w.Write(floatBytes(v))
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for i := 0; i < len(v); i += 1 << 14 {
		buf = encodeFloats(buf[:0], v[i:min(i+1<<14, len(v))])
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// readFloats fills dst with little-endian float32 values read from r
// (scratch: a reusable buffer on big-endian machines).
func readFloats(r io.Reader, dst []float32, scratch *[]byte) error {
	if nativeLE {
		_, err := io.ReadFull(r, floatBytes(dst))
		return err
	}
	*scratch = growSlice(*scratch, 4*len(dst))
	if _, err := io.ReadFull(r, *scratch); err != nil {
		return err
	}
	decodeFloats(dst, *scratch)
	return nil
}

// decodeFloats fills dst from little-endian float32 bytes (len(b) = 4·len(dst)).
func decodeFloats(dst []float32, b []byte) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
}
