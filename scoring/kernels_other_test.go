//go:build !amd64 || purego

package scoring

// kernelPaths are the kernel paths this build can take: the pure-Go one.
func kernelPaths() []string { return []string{"generic"} }

func useKernelPath(string) (restore func()) { return func() {} }
