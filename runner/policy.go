package runner

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/srarena/srarena/jobs"
)

// sandboxUID is the host uid and gid a root worker runs the child as. It is
// not 65534 (nobody): the private PostgreSQL of `srarena up` runs as
// postgres or, failing that, as nobody, and a sandbox escape must never own
// the database files. 65533 is conventionally unused (the top of the
// 16-bit range below nobody and nogroup); do not give it to anything else.
const sandboxUID = 65533

// MinORTVersion is the oldest ONNX Runtime the runner hands a model to:
// earlier versions have memory-safety bugs reachable from crafted models
// (sandbox.md §1.3, §2).
const MinORTVersion = "1.30.0"

// MaxPSNR caps a stored per-image PSNR, in dB. A model that reproduces an
// image exactly has an infinite PSNR (MSE 0), which results.psnr (NOT NULL)
// and JSON cannot hold. The cap is above every finite PSNR the runner can
// compute, so it never changes a ranking between imperfect models: the
// smallest nonzero error is a single 1-level difference, whose PSNR is
// 10·log10(255²·N) for N compared values. For an 8K×8K output (N =
// 3·8192²) that is ≈ 131.2 dB; for the largest output the runner accepts
// (MaxSide×4 = 32768 a side, N = 3·32768²) ≈ 143.2 dB; PSNR on rounded Y
// (N = 32768²) ≈ 138.4 dB. Cropping the border only lowers N. Real ×4
// results are ≈ 30 dB. Package scoring keeps +Inf, as the official code
// does; only what the runner stores is capped.
const MaxPSNR = 150.0

// Devices for Options.Device.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

// DeviceForQueue is the device a worker of River queue uses: CUDA on the
// GPU queue, the CPU everywhere else.
func DeviceForQueue(queue string) string {
	if queue == jobs.QueueGPU {
		return DeviceCUDA
	}
	return DeviceCPU
}

// compareVersions compares dotted numeric versions ("1.30.0", "1.9"):
// -1, 0 or +1. Missing components count as 0; anything after a '-' or '+'
// (a pre-release or build tag) is ignored. ok is false when either is not
// a version at all.
func compareVersions(a, b string) (cmp int, ok bool) {
	pa, oka := parseVersion(a)
	pb, okb := parseVersion(b)
	if !oka || !okb {
		return 0, false
	}
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
	}
	return 0, true
}

func parseVersion(v string) ([]int, bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	if v == "" {
		return nil, false
	}
	var out []int
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, false
		}
		out = append(out, n)
	}
	return out, true
}

// checkORTVersion refuses an ONNX Runtime older than MinORTVersion, or one
// whose version cannot be read.
func checkORTVersion(v string) error {
	c, ok := compareVersions(v, MinORTVersion)
	if !ok {
		return fmt.Errorf("runner: ONNX Runtime reports version %q, which is not a version: refusing to evaluate; run make ort", v)
	}
	if c < 0 {
		return fmt.Errorf("runner: ONNX Runtime %s is too old: versions before %s are exploitable by crafted models; run make ort",
			v, strings.TrimSuffix(MinORTVersion, ".0"))
	}
	return nil
}

// sandboxMissing lists what the child's sandbox lacks: a uid of its own
// (a user namespace, or a uid other than the worker's), Landlock and
// seccomp. Empty means complete.
func sandboxMissing(st sandboxStatus, workerUID int) []string {
	var miss []string
	if !st.UserNS && st.UID == workerUID {
		miss = append(miss, fmt.Sprintf("a uid of its own (it runs as the worker's uid %d without a user namespace)", st.UID))
	}
	if st.LandlockABI < 1 {
		miss = append(miss, "Landlock")
	}
	if !st.Seccomp {
		miss = append(miss, "seccomp")
	}
	return miss
}
