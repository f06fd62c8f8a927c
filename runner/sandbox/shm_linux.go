package sandbox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// sharedOut is the buffer the child writes its 8-bit outputs into instead
// of the pipe: a memfd the parent creates, hands over at spawn (fdOut) and
// maps read-only; the child maps it read-write. A DIV2K output is 8 MB,
// which the pipe carried in ~10 ms of system calls and copies per image.
//
// The child is hostile once it has the model, so the buffer is built to
// keep it from hurting the parent:
//   - F_SEAL_SHRINK: the child cannot truncate the file under the parent's
//     mapping (reading a mapped page past the end of the file is SIGBUS);
//     F_SEAL_SEAL: nor add seals (F_SEAL_GROW, F_SEAL_WRITE) that would
//     make the parent's next resize fail.
//   - The parent copies the output out of the mapping once the child has
//     reported it ('O' frame) and scores only its own copy: whatever the
//     child writes afterwards changes nothing.
//   - The sizes are the parent's: it maps exactly the output size it
//     computed, grown before the request, whatever size the child makes
//     the file (it cannot grow it anyway: RLIMIT_FSIZE is 0).
//
// No new access for the child: a descriptor it already holds, no path,
// no system call the seccomp filter denies (mmap, fstat).
type sharedOut struct {
	f   *os.File
	buf []byte // the parent's read-only mapping, len = the size offered
}

func newSharedOut() (*sharedOut, error) {
	fd, err := unix.MemfdCreate("srarena-output", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("sealing the output buffer: %w", err)
	}
	return &sharedOut{f: os.NewFile(uintptr(fd), "srarena-output")}, nil
}

// ensure makes the buffer hold n bytes before a request whose output is n
// bytes: the file grows (never shrinks: sealed) and the mapping follows.
func (s *sharedOut) ensure(n int) error {
	if n <= len(s.buf) {
		return nil
	}
	fd := int(s.f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("sandbox: output buffer: %w", err)
	}
	if st.Size < int64(n) {
		if err := unix.Ftruncate(fd, int64(n)); err != nil {
			return fmt.Errorf("sandbox: output buffer of %d bytes: %w", n, err)
		}
	}
	if s.buf != nil {
		unix.Munmap(s.buf)
		s.buf = nil
	}
	b, err := unix.Mmap(fd, 0, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("sandbox: mapping the output buffer: %w", err)
	}
	s.buf = b
	return nil
}

func (s *sharedOut) close() {
	if s == nil {
		return
	}
	if s.buf != nil {
		unix.Munmap(s.buf)
		s.buf = nil
	}
	s.f.Close()
}

// childOut is the child's side: a read-write mapping of fdOut, as large as
// the parent made the file, remapped when an output needs more.
type childOut struct {
	fd  int
	buf []byte
	pop int // buf[:pop] is populated
}

// get returns n bytes of the shared buffer, or nil when the parent has not
// made it that large (the output then goes through the pipe). It maps the
// whole file, which the parent sizes for its largest output (Reserve), so
// that it maps once per session, but populates only the n bytes this
// output needs: a larger output later populates the rest it needs in its
// own request, whose CPU allowance (Session.checkCPU) counts that output,
// not the buffer.
func (c *childOut) get(n int) []byte {
	if c == nil || n <= 0 {
		return nil
	}
	if n > len(c.buf) {
		var st unix.Stat_t
		if unix.Fstat(c.fd, &st) != nil || st.Size < int64(n) {
			return nil
		}
		if c.buf != nil {
			unix.Munmap(c.buf)
			c.buf = nil
		}
		b, err := unix.Mmap(c.fd, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil
		}
		c.buf, c.pop = b, 0
	}
	if n > c.pop {
		populate(c.buf[c.pop&^(pageSize-1) : n]) // from a page boundary: madvise needs one
		c.pop = n
	}
	return c.buf[:n]
}

// populate makes b's pages present and writable at once: cheaper than a
// fault per page while quantising (MADV_POPULATE_WRITE, Linux ≥ 5.14;
// else a write to each page).
func populate(b []byte) {
	if unix.Madvise(b, unix.MADV_POPULATE_WRITE) == nil {
		return
	}
	for i := 0; i < len(b); i += pageSize {
		b[i] = 0
	}
}

// pageSize is the kernel's (4 KiB on x86-64, up to 64 KiB on arm64).
var pageSize = os.Getpagesize()
