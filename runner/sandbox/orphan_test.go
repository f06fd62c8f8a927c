package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/fixtures"
)

// orphanParent is the parent the orphan test kills: it starts a child on
// an endlessly looping model, says where the child is, and waits inside
// Infer for ever.
func orphanParent(lib, modelPath string) int {
	model, err := os.ReadFile(modelPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cfg, err := NewConfig(DeviceCPU, lib, 1, 1, 0, false, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := Start(context.Background(), Spec{ORTLib: lib, Config: cfg, MemoryLimit: 1 << 30,
		ImageTimeout: 10 * time.Minute, InsecureSandbox: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.Load(model); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cg := "-"
	if s.c.cg != nil {
		cg = s.c.cg.dir
	}
	fmt.Printf("%d %s\n", s.c.cmd.Process.Pid, cg)
	in := make([]float32, 3*8*8)
	out := make([]uint8, 3*16*16)
	_, err = s.Infer("img", in, 8, 8, 16, 16, out)
	fmt.Fprintln(os.Stderr, "Infer returned:", err)
	return 1
}

// TestNoOrphanWhenParentKilled: SIGKILL of the parent of a running
// evaluation leaves, a second later, no process of the child and no cgroup.
func TestNoOrphanWhenParentKilled(t *testing.T) {
	lib := ortLib(t)
	model := filepath.Join(fixtures.Dir(t, "adversarial"), "14_loop_infinite.onnx")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "__orphan-parent", lib, model)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
	}()
	var l string
	select {
	case l = <-line:
	case <-time.After(90 * time.Second):
		t.Fatalf("the parent did not start its child; stderr:\n%s", stderr.String())
	}
	var pid int
	var cg string
	if _, err := fmt.Sscanf(l, "%d %s", &pid, &cg); err != nil {
		t.Fatalf("parent said %q (%v); stderr:\n%s", l, err, stderr.String())
	}
	time.Sleep(500 * time.Millisecond) // well inside the endless inference
	if !running(pid) {
		t.Fatalf("child %d is not running before the parent is killed; stderr:\n%s", pid, stderr.String())
	}
	if cg == "-" {
		t.Log("no cgroup on this host: checking processes only")
	} else if _, err := os.Stat(cg); err != nil {
		t.Fatalf("child cgroup: %v", err)
	}
	cpuBefore := cpuTicks(pid)

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	killed := time.Now()
	time.Sleep(time.Second)
	var left []string
	if running(pid) {
		left = append(left, fmt.Sprintf("child %d (cpu ticks %d → %d)", pid, cpuBefore, cpuTicks(pid)))
	}
	for _, p := range groupMembers(pid) {
		left = append(left, fmt.Sprintf("process %d of the child's group, uid %d", p.pid, p.uid))
	}
	if cg != "-" {
		if _, err := os.Stat(cg); err == nil {
			left = append(left, "cgroup "+cg)
		}
	}
	if len(left) > 0 {
		t.Fatalf("%v after the parent's SIGKILL: %s", time.Since(killed).Round(time.Millisecond), strings.Join(left, "; "))
	}
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func cpuTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

type proc struct{ pid, uid int }

// groupMembers lists live processes in process group pgid (the child's:
// it is started with Setpgid), with their uids: the sandbox uid's
// processes that belong to this child.
func groupMembers(pgid int) []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !running(pid) {
			continue
		}
		if g, err := syscall.Getpgid(pid); err != nil || g != pgid {
			continue
		}
		uid := -1
		if b, err := os.ReadFile("/proc/" + e.Name() + "/status"); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
					uid, _ = strconv.Atoi(f[1])
				}
			}
		}
		out = append(out, proc{pid, uid})
	}
	return out
}
