package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	nsAll = unix.CLONE_NEWNET | unix.CLONE_NEWNS | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWPID
)

// sandboxAttempt is one way of starting the child, from strongest to weakest.
type sandboxAttempt struct {
	desc string
	attr func() *syscall.SysProcAttr
}

func sandboxAttempts() []sandboxAttempt {
	uid, gid := os.Getuid(), os.Getgid()
	base := func() *syscall.SysProcAttr {
		return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	var out []sandboxAttempt
	if uid == 0 {
		out = append(out, sandboxAttempt{
			desc: "namespaces user+net+mount+ipc+uts+pid, host uid/gid 65533",
			attr: func() *syscall.SysProcAttr {
				a := base()
				a.Cloneflags = unix.CLONE_NEWUSER | nsAll
				a.UidMappings = []syscall.SysProcIDMap{{ContainerID: sandboxUID, HostID: sandboxUID, Size: 1}}
				a.GidMappings = []syscall.SysProcIDMap{{ContainerID: sandboxUID, HostID: sandboxUID, Size: 1}}
				a.GidMappingsEnableSetgroups = true
				a.Credential = &syscall.Credential{Uid: sandboxUID, Gid: sandboxUID, Groups: []uint32{}}
				return a
			},
		}, sandboxAttempt{
			desc: "namespaces net+mount+ipc+uts+pid (no user namespace), uid/gid 65533",
			attr: func() *syscall.SysProcAttr {
				a := base()
				a.Cloneflags = nsAll
				a.Credential = &syscall.Credential{Uid: sandboxUID, Gid: sandboxUID, Groups: []uint32{}}
				return a
			},
		}, sandboxAttempt{
			desc: "no namespaces, uid/gid 65533",
			attr: func() *syscall.SysProcAttr {
				a := base()
				a.Credential = &syscall.Credential{Uid: sandboxUID, Gid: sandboxUID, Groups: []uint32{}}
				return a
			},
		})
		return out
	}
	return append(out, sandboxAttempt{
		desc: "namespaces user+net+mount+ipc+uts+pid (unprivileged)",
		attr: func() *syscall.SysProcAttr {
			a := base()
			a.Cloneflags = unix.CLONE_NEWUSER | nsAll
			a.UidMappings = []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}}
			a.GidMappings = []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}}
			a.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
			return a
		},
	}, sandboxAttempt{
		desc: "no namespaces (user namespaces refused)",
		attr: base,
	})
}

// lastGoodAttempt remembers the first attempt that worked, so later
// evaluations do not pay for failing clone()s.
var lastGoodAttempt atomic.Int32

// child is a running sandboxed child.
type child struct {
	cmd       *exec.Cmd
	stdin     *os.File // parent's end
	stdout    *bufio.Reader
	stdoutF   *os.File
	stderr    *capBuffer
	stderrEOF chan struct{}
	watchW    *os.File   // write end of the child's watch pipe (fdWatch); never written
	shm       *sharedOut // the output buffer (fdOut), nil when unavailable
	waitDone  chan struct{}
	waitErr   error
	sandbox   string
	cg        *memCgroup
	joined    chan struct{} // closed once a v1 cgroup join is done (nil: nothing to wait for)
	joinErr   error
	killed    atomic.Pointer[error] // why the parent killed it, if it did
	started   time.Time
}

// startChild starts exe as the child. exe and lib are opened here and
// handed over as descriptors so the child (running as another uid, in a
// mount namespace, under Landlock) never needs to resolve host paths.
func startChild(exe []string, lib string, memLimit int64, logf, warnf func(string)) (*child, error) {
	exeF, err := os.Open(exe[0])
	if err != nil {
		return nil, fmt.Errorf("runner: child executable: %w", err)
	}
	defer exeF.Close()
	libF, err := os.Open(lib)
	if err != nil {
		return nil, fmt.Errorf("runner: ONNX Runtime library: %w", err)
	}
	defer libF.Close()

	attempts := sandboxAttempts()
	startAt := int(lastGoodAttempt.Load())
	if startAt >= len(attempts) {
		startAt = 0
	}
	var lastErr error
	for i := startAt; i < len(attempts); i++ {
		c, err := tryStart(exe, exeF, libF, attempts[i], memLimit, logf)
		if err == nil {
			lastGoodAttempt.Store(int32(i))
			return c, nil
		}
		lastErr = err
		warnf(fmt.Sprintf("sandbox: %s: %v; trying a weaker sandbox", attempts[i].desc, err))
	}
	return nil, fmt.Errorf("runner: starting the sandboxed child: %w", lastErr)
}

func tryStart(exe []string, exeF, libF *os.File, at sandboxAttempt, memLimit int64, logf func(string)) (*child, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	// Outputs are tens of MB per image: 1 MiB pipes (instead of 64 KiB)
	// cut the context switches of a transfer sixteenfold. Best effort: the
	// limit is /proc/sys/fs/pipe-max-size.
	for _, f := range []*os.File{inW, outR} {
		if rc, err := f.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { unix.FcntlInt(fd, unix.F_SETPIPE_SZ, 1<<20) })
		}
	}
	// The watch pipe: the child exits when its read end sees EOF, i.e. when
	// this process is gone (watchParent).
	watchR, watchW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		return nil, err
	}
	// The output buffer; without it outputs go through the pipe.
	shm, err := newSharedOut()
	if err != nil {
		logf("sandbox: shared output buffer unavailable, outputs go through the pipe: " + err.Error())
	}
	extra := []*os.File{exeF, libF, nil, nil, watchR}
	if shm != nil {
		extra = append(extra, shm.f)
	}
	// The exe is started through its descriptor (fd 3 in the child): an
	// unprivileged uid may not be able to traverse the directories of a test
	// binary, and the path is none of the child's business.
	cmd := &exec.Cmd{
		Path:   "/proc/self/fd/" + strconv.Itoa(fdExe),
		Args:   append([]string{"srarena"}, exe[1:]...),
		Env:    []string{}, // nothing inherited: no DATABASE_URL, no ORT_* switches
		Dir:    "/",
		Stdin:  inR,
		Stdout: outW,
		Stderr: errW,
		// fd 3, fd 4, (5, 6 opened by stage 1), fd 7, fd 8
		ExtraFiles: extra,
	}
	cmd.SysProcAttr = at.attr()
	c := &child{cmd: cmd, stdin: inW, stdoutF: outR, stdout: bufio.NewReaderSize(outR, 1<<20),
		stderr: newCapBuffer(64 << 10), stderrEOF: make(chan struct{}), waitDone: make(chan struct{}), sandbox: at.desc,
		watchW: watchW, shm: shm}

	cg, cgErr := newMemCgroup(memLimit, logf)
	if cgErr != nil {
		logf("sandbox: cgroup memory limit unavailable: " + cgErr.Error())
	}
	c.cg = cg
	if cg != nil && cg.v2fd >= 0 {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = cg.v2fd
	}

	// Pdeathsig fires when the *thread* that started the child exits, so the
	// starting goroutine keeps its thread locked until the child is reaped.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.waitDone)
	}()
	err = <-started
	inR.Close()
	outW.Close()
	errW.Close()
	watchR.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		watchW.Close()
		shm.close()
		cg.remove()
		return nil, err
	}
	c.started = time.Now()
	if cg != nil && cg.v2fd < 0 {
		// cgroup v1 has no CLONE_INTO_CGROUP: the child joins by a write
		// to cgroup.procs, which takes 10–45 ms here (the kernel waits for
		// an RCU grace period). It happens while the child starts: until
		// the parent sends the model the child runs only our own code, and
		// Start waits for the join (waitJoin) before it returns, so
		// everything the model makes the child allocate is counted.
		c.joined = make(chan struct{})
		pid := cmd.Process.Pid
		go func() {
			defer close(c.joined)
			c.joinErr = cg.addPID(pid)
		}()
	}
	go func() {
		c.stderr.ReadFrom(errR)
		errR.Close()
		close(c.stderrEOF)
	}()
	return c, nil
}

// waitJoin waits for the child's cgroup v1 join (tryStart). If it failed,
// the child goes on without the cgroup, as it would have without one.
func (c *child) waitJoin(logf func(string)) {
	if c.joined == nil {
		return
	}
	<-c.joined
	c.joined = nil
	if c.joinErr != nil {
		logf("sandbox: cgroup memory limit unavailable: " + c.joinErr.Error())
		c.cg.remove()
		c.cg = nil
	}
}

// kill SIGKILLs the child's process group (and, with a PID namespace, the
// whole namespace dies with its init) and records why.
func (c *child) kill(reason error) {
	if reason != nil {
		c.killed.CompareAndSwap(nil, &reason)
	}
	if p := c.cmd.Process; p != nil {
		unix.Kill(-p.Pid, unix.SIGKILL)
		p.Kill()
	}
}

// finish closes the parent's ends, waits for the child (killing it after
// grace) and removes its cgroup.
func (c *child) finish(grace time.Duration) {
	c.stdin.Close()
	select {
	case <-c.waitDone:
	case <-time.After(grace):
		c.kill(nil)
		<-c.waitDone
	}
	c.stdoutF.Close()
	c.watchW.Close()
	// Before the cgroup goes: the child charged the buffer's pages to it.
	c.shm.close()
	if c.joined != nil {
		<-c.joined
	}
	select {
	case <-c.stderrEOF:
	case <-time.After(time.Second):
	}
	c.cg.remove()
}

// cpuTime is the child process's CPU time so far (every thread, exited
// ones included) as the kernel counts it: the CPU-time clock of another
// process (clock_getcpuclockid), which the child cannot touch.
func (c *child) cpuTime() (time.Duration, bool) {
	p := c.cmd.Process
	if p == nil {
		return 0, false
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(int32((^p.Pid)<<3|2), &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// noSwap reports whether none of the child's memory can be swapped out:
// its cgroup's swap limit is 0, or the host has no swap.
func (c *child) noSwap() bool {
	return c.cg != nil && c.cg.noSwap || !hostSwap()
}

var hostSwap = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/proc/swaps")
	// A header line, then one line per swap area; unreadable: assume swap.
	return err != nil || strings.Count(strings.TrimSpace(string(b)), "\n") > 0
})

func (c *child) maxRSS() int64 {
	if c.cmd.ProcessState == nil {
		return 0
	}
	if ru, ok := c.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

// memCgroup is a per-child memory cgroup (v2 memory.max, or v1
// memory.limit_in_bytes) below the parent's own cgroup.
type memCgroup struct {
	dir    string
	v2fd   int
	v1     bool
	noSwap bool // memory.swap.max is 0
}

var cgSeq atomic.Int64

func newMemCgroup(limit int64, logf func(string)) (*memCgroup, error) {
	cg, err := makeMemCgroup(limit)
	if err == nil {
		// Whoever made the cgroup must remove it; if this process dies
		// first, the reaper does.
		if err := ensureReaper(filepath.Dir(cg.dir)); err != nil {
			logf("sandbox: " + err.Error() + ": a crash of this process would leave its child's cgroup behind")
		}
	}
	return cg, err
}

func makeMemCgroup(limit int64) (*memCgroup, error) {
	if limit <= 0 {
		return nil, errors.New("no limit requested")
	}
	name := ownPrefix() + strconv.FormatInt(cgSeq.Add(1), 10)
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, err
	}
	var v1path, v2path string
	hasV2 := false
	for _, line := range strings.Split(strings.TrimSpace(string(self)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2path, hasV2 = parts[2], true
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			if ctl == "memory" {
				v1path = parts[2]
			}
		}
	}
	var errs []error
	// v2: the unified hierarchy must offer the memory controller.
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if !hasV2 {
			break
		}
		ctl, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
		if err != nil || !strings.Contains(" "+string(ctl)+" ", " memory") {
			continue
		}
		dir := filepath.Join(root, v2path, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("cgroup v2: %w", err))
			continue
		}
		cg := &memCgroup{dir: dir, v2fd: -1}
		if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
			cg.remove()
			errs = append(errs, fmt.Errorf("cgroup v2 memory.max: %w", err))
			continue
		}
		// Fails where swap accounting is off (checkCPU then asks the host).
		cg.noSwap = os.WriteFile(filepath.Join(dir, "memory.swap.max"), []byte("0"), 0) == nil
		os.WriteFile(filepath.Join(dir, "pids.max"), []byte("512"), 0)
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			cg.remove()
			errs = append(errs, err)
			continue
		}
		cg.v2fd = fd
		return cg, nil
	}
	if v1path != "" {
		dir := filepath.Join("/sys/fs/cgroup/memory", v1path, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, errors.Join(append(errs, fmt.Errorf("cgroup v1: %w", err))...)
		}
		cg := &memCgroup{dir: dir, v2fd: -1, v1: true}
		if err := os.WriteFile(filepath.Join(dir, "memory.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0); err != nil {
			cg.remove()
			return nil, fmt.Errorf("cgroup v1 memory.limit_in_bytes: %w", err)
		}
		// Swap counts too where accounting is on (fails harmlessly otherwise).
		os.WriteFile(filepath.Join(dir, "memory.memsw.limit_in_bytes"), []byte(strconv.FormatInt(limit, 10)), 0)
		return cg, nil
	}
	errs = append(errs, errors.New("no writable memory controller"))
	return nil, errors.Join(errs...)
}

func (cg *memCgroup) addPID(pid int) error {
	return os.WriteFile(filepath.Join(cg.dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0)
}

// oomKilled reports whether the kernel OOM-killed something in the cgroup.
func (cg *memCgroup) oomKilled() bool {
	if cg == nil {
		return false
	}
	file := "memory.events"
	if cg.v1 {
		file = "memory.oom_control"
	}
	b, err := os.ReadFile(filepath.Join(cg.dir, file))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return true
		}
	}
	if cg.v1 {
		if b, err := os.ReadFile(filepath.Join(cg.dir, "memory.failcnt")); err == nil && strings.TrimSpace(string(b)) != "0" {
			return true
		}
	}
	return false
}

func (cg *memCgroup) remove() {
	if cg == nil {
		return
	}
	if cg.v2fd >= 0 {
		unix.Close(cg.v2fd)
		cg.v2fd = -1
	}
	// The cgroup empties a moment after the last task is reaped: usually
	// within a millisecond or two, which a fixed 20 ms wait added to every
	// evaluation's end. Up to about a second in all, as before.
	wait := time.Millisecond
	for deadline := time.Now().Add(time.Second); ; wait = min(2*wait, 20*time.Millisecond) {
		if err := os.Remove(cg.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(wait)
	}
}

// capBuffer keeps the first max bytes written to it and counts the rest.
type capBuffer struct {
	mu      chan struct{}
	buf     []byte
	max     int
	dropped int64
}

func newCapBuffer(max int) *capBuffer {
	return &capBuffer{mu: make(chan struct{}, 1), max: max}
}

func (b *capBuffer) ReadFrom(r *os.File) {
	p := make([]byte, 4096)
	for {
		n, err := r.Read(p)
		if n > 0 {
			b.mu <- struct{}{}
			keep := min(n, b.max-len(b.buf))
			b.buf = append(b.buf, p[:keep]...)
			b.dropped += int64(n - keep)
			<-b.mu
		}
		if err != nil {
			return
		}
	}
}

func (b *capBuffer) String() string {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	s := string(b.buf)
	if b.dropped > 0 {
		s += fmt.Sprintf("\n[%d more bytes dropped]", b.dropped)
	}
	return s
}

// realtimePriority is the SCHED_FIFO priority of the model's threads: the
// lowest, ahead of every normal thread and behind every other real-time
// one (the kernel's interrupt threads run at 50).
const realtimePriority = 1

// realtime puts the child's main thread under SCHED_FIFO. Stage 2 locks
// that thread and runs ONNX Runtime on it, so the intra-op threads ORT
// creates from it inherit the policy, while Go's own threads do not (the
// runtime creates them from its template thread when the creating thread
// is locked): a Go thread spinning for a lock at a real-time priority could
// starve the very thread it waits for. Under a CPU hog a normal thread,
// however nice, is preempted at the end of each slice and a run's parallel
// sections wait for it; a SCHED_FIFO thread is not, which made the runtime
// ratio's spread under the hog of bench/fairness-overhead.sh 1.09 % instead
// of 7.69 % (2 ORT threads, 20 evaluations each, interleaved), with the
// same ratio as on the quiet machine.
//
// It is safe with an untrusted model because the kernel's real-time
// throttling (checked here) leaves normal threads a share of every CPU
// (5 % by default): a run that never ends still lets the parent's timer
// fire and kill the child. The child cannot raise its priority further
// (RLIMIT_RTPRIO is 0 in it). A thread group leader's id is not reused
// while the process is unreaped, so unlike renice this needs no listing.
func (c *child) realtime() error {
	if c.cmd.Process == nil {
		return errors.New("no child process")
	}
	if err := rtThrottled(); err != nil {
		return err
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: realtimePriority}
	if err := unix.SchedSetAttr(c.cmd.Process.Pid, &attr, 0); err != nil {
		return fmt.Errorf("sched_setattr SCHED_FIFO: %w", err)
	}
	return nil
}

// rtThrottled checks that real-time threads cannot take a whole CPU:
// sched_rt_runtime_us must be below sched_rt_period_us (-1 turns the
// throttling off).
func rtThrottled() error {
	read := func(name string) (int64, error) {
		b, err := os.ReadFile("/proc/sys/kernel/" + name)
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	rt, err1 := read("sched_rt_runtime_us")
	period, err2 := read("sched_rt_period_us")
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("real-time throttling unknown: %w", err)
	}
	if rt < 0 || rt >= period {
		return fmt.Errorf("real-time throttling is off (sched_rt_runtime_us %d, period %d): a model that never ends could take whole CPUs", rt, period)
	}
	return nil
}

// renice gives every thread of the child niceness n. Linux keeps a nice
// value per thread and a new thread inherits its creator's, so the threads
// that exist are set one by one and later ones (ORT's intra-op pool,
// created with the session) inherit it. It must run while the child is
// our own code (Start): the tids listed must stay the child's until each
// is set.
//
// A negative n puts the timed runs ahead of whatever else the machine runs
// at the default priority: at -10 a CFS weight of 9548 against 1024, so a
// busy neighbour on one of the run's cores takes about a tenth of it
// instead of half (bench/fairness-overhead.sh: RLFN on 2 threads beside a
// CPU hog, run-to-run CV of the raw runtime 19 % → 6 %, of the runtime
// ratio 7.0 % → 2.3 %). A hostile model gains that weight for every thread
// it may create (pids.max), for as long as its time limits let it run: a
// cgroup CPU weight would bound the group as a whole.
func (c *child) renice(n int) error {
	if c.cmd.Process == nil {
		return errors.New("no child process")
	}
	pid := c.cmd.Process.Pid
	tids, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		return err
	}
	for _, e := range tids {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, tid, n); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("setpriority %d on thread %d: %w", n, tid, err)
		}
	}
	return nil
}
