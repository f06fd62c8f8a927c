package sandbox

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
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

// Devices for Config.Device.
const (
	DeviceCPU  = "cpu"
	DeviceCUDA = "cuda"
)

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
func sandboxMissing(st Status, workerUID int) []string {
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

// NewConfig is the configuration a child gets: threads, runs per image
// (warm-up included), and the layers; noLandlock and noSeccomp are for
// debugging only (the session then refuses unless InsecureSandbox).
//
// RLIMIT_AS (addressSpace) is set only on the CPU. The CUDA driver reserves
// virtual address space far beyond any memory limit (tens of GiB for its
// unified address space and each context), so under RLIMIT_AS every CUDA
// evaluation would fail to create its context. A CUDA child's host memory
// is bounded by the cgroup alone; its GPU memory by the GPU. RLIMIT_AS is
// also skipped for race-instrumented binaries, whose shadow memory needs
// terabytes of address space.
func NewConfig(device, ortLib string, threads, runs int, addressSpace int64, noLandlock, noSeccomp bool) (Config, error) {
	return newConfig(device, ortLib, threads, runs, addressSpace, noLandlock, noSeccomp, raceEnabled)
}

func newConfig(device, ortLib string, threads, runs int, addressSpace int64, noLandlock, noSeccomp, race bool) (Config, error) {
	cfg := Config{ORTLib: "/proc/self/fd/" + strconv.Itoa(fdORT), Threads: threads, Runs: runs,
		Landlock: !noLandlock, Seccomp: !noSeccomp, ExeFD: fdExe, Device: device}
	if addressSpace > 0 && !race && device != DeviceCUDA {
		cfg.AS = uint64(addressSpace)
	}
	if device == DeviceCUDA {
		// ORT finds the CUDA provider libraries next to the path it was
		// loaded from (dladdr), which must be the real directory, not
		// /proc/self/fd. That directory must be readable by the sandbox uid.
		lib, err := filepath.Abs(ortLib)
		if err != nil {
			return cfg, fmt.Errorf("runner: ONNX Runtime library: %w", err)
		}
		cfg.ORTLib, cfg.ORTDir = lib, filepath.Dir(lib)
	}
	return cfg, nil
}
