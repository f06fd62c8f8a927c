package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

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
			if len(os.Environ()) > 0 {
				return fmt.Errorf("%d variables", len(os.Environ()))
			}
			return nil
		})
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
	lib := ortLib(t)
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
	pair := []Pair{{Name: "x", LR: randImage(4, 4, 1), HR: randImage(16, 16, 1)}}
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
			opt := Options{ORTLib: lib, NoLandlock: tc.noLandlock, NoSeccomp: tc.noSeccomp, Logf: func(s string) { t.Log(s) }}
			_, err := Evaluate(context.Background(), []byte(probeModel), pair, opt)
			var me *ModelError
			if !errors.As(err, &me) {
				t.Fatalf("probe: %v", err)
			}
			t.Logf("probe results: %s", me.Msg)
			got := map[string]string{}
			for _, f := range strings.Fields(strings.TrimPrefix(me.Msg, "ONNX Runtime could not load the model: ")) {
				k, v, _ := strings.Cut(f, "=")
				got[k] = v
			}
			if got["env"] != "ok" {
				t.Errorf("child environment not empty: %s", got["env"])
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
