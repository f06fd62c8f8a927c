package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// On the CPU the child gets the ONNX Runtime library as a descriptor, so
// where it lives does not matter. The CUDA execution provider is another
// matter: ORT dlopens libonnxruntime_providers_shared.so and
// libonnxruntime_providers_cuda.so by path, from the directory it was
// itself loaded from, as the sandbox uid. A checkout under a 0700 home
// directory is unreadable to that uid. StageORT copies the libraries into a
// directory every uid can read, once per library version.

// StageORT returns a copy of the ONNX Runtime library lib, next to copies
// of its provider libraries (libonnxruntime_providers_*.so from lib's
// directory), in a directory that any uid can traverse and read: under
// root (default os.TempDir()), named after the library's sha256. A staged
// copy from an earlier call is reused once its contents are verified; a
// directory of that name that this uid does not own, or that others can
// write to, is refused (someone else's libraries must never be loaded).
func StageORT(lib, root string) (string, error) {
	if root == "" {
		root = os.TempDir()
	}
	src := filepath.Dir(lib)
	files := []string{filepath.Base(lib)}
	provs, _ := filepath.Glob(filepath.Join(src, "libonnxruntime_providers_*.so"))
	for _, p := range provs {
		files = append(files, filepath.Base(p))
	}
	sum, err := fileSHA256(lib)
	if err != nil {
		return "", fmt.Errorf("sandbox: staging ONNX Runtime: %w", err)
	}
	dir := filepath.Join(root, "srarena-ort-"+sum[:16])
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("sandbox: staging ONNX Runtime: %w", err)
	}
	if err := checkOwnDir(dir); err != nil {
		return "", err
	}
	for _, f := range files {
		if err := stageFile(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			return "", fmt.Errorf("sandbox: staging ONNX Runtime: %w", err)
		}
	}
	staged := filepath.Join(dir, filepath.Base(lib))
	if err := CheckReadableByAll(staged); err != nil {
		return "", err
	}
	return staged, nil
}

func checkOwnDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("sandbox: staging ONNX Runtime: %w", err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || !ok || int(sys.Uid) != os.Getuid() || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("sandbox: staging ONNX Runtime: %s is not a directory of uid %d writable by it alone; remove it", dir, os.Getuid())
	}
	if st.Mode().Perm()&0o005 != 0o005 {
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("sandbox: staging ONNX Runtime: %w", err)
		}
	}
	return nil
}

// stageFile copies src to dst (0644) unless dst already has src's contents.
func stageFile(src, dst string) error {
	want, err := fileSHA256(src)
	if err != nil {
		return err
	}
	if got, err := fileSHA256(dst); err == nil && got == want {
		return os.Chmod(dst, 0o644)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".stage-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

func fileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CheckReadableByAll checks that any uid can read file: every directory
// above it is searchable by others and the file readable by others. The
// error names the first component that is not, and what to do.
func CheckReadableByAll(file string) error {
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	if st.Mode().Perm()&0o004 == 0 {
		return fmt.Errorf("sandbox: %s is not readable by other users (mode %v): the sandboxed child, which runs as another uid, cannot load it", abs, st.Mode().Perm())
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("sandbox: directory %s is not searchable by other users (mode %v): the sandboxed child, which runs as another uid, cannot reach %s; "+
				"set ONNXRUNTIME_LIB to a copy under a world-readable directory", d, st.Mode().Perm(), strings.TrimPrefix(abs, d+"/"))
		}
		if filepath.Dir(d) == d {
			return nil
		}
	}
}

var staged sync.Map // library path → staged path, once per process

// PrepareORT is what a worker checks at start, and Start uses: on the CPU
// the library itself (handed over as a descriptor); on CUDA its staged
// copy (StageORT), staged once per process.
func PrepareORT(lib, device string) (string, error) {
	if device != DeviceCUDA {
		if _, err := os.Stat(lib); err != nil {
			return "", fmt.Errorf("sandbox: ONNX Runtime library: %w", err)
		}
		return lib, nil
	}
	if p, ok := staged.Load(lib); ok {
		return p.(string), nil
	}
	p, err := StageORT(lib, "")
	if err != nil {
		return "", err
	}
	staged.Store(lib, p)
	return p, nil
}
