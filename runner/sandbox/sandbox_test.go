package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/outcome"

	"golang.org/x/sys/unix"
)

// probeEnv carries the listener address and secret path to the child probe
// through the only channel it has: the probe reads them from argv-free,
// compile-time-known places, so they are passed by file name convention.
const (
	probeSecret = "/tmp/srarena-probe-secret.txt"
	probeAddr   = "127.0.0.1:47831"
)

func init() {
	childProbe = func() string {
		var res []string
		try := func(name string, f func() error) {
			err := f()
			res = append(res, fmt.Sprintf("%s=%v", name, errText(err)))
		}
		try("socket", func() error {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			if err == nil {
				unix.Close(fd)
			}
			return err
		})
		try("connect", func() error {
			c, err := net.Dial("tcp", probeAddr)
			if err == nil {
				c.Close()
			}
			return err
		})
		try("read_secret", func() error { _, err := os.ReadFile(probeSecret); return err })
		try("read_passwd", func() error { _, err := os.ReadFile("/etc/passwd"); return err })
		try("write_tmp", func() error { return os.WriteFile("/tmp/srarena-probe-written", []byte("x"), 0o644) })
		try("exec", func() error { return exec.Command("/bin/true").Run() })
		try("env", func() error {
			// Nothing of the parent's: only what stage 2 sets for ORT.
			if env := os.Environ(); len(env) != 1 || env[0] != "ORT_DISABLE_TELEMETRY=1" {
				return fmt.Errorf("%d variables", len(env))
			}
			return nil
		})
		var sig int32
		unix.Prctl(unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&sig)), 0, 0, 0)
		res = append(res, fmt.Sprintf("pdeathsig=%d", sig))
		return strings.Join(res, " ")
	}
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return "error"
}

// TestSandboxBlocks runs probes inside the child with each layer alone and
// all together, and checks that nothing gets out.
func TestSandboxBlocks(t *testing.T) {
	ortLib(t)
	if err := os.WriteFile(probeSecret, []byte("HIDDEN-HR"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(probeSecret)
	defer os.Remove("/tmp/srarena-probe-written")
	ln, err := net.Listen("tcp", probeAddr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", probeAddr, err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, tc := range []struct {
		name                  string
		noLandlock, noSeccomp bool
		blocked               []string
	}{
		{"all", false, false, []string{"socket", "connect", "read_secret", "read_passwd", "write_tmp", "exec"}},
		{"landlock+ns only", false, true, []string{"connect", "read_secret", "read_passwd", "write_tmp", "exec"}},
		{"seccomp+ns only", true, false, []string{"socket", "connect", "exec"}},
		// The network namespace alone: the host's loopback listener is unreachable.
		{"ns only", true, true, []string{"connect"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runOnce(t, []byte(probeModel), 4, 4, testRun{NoLandlock: tc.noLandlock, NoSeccomp: tc.noSeccomp,
				Insecure: tc.noLandlock || tc.noSeccomp})
			var me *outcome.Error
			if !errors.As(err, &me) {
				t.Fatalf("probe: %v", err)
			}
			t.Logf("probe results: %s", me.Msg)
			got := map[string]string{}
			for _, f := range strings.Fields(strings.TrimPrefix(me.Msg, "ONNX Runtime could not load the model: ")) {
				k, v, _ := strings.Cut(f, "=")
				got[k] = v
			}
			if got["pdeathsig"] != "9" {
				t.Errorf("the model's process has parent-death signal %q, want 9 (SIGKILL)", got["pdeathsig"])
			}
			if got["env"] != "ok" {
				t.Errorf("child environment not ORT_DISABLE_TELEMETRY=1 alone: %s", got["env"])
			}
			for _, k := range tc.blocked {
				if v, ok := got[k]; !ok || v == "ok" {
					t.Errorf("%s was not blocked (%q)", k, v)
				}
			}
		})
	}
	// Without Landlock the file may be created, but RLIMIT_FSIZE=0 keeps it empty.
	if b, err := os.ReadFile("/tmp/srarena-probe-written"); err == nil && len(b) > 0 {
		t.Error("the child wrote data to a file")
	}
}

// TestSandboxRefusedWithoutLayer: the real child without Landlock (or
// seccomp) is refused unless the operator opted in, as an infrastructure
// error, before the model is sent (the probe model would answer otherwise).
func TestSandboxRefusedWithoutLayer(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		noLandlock, noSeccomp bool
	}{{"Landlock", true, false}, {"seccomp", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runOnce(t, []byte(probeModel), 4, 4, testRun{NoLandlock: tc.noLandlock, NoSeccomp: tc.noSeccomp})
			if err == nil || outcome.IsFinal(err) || !strings.Contains(err.Error(), "refusing to evaluate: the sandbox lacks "+tc.name) {
				t.Fatalf("err = %v, want an infrastructure refusal naming %s", err, tc.name)
			}
		})
	}
}

func TestSandboxMissing(t *testing.T) {
	full := Status{UID: sandboxUID, LandlockABI: 7, Seccomp: true}
	for _, tc := range []struct {
		name string
		st   Status
		want []string
	}{
		{"complete, own uid", full, nil},
		{"worker uid in a user namespace", Status{UID: 0, UserNS: true, LandlockABI: 1, Seccomp: true}, nil},
		{"worker uid, no user namespace", Status{UID: 0, LandlockABI: 7, Seccomp: true}, []string{"a uid of its own"}},
		{"no landlock", Status{UID: sandboxUID, Seccomp: true}, []string{"Landlock"}},
		{"nothing", Status{UID: 0}, []string{"a uid of its own", "Landlock", "seccomp"}},
	} {
		got := sandboxMissing(tc.st, 0)
		if len(got) != len(tc.want) {
			t.Errorf("%s: missing %q, want %q", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if !strings.HasPrefix(got[i], tc.want[i]) {
				t.Errorf("%s: missing %q, want %q", tc.name, got, tc.want)
			}
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		cmp  int
		ok   bool
	}{
		{"1.30.0", "1.30.0", 0, true},
		{"1.30", "1.30.0", 0, true},
		{"1.30.1", "1.30.0", 1, true},
		{"1.29.9", "1.30.0", -1, true},
		{"1.4.0", "1.30.0", -1, true}, // numeric, not lexical
		{"1.100.0", "1.30.0", 1, true},
		{"2.0.0", "1.30.0", 1, true},
		{"1.24.1", "1.30.0", -1, true},
		{"1.31.0-dev", "1.30.0", 1, true},
		{"v1.30.0", "1.30.0", 0, true},
		{"", "1.30.0", 0, false},
		{"fake", "1.30.0", 0, false},
		{"1..0", "1.30.0", 0, false},
	} {
		cmp, ok := compareVersions(tc.a, tc.b)
		if cmp != tc.cmp || ok != tc.ok {
			t.Errorf("compareVersions(%q, %q) = %d, %v; want %d, %v", tc.a, tc.b, cmp, ok, tc.cmp, tc.ok)
		}
	}
	if err := checkORTVersion("1.24.1"); err == nil || err.Error() != "runner: ONNX Runtime 1.24.1 is too old: versions before 1.30 are exploitable by crafted models; run make ort" {
		t.Errorf("checkORTVersion(1.24.1) = %v", err)
	}
	for _, v := range []string{"1.30.0", "1.31.2"} {
		if err := checkORTVersion(v); err != nil {
			t.Errorf("checkORTVersion(%s) = %v", v, err)
		}
	}
	if err := checkORTVersion("garbage"); err == nil {
		t.Error("an unreadable version passed")
	}
}

// TestSandboxUID: a root worker runs the child as the dedicated sandbox uid,
// never nobody (65534), which may own the private PostgreSQL's files.
func TestSandboxUID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: only a root worker chooses the child's uid")
	}
	model, _ := onnxbuild.Nearest(4)
	s, err := runOnce(t, model, 4, 4, testRun{})
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(s.Protections(), "; ")
	if !strings.Contains(all, "uid 65533") || strings.Contains(all, "65534") {
		t.Errorf("sandbox %q, want uid 65533 and no 65534", all)
	}
	if sandboxUID == 65534 {
		t.Error("sandboxUID is nobody")
	}
	for _, want := range []string{"landlock ABI", "seccomp ("} {
		if !strings.Contains(all, want) {
			t.Errorf("sandbox %q lacks %q", all, want)
		}
	}
}

// TestCUDAUnavailable: on a host without the CUDA provider, Device "cuda"
// is a prompt infrastructure error before the model is sent, not a model
// error and not a hang.
func TestCUDAUnavailable(t *testing.T) {
	model, _ := onnxbuild.Nearest(4)
	start := time.Now()
	_, err := runOnce(t, model, 4, 4, testRun{Device: DeviceCUDA, LoadTimeout: 30 * time.Second})
	if err == nil {
		t.Skip("CUDA works here: nothing to check")
	}
	if outcome.IsFinal(err) || !strings.Contains(err.Error(), "CUDA execution provider unavailable") {
		t.Fatalf("err = %v, want an infrastructure error about the CUDA provider", err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("took %v", el)
	}
	t.Logf("error: %v", err)
}
