package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// FindORT locates libonnxruntime.so.1: $ONNXRUNTIME_LIB, then
// third_party/ort/ relative to the working directory, then relative to the
// executable's directory and its parents (a test binary in a package
// directory finds the repository's copy), then system locations.
func FindORT() (string, error) {
	const rel = "third_party/ort/libonnxruntime.so.1"
	if p := os.Getenv("ONNXRUNTIME_LIB"); p != "" {
		if isFile(p) {
			return p, nil
		}
		return "", fmt.Errorf("runner: ONNXRUNTIME_LIB=%s: no such file", p)
	}
	var cands []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, rel))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		for d := filepath.Dir(exe); ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, rel))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	cands = append(cands, "/usr/local/lib/srarena/libonnxruntime.so.1", "/usr/lib/libonnxruntime.so.1")
	for _, c := range cands {
		if isFile(c) {
			return c, nil
		}
	}
	return "", errors.New("runner: ONNX Runtime library not found: run `make ort` (scripts/fetch-ort.sh) or set ONNXRUNTIME_LIB to libonnxruntime.so.1")
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Sanitize makes child-provided text safe for logs shown to participants:
// printable characters only (ANSI escapes and control bytes dropped), at
// most max bytes.
func Sanitize(s string, max int) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		switch {
		case r == 0x1b:
			esc = true
			continue
		case esc:
			if r >= '@' && r <= '~' && r != '[' {
				esc = false
			}
			continue
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		}
		if b.Len() >= max {
			b.WriteString("…")
			break
		}
	}
	return strings.TrimSpace(b.String())
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%d MiB", n>>20)
	}
}

func fmtDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return d.String()
}
