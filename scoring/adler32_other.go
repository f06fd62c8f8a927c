//go:build !amd64 || purego

package scoring

func adler32Update(adler uint32, p []byte) uint32 { return adler32Generic(adler, p) }

func adlerChunks() int { return 512 }
