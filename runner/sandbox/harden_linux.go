package sandbox

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Hardening steps the child applies to itself before it touches the model.
// Each returns an error when the kernel refuses; the caller decides whether
// that is fatal and reports what is active.

type rlimitSpec struct {
	name     string
	resource int
	value    uint64
}

// setRlimits lowers soft and hard limits. FSIZE=0 makes any file write fail
// with SIGXFSZ/EFBIG; CORE=0 keeps a crashing model from dumping memory.
func setRlimits(as uint64) ([]string, error) {
	specs := []rlimitSpec{
		{"CORE=0", unix.RLIMIT_CORE, 0},
		{"FSIZE=0", unix.RLIMIT_FSIZE, 0},
		{"NOFILE=64", unix.RLIMIT_NOFILE, 64},
		// NPROC counts every thread of the (host) uid: high enough for ORT's
		// pool and Go's Ms, low enough to stop a fork/thread bomb.
		{"NPROC=512", unix.RLIMIT_NPROC, 512},
		// A real-time child (Spec.Realtime) may not raise its priority.
		{"RTPRIO=0", unix.RLIMIT_RTPRIO, 0},
	}
	if as > 0 {
		specs = append(specs, rlimitSpec{fmt.Sprintf("AS=%dMiB", as>>20), unix.RLIMIT_AS, as})
	}
	var done []string
	for _, s := range specs {
		lim := unix.Rlimit{Cur: s.value, Max: s.value}
		if err := unix.Setrlimit(s.resource, &lim); err != nil {
			return done, fmt.Errorf("setrlimit %s: %w", s.name, err)
		}
		done = append(done, s.name)
	}
	return done, nil
}

func noNewPrivs() error {
	return unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
}

// Landlock ------------------------------------------------------------------

// llRulesetAttr is the ABI 1–7 prefix of struct landlock_ruleset_attr; x/sys's
// type has newer fields that older kernels reject in size checks.
type llRulesetAttr struct {
	handledFS  uint64
	handledNet uint64
	scoped     uint64
}

const (
	llFileRights = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE |
		unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_TRUNCATE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
	llRead = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	llExec = unix.LANDLOCK_ACCESS_FS_EXECUTE
	// llDevRW is read/write/ioctl on a device node (the GPU's).
	llDevRW = unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_IOCTL_DEV
)

func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// handledFS is every filesystem right the kernel's ABI knows: rights not
// handled would be silently allowed.
func handledFS(abi int) uint64 {
	switch {
	case abi >= 5:
		return 0xffff // … TRUNCATE, IOCTL_DEV
	case abi >= 3:
		return 0x7fff
	case abi == 2:
		return 0x3fff
	default:
		return 0x1fff
	}
}

type llRule struct {
	path   string // opened O_PATH; "" when fd is given
	fd     int
	access uint64
}

// landlockRestrict restricts the calling thread (and every thread or
// process it creates afterwards, execve included) to rules. Paths that do
// not exist are skipped. It returns the ABI used.
func landlockRestrict(rules []llRule) (int, error) {
	abi := landlockABI()
	if abi < 1 {
		return 0, errors.New("landlock not supported by this kernel")
	}
	attr := llRulesetAttr{handledFS: handledFS(abi)}
	if abi >= 4 {
		// No TCP bind/connect at all (the network namespace already has only lo).
		attr.handledNet = unix.LANDLOCK_ACCESS_NET_BIND_TCP | unix.LANDLOCK_ACCESS_NET_CONNECT_TCP
	}
	if abi >= 6 {
		attr.scoped = 0x1 | 0x2 // abstract unix sockets, signals
	}
	rs, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), unsafe.Sizeof(attr), 0)
	if errno != 0 {
		return abi, fmt.Errorf("landlock_create_ruleset: %w", errno)
	}
	defer unix.Close(int(rs))
	for _, r := range rules {
		fd := r.fd
		if r.path != "" {
			var err error
			fd, err = unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
		}
		access := r.access & attr.handledFS
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			access &= llFileRights
		}
		pb := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
		_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, rs, unix.LANDLOCK_RULE_PATH_BENEATH, uintptr(unsafe.Pointer(&pb)), 0, 0, 0)
		if r.path != "" {
			unix.Close(fd)
		}
		if errno != 0 {
			return abi, fmt.Errorf("landlock_add_rule %q: %w", r.path, errno)
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, rs, 0, 0); errno != 0 {
		return abi, fmt.Errorf("landlock_restrict_self: %w", errno)
	}
	return abi, nil
}

// seccomp ---------------------------------------------------------------------

// deniedSyscalls are refused with EPERM once ORT is initialised: nothing an
// inference needs, everything an exploit wants next (network, new programs,
// other processes' memory, kernel attack surface).
var deniedSyscalls = []uintptr{
	unix.SYS_SOCKET, unix.SYS_SOCKETPAIR, unix.SYS_CONNECT, unix.SYS_BIND, unix.SYS_LISTEN,
	unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_SENDMSG, unix.SYS_SENDMMSG, unix.SYS_RECVMSG,
	unix.SYS_EXECVE, unix.SYS_EXECVEAT, unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV,
	unix.SYS_PROCESS_VM_WRITEV, unix.SYS_PIDFD_GETFD, unix.SYS_PIDFD_OPEN, unix.SYS_KILL,
	unix.SYS_TKILL, unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT,
	unix.SYS_UNSHARE, unix.SYS_SETNS, unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN, unix.SYS_USERFAULTFD, unix.SYS_INIT_MODULE,
	unix.SYS_FINIT_MODULE, unix.SYS_DELETE_MODULE, unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD,
	unix.SYS_OPEN_BY_HANDLE_AT, unix.SYS_NAME_TO_HANDLE_AT, unix.SYS_IO_URING_SETUP,
	unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER, unix.SYS_FANOTIFY_INIT, unix.SYS_FSOPEN,
	unix.SYS_FSMOUNT, unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE, unix.SYS_REBOOT, unix.SYS_SWAPON,
	unix.SYS_SWAPOFF, unix.SYS_ACCT, unix.SYS_SETUID, unix.SYS_SETGID, unix.SYS_SETREUID,
	unix.SYS_SETREGID, unix.SYS_SETRESUID, unix.SYS_SETRESGID, unix.SYS_PERSONALITY,
}

const (
	bpfLdWAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	bpfJeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJgeK   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	bpfRetK   = unix.BPF_RET | unix.BPF_K

	seccompSetModeFilter = 1
)

// seccompProgram: wrong architecture → kill; x32 ABI (amd64) → EPERM;
// denied syscall → EPERM; everything else allowed.
func seccompProgram() []unix.SockFilter {
	n := len(deniedSyscalls)
	// Layout: 0 ld arch, 1 jeq arch, 2 ld nr, 3 jge x32, 4..4+n-1 jeq nr,
	// 4+n allow, 5+n errno, 6+n kill.
	allow := 4 + n
	errno := allow + 1
	kill := errno + 1
	p := make([]unix.SockFilter, 0, kill+1)
	p = append(p,
		unix.SockFilter{Code: bpfLdWAbs, K: 4}, // seccomp_data.arch
		unix.SockFilter{Code: bpfJeqK, Jt: 0, Jf: uint8(kill - 2), K: auditArch},
		unix.SockFilter{Code: bpfLdWAbs, K: 0}, // seccomp_data.nr
	)
	x32 := uint32(0x40000000)
	if auditArch != unix.AUDIT_ARCH_X86_64 {
		x32 = 0xffffffff
	}
	p = append(p, unix.SockFilter{Code: bpfJgeK, Jt: uint8(errno - 4), Jf: 0, K: x32})
	for i, nr := range deniedSyscalls {
		at := 4 + i
		p = append(p, unix.SockFilter{Code: bpfJeqK, Jt: uint8(errno - at - 1), Jf: 0, K: uint32(nr)})
	}
	p = append(p,
		unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
		unix.SockFilter{Code: bpfRetK, K: unix.SECCOMP_RET_KILL_PROCESS},
	)
	return p
}

// installSeccomp applies the filter to every thread of the process (TSYNC),
// including ORT's and Go's. NO_NEW_PRIVS must already be set.
func installSeccomp() error {
	prog := seccompProgram()
	if len(prog) > 255 {
		return errors.New("seccomp program too long for 8-bit jumps")
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// SPEC_ALLOW: on kernels booted with spec_store_bypass_disable=seccomp
	// (the default before Linux 5.16) a seccomp filter otherwise turns on
	// the Speculative Store Bypass mitigation for the whole process, which
	// slows the inference we time by several percent against the same model
	// run outside the sandbox. It protects a process's memory from code
	// running inside it; this process holds nothing but the model and the
	// LR inputs, which the model may read anyway.
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, seccompSetModeFilter,
		unix.SECCOMP_FILTER_FLAG_TSYNC|unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, uintptr(unsafe.Pointer(&fp)))
	if errno == unix.EINVAL { // kernels before 4.17 know no SPEC_ALLOW
		r, _, errno = unix.Syscall(unix.SYS_SECCOMP, seccompSetModeFilter, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fp)))
	}
	if errno != 0 {
		return fmt.Errorf("seccomp: %w", errno)
	}
	if r != 0 {
		return fmt.Errorf("seccomp: thread %d could not be synchronised", r)
	}
	return nil
}

// openNoCloexec opens path without O_CLOEXEC and moves it to fd want, so it
// survives the stage-2 execve.
func openNoCloexec(path string, flags int, want int) (int, error) {
	fd, err := unix.Open(path, flags, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if fd == want {
		return fd, nil
	}
	if err := unix.Dup3(fd, want, 0); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("dup3: %w", err)
	}
	unix.Close(fd)
	return want, nil
}
