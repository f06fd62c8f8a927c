package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// No child outlives its parent. Three layers, because a parent can end in
// ways none of them covers alone:
//
//  1. the child's parent-death signal (SIGKILL), set in the stage that runs
//     the model (dieWithParent);
//  2. the watch pipe: the child exits when the parent's end closes, which
//     the kernel does however the parent ends (watchParent);
//  3. the reaper: a small process of our own binary, started with the first
//     cgroup, that outlives the parent by design. When the parent's end of
//     its pipe closes it kills whatever is left in the parent's child
//     cgroups and removes them: nothing else can, since the parent is gone.
//
// And a worker that starts sweeps what a crash before the reaper existed
// left behind (SweepLeftovers).

// ReaperArg is the hidden subcommand of the reaper.
const ReaperArg = "__sandbox-reaper"

// cgPrefix names a parent's child cgroups: srarena-child-PID-N.
const cgPrefix = "srarena-child-"

func ownPrefix() string { return cgPrefix + strconv.Itoa(os.Getpid()) + "-" }

var reaper struct {
	once sync.Once
	w    *os.File // held open for the life of the process, never written
	err  error
}

// ensureReaper starts the reaper for the cgroups under dir (once per
// process; later calls return the first outcome).
func ensureReaper(dir string) error {
	reaper.once.Do(func() {
		// The sibling when there is one (a quicker start, on the cores
		// the first evaluation uses): any build of it reaps alike.
		argv, _, err := defaultCommand(ReaperArg)
		if err != nil {
			reaper.err = err
			return
		}
		r, w, err := os.Pipe()
		if err != nil {
			reaper.err = err
			return
		}
		cmd := exec.Command(argv[0], argv[1], dir, ownPrefix())
		cmd.Stdin = r // stdout, stderr: /dev/null, so it never holds a caller's pipe open
		cmd.Env = []string{}
		// Its own session: a signal to the parent's process group or
		// terminal must not take it along.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Start(); err != nil {
			r.Close()
			w.Close()
			reaper.err = fmt.Errorf("sandbox: starting the cgroup reaper: %w", err)
			return
		}
		r.Close()
		reaper.w = w
		go cmd.Wait() // it exits when we do; reap it if it ends earlier
	})
	return reaper.err
}

// ReaperMain is the reaper: it waits for EOF on stdin (its parent is gone
// or done), then removes the cgroups under dir whose names start with
// prefix, killing what is left in them.
func ReaperMain(args []string) int {
	if len(args) != 2 || !strings.HasPrefix(args[1], cgPrefix) {
		fmt.Fprintln(os.Stderr, "usage: "+ReaperArg+" DIR "+cgPrefix+"PID-")
		return 2
	}
	io.Copy(io.Discard, os.Stdin)
	removeCgroups(args[0], func(name string) bool { return strings.HasPrefix(name, args[1]) })
	return 0
}

// removeCgroups kills every process in the matching cgroups under dir and
// removes them, waiting up to 2 s for each to empty.
func removeCgroups(dir string, match func(name string) bool) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		if !e.IsDir() || !match(e.Name()) {
			continue
		}
		cg := filepath.Join(dir, e.Name())
		if killCgroup(cg) == nil {
			removed = append(removed, cg)
		}
	}
	return removed
}

func killCgroup(cg string) error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		// cgroup v2 ≥ 5.14 kills the whole cgroup at once; otherwise
		// (and on v1) each listed process.
		os.WriteFile(filepath.Join(cg, "cgroup.kill"), []byte("1"), 0)
		if b, err := os.ReadFile(filepath.Join(cg, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
					unix.Kill(pid, unix.SIGKILL)
				}
			}
		}
		err := os.Remove(cg)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SweepLeftovers removes the child cgroups that processes no longer alive
// left behind (a crash before the reaper could run, a reaper killed too),
// killing anything still in them. A worker calls it at start. It returns
// the cgroups removed.
func SweepLeftovers() []string {
	var removed []string
	for _, dir := range cgroupParents() {
		removed = append(removed, removeCgroups(dir, func(name string) bool {
			rest, ok := strings.CutPrefix(name, cgPrefix)
			if !ok {
				return false
			}
			pidS, _, _ := strings.Cut(rest, "-")
			pid, err := strconv.Atoi(pidS)
			if err != nil || pid <= 0 {
				return false
			}
			return pid != os.Getpid() && !alive(pid)
		})...)
	}
	return removed
}

func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// cgroupParents are the directories this process creates child cgroups
// in (newMemCgroup): its own v2 cgroup and its v1 memory cgroup.
func cgroupParents() []string {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			dirs = append(dirs, filepath.Join("/sys/fs/cgroup", parts[2]), filepath.Join("/sys/fs/cgroup/unified", parts[2]))
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			if ctl == "memory" {
				dirs = append(dirs, filepath.Join("/sys/fs/cgroup/memory", parts[2]))
			}
		}
	}
	return dirs
}
