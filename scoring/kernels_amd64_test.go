//go:build amd64 && !purego

package scoring

import "golang.org/x/sys/cpu"

// kernelPaths are the kernel paths this CPU can take.
func kernelPaths() []string {
	paths := []string{"generic"}
	if cpu.X86.HasAVX {
		paths = append(paths, "avx")
	}
	if cpu.X86.HasAVX && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL {
		paths = append(paths, "avx512")
	}
	return paths
}

// useKernelPath makes the kernels take path (one of kernelPaths) until
// restore is called. Not safe while scoring runs.
func useKernelPath(path string) (restore func()) {
	avx, avx2, avx512 := haveAVX, haveAVX2, haveAVX512
	haveAVX, haveAVX512 = path != "generic", path == "avx512"
	haveAVX2 = path != "generic" && cpu.X86.HasAVX2
	return func() { haveAVX, haveAVX2, haveAVX512 = avx, avx2, avx512 }
}
